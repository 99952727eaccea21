import type { Writable } from 'node:stream';
import { BufferPool } from '../buffer-pool.js';

/**
 * Bytes per write to the disk. Small enough that a batch is still in the CPU's cache when it is
 * copied into the page cache, and that a lone upload's writes are made inline (see
 * FileDescriptor): 1 MiB batches, written through the thread pool, cost twice the system time.
 */
export const UPLOAD_BATCH = 64 * 1024;

/**
 * Where the batches go: a Writable, which may also take a batch on the spot (a local upload's
 * stream does while its file may be written inline; see FileSequentialWriter.writeNow).
 */
export type UploadSink = Writable & { writeNow?(chunk: Buffer): boolean };

/** Idle batch buffers a process keeps (at most 4 MiB): enough for several uploads at full speed at once. */
const KEEP = 64;

const batches = new BufferPool(UPLOAD_BATCH, KEEP);

/**
 * Gathers an upload's incoming chunks (socket reads, 64 KiB or less) into pooled UPLOAD_BATCH buffers
 * and hands each full one to the sink as a single write; the buffer returns to the pool when that
 * write is done. Each chunk is copied once and dropped at once, so it dies young: kept until its
 * batch was written (as ftpd used to), chunks live long enough to reach V8's old generation and
 * add to the full collections that an upload's stream of fresh read buffers already causes.
 */
export class UploadBatches {
  #current: Buffer | undefined;
  #filled = 0;
  #ended = false;

  constructor(private readonly sink: UploadSink) {}

  /** Copies `chunk` in; false when the sink is full and the source should wait for its 'drain'. */
  push(chunk: Buffer): boolean {
    let more = true;
    let at = 0;
    while (at < chunk.length) {
      this.#current ??= batches.take();
      const copied = chunk.copy(this.#current, this.#filled, at);
      this.#filled += copied;
      at += copied;
      if (this.#filled === this.#current.length) more = this.#flush() && more;
    }
    return more;
  }

  /**
   * Where the next bytes may be read to without a copy: the unfilled rest of the batch being
   * gathered. After reading into it, call `filled` with the count.
   */
  space(): Buffer {
    this.#current ??= batches.take();
    return this.#current.subarray(this.#filled);
  }

  /** `bytes` were read into the buffer `space()` returned; false as for `push`. */
  filled(bytes: number): boolean {
    const current = this.#current;
    if (current === undefined || bytes > current.length - this.#filled) throw new RangeError('filled() beyond the space handed out');
    this.#filled += bytes;
    return this.#filled === current.length ? this.#flush() : true;
  }

  /** Writes what is gathered and ends the sink. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#filled > 0) this.#flush();
    this.release();
    this.sink.end();
  }

  /** Gives back the buffer being filled (the upload failed; what was gathered is not wanted). */
  release(): void {
    if (this.#current !== undefined) batches.give(this.#current);
    this.#current = undefined;
    this.#filled = 0;
  }

  #flush(): boolean {
    const buffer = this.#current as Buffer;
    const bytes = this.#filled === buffer.length ? buffer : buffer.subarray(0, this.#filled);
    this.#current = undefined;
    this.#filled = 0;
    if (this.sink.writeNow?.(bytes) === true) {
      batches.give(buffer);
      return !this.sink.destroyed;
    }
    // The callback runs once the bytes are in the file, or with an error when the sink is destroyed
    // first: either way nothing reads the buffer any more.
    return this.sink.write(bytes, () => batches.give(buffer));
  }
}
