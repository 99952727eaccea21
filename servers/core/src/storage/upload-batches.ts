import { BufferPool } from '../buffer-pool.js';
import type { UploadHandle } from './types.js';

/**
 * Bytes per write to the disk. Small enough that a batch is still in the CPU's cache when it is
 * copied into the page cache, and that a lone upload's writes are made inline (see
 * FileDescriptor): 1 MiB batches, written through the thread pool, cost twice the system time.
 */
export const UPLOAD_BATCH = 64 * 1024;

/** Batches of one upload being written through the thread pool before its source is asked to wait. */
const MAX_PENDING = 64;

/** Idle batch buffers a process keeps (at most 4 MiB): enough for several uploads at full speed at once. */
const KEEP = 64;

const batches = new BufferPool(UPLOAD_BATCH, KEEP);

export interface UploadBatchEvents {
  /** The writes that made push/filled answer false are done: the source may go on. */
  drain(): void;
  /** A write failed: the upload cannot complete. Called once; later batches are dropped. */
  failed(err: unknown): void;
}

/**
 * Gathers an upload's incoming chunks (socket reads, 64 KiB or less) into pooled UPLOAD_BATCH buffers
 * and writes each full one into the upload, one after the other from its offset: on the spot where
 * the upload can (a lone local upload's file, UploadHandle.writeNow), else through its write(),
 * up to MAX_PENDING at a time. A batch's buffer returns to the pool once written. Each chunk is
 * copied once and dropped at once, so it dies young: kept until its batch was written (as ftpd
 * used to), chunks live long enough to reach V8's old generation and add to the full collections
 * that an upload's stream of fresh read buffers already causes. No Writable stream in between: its
 * write, callback and end machinery cost more per small file than the file's one write.
 */
export class UploadBatches {
  #current: Buffer | undefined;
  #filled = 0;
  #position: number;
  #pending = 0;
  #waiting = false;
  #failure: { err: unknown } | undefined;
  #ended: Promise<void> | undefined;
  #settleEnd: { resolve(): void; reject(err: unknown): void } | undefined;

  constructor(
    private readonly upload: UploadHandle,
    private readonly events: UploadBatchEvents,
  ) {
    this.#position = upload.offset;
  }

  /** Copies `chunk` in; false when the source should wait for `drain`. */
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

  /** Writes what is gathered; resolves once every batch is in the file, rejects with the first failure. */
  end(): Promise<void> {
    if (this.#ended !== undefined) return this.#ended;
    if (this.#filled > 0) this.#flush();
    this.release();
    this.#ended = new Promise<void>((resolve, reject) => {
      this.#settleEnd = { resolve, reject };
    });
    this.#settleIfDone();
    return this.#ended;
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
    if (this.#failure !== undefined) {
      batches.give(buffer);
      return false;
    }
    const position = this.#position;
    this.#position += bytes.length;
    try {
      if (this.#pending === 0 && this.upload.writeNow?.(bytes, position) === true) {
        batches.give(buffer);
        return true;
      }
    } catch (err) {
      batches.give(buffer);
      this.#fail(err);
      return false;
    }
    this.#pending++;
    this.upload.write(bytes, position).then(
      () => this.#written(buffer),
      (err: unknown) => {
        this.#fail(err);
        this.#written(buffer);
      },
    );
    if (this.#pending < MAX_PENDING) return true;
    this.#waiting = true;
    return false;
  }

  #written(buffer: Buffer): void {
    batches.give(buffer);
    this.#pending--;
    if (this.#waiting && this.#pending < MAX_PENDING / 2 && this.#failure === undefined) {
      this.#waiting = false;
      this.events.drain();
    }
    this.#settleIfDone();
  }

  #fail(err: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = { err };
    // Not from inside the caller's push/filled (a socket's read callback, typically).
    queueMicrotask(() => this.events.failed(err));
  }

  #settleIfDone(): void {
    if (this.#settleEnd === undefined || this.#pending > 0) return;
    const { resolve, reject } = this.#settleEnd;
    this.#settleEnd = undefined;
    if (this.#failure === undefined) resolve();
    else reject(this.#failure.err);
  }
}
