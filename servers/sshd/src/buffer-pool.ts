/**
 * Reusable buffers for SFTP packets too large to arrive in one SSH data chunk (WRITE requests) and
 * for DATA replies. Allocating a fresh 255 KiB buffer per request made V8 count ~1 GB of external
 * memory per GiB moved, and the full collections that pressure triggers took a third of the main
 * thread. One pool per daemon, shared by its sessions; it keeps at most `keep` buffers.
 */
export class BufferPool {
  readonly #free: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** A buffer of exactly `size` bytes, contents undefined. */
  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Hands a buffer from `take()` back; the caller must hold no view of it any more. */
  give(buf: Buffer): void {
    if (buf.length === this.size && this.#free.length < this.keep) this.#free.push(buf);
  }
}
