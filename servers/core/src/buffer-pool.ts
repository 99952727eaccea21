/**
 * Reusable buffers for the bytes a transfer moves. Every buffer a socket read or a packet gives
 * lives outside V8's heap; V8 counts it as external memory, and when such buffers live long enough
 * to reach the old generation (an upload batching them for the disk), that pressure triggers full
 * collections: a third of sshd's main thread before its packets were pooled, and 2–3× the CPU of
 * an FTP upload before its reads were. Taken from here and given back, the same few buffers serve
 * a whole transfer. One pool per use, shared by the sessions of a process; it keeps at most
 * `keep` buffers.
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
