/**
 * Reusable buffers for the bytes a transfer moves. Every buffer allocated per packet or per batch
 * lives outside V8's heap and adds to what its collector must keep up with: fresh 255 KiB packet
 * buffers cost sshd a third of its main thread in full collections before they were pooled. Taken
 * from here and given back, the same few buffers serve a whole transfer. One pool per use, shared
 * by the sessions of a process; it keeps at most `keep` buffers.
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
