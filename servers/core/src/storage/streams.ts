import { Readable, Writable } from 'node:stream';
import type { FileDescriptor } from './descriptor.js';
import { writeFully } from './files.js';

/** 1 MiB: large enough that a 1 GiB transfer is ~1000 syscalls, small enough to bound memory per transfer. */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/** Turns a raw fs error into the typed error the stream ends with (names the virtual path only). */
export type DescribeError = (err: unknown) => Error;

/*
 * Why not fs.createReadStream/createWriteStream on the descriptor: destroying an fs stream always
 * closes its fd (autoClose only governs the automatic destroy). Here the file outlives its streams
 * (an upload commits after its stream finished; a file may stream twice), so these streams only
 * borrow it. Same cost per chunk: one positional read or one (vectored) write. FileDescriptor's
 * close() waits for an operation in flight, so an fd number is never reused under one.
 */

/** Reads [start, end] (end inclusive, like fs) from a borrowed handle. */
export class FileRangeReader extends Readable {
  private position: number;
  private readonly limit: number;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly fh: FileDescriptor,
    start: number,
    end: number,
    highWaterMark: number,
    private readonly describe: DescribeError,
  ) {
    super({ highWaterMark });
    this.position = start;
    this.limit = end + 1;
  }

  override _read(): void {
    const want = Math.min(this.readableHighWaterMark, this.limit - this.position);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(want);
    this.inFlight = this.fh.read(buf, 0, want, this.position).then(
      ({ bytesRead }) => {
        this.inFlight = undefined;
        if (this.destroyed) return;
        if (bytesRead === 0) {
          this.push(null); // the file shrank below `end`
          return;
        }
        this.position += bytesRead;
        this.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
      },
      (err: unknown) => {
        this.inFlight = undefined;
        this.destroy(this.describe(err));
      },
    );
  }

  // Waits for the operation in flight so 'close' means the handle is no longer in use. The error is
  // passed on as is: our own failures are already typed, others (a consumer gone) are not storage's.
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.inFlight === undefined) callback(error);
    else void this.inFlight.then(() => callback(error));
  }
}

/** Sequential writes from `start` into a borrowed handle; buffered chunks go out as one writev. */
export class FileSequentialWriter extends Writable {
  bytesWritten = 0;
  private position: number;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly fh: FileDescriptor,
    readonly start: number,
    highWaterMark: number,
    private readonly describe: DescribeError,
  ) {
    super({ highWaterMark });
    this.position = start;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.track([chunk], callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.track(
      chunks.map(({ chunk }) => chunk),
      callback,
    );
  }

  // Waits for the operation in flight so 'close' means the handle is no longer in use. The error is
  // passed on as is: our own failures are already typed, others (a consumer gone) are not storage's.
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.inFlight === undefined) callback(error);
    else void this.inFlight.then(() => callback(error));
  }

  private track(buffers: Buffer[], callback: (error?: Error | null) => void): void {
    this.inFlight = writeFully(this.fh, buffers, this.position, (written) => {
      this.position += written;
      this.bytesWritten += written;
    }).then(
      () => {
        this.inFlight = undefined;
        callback();
      },
      (err: unknown) => {
        this.inFlight = undefined;
        callback(this.describe(err));
      },
    );
  }
}

/** Destroys the stream (unless already closed) and waits for its 'close', i.e. for its I/O in flight. */
export function closeStream(stream: Readable | Writable, error?: Error): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    // A consumer that has already given up on the stream may no longer listen for errors.
    if (error !== undefined && stream.listenerCount('error') === 0) stream.once('error', () => undefined);
    stream.destroy(error);
  });
}

/** Offsets and positions: non-negative safe integers. */
export function isByteCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}
