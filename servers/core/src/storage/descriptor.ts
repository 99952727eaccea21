import fs, { type Stats } from 'node:fs';
import { settled, type FsCalls } from './fs-calls.js';

/**
 * A write this small into a home with inline metadata calls is made inline when no other write is
 * in flight anywhere in the process: copying 64 KiB into the page cache costs less than handing it
 * to the thread pool (measured: 26 µs inline against 106 µs through the pool, on a quiet disk).
 * Under concurrency the pool stays in charge, so that copies run on every core, and a session
 * held up by the kernel's dirty-page throttling does not hold up the others.
 */
const INLINE_WRITE_MAX = 64 * 1024;
let pooledWrites = 0;

/**
 * An open file by its descriptor number, with the handful of calls storage needs. Not a
 * fs/promises FileHandle because those can only come from the thread pool's open(); a descriptor
 * opened inline (see FsCalls) is a plain number.
 *
 * Like FileHandle, close() waits for the operations in flight, so the number is never reused by
 * another open while a read or write still targets it; after close() starts, new operations fail
 * with EBADF.
 */
export class FileDescriptor {
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    readonly fd: number,
    private readonly calls: FsCalls,
  ) {}

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return this.#track((done: (err: Error | null, bytesRead: number) => void) => fs.read(this.fd, buffer, offset, length, position, done)).then(
      (bytesRead) => ({ bytesRead }),
    );
  }

  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    if (this.#writesInline(length)) return settled(() => ({ bytesWritten: fs.writeSync(this.fd, buffer, offset, length, position) }));
    return this.#pooledWrite((done) => fs.write(this.fd, buffer, offset, length, position, done));
  }

  writev(buffers: Buffer[], position: number): Promise<{ bytesWritten: number }> {
    let length = 0;
    for (const buffer of buffers) length += buffer.length;
    if (this.#writesInline(length)) return settled(() => ({ bytesWritten: fs.writevSync(this.fd, buffers, position) }));
    return this.#pooledWrite((done) => fs.writev(this.fd, buffers, position, done));
  }

  #writesInline(length: number): boolean {
    return this.calls.mode === 'inline' && length <= INLINE_WRITE_MAX && pooledWrites === 0 && this.#inFlight === 0 && this.#closing === undefined;
  }

  #pooledWrite(start: (done: (err: Error | null, bytesWritten: number) => void) => void): Promise<{ bytesWritten: number }> {
    pooledWrites++;
    return this.#track(start).then(
      (bytesWritten) => (pooledWrites--, { bytesWritten }),
      (err: unknown) => {
        pooledWrites--;
        throw err;
      },
    );
  }

  truncate(length: number): Promise<void> {
    return this.#track((done: (err: Error | null, nothing: undefined) => void) => fs.ftruncate(this.fd, length, (err) => done(err, undefined)));
  }

  sync(): Promise<void> {
    return this.#track((done: (err: Error | null, nothing: undefined) => void) => fs.fsync(this.fd, (err) => done(err, undefined)));
  }

  stat(): Promise<Stats> {
    if (this.#closing !== undefined) return Promise.reject(closedError('fstat'));
    this.#inFlight++;
    return this.calls.fstat(this.fd).finally(() => this.#settled());
  }

  /** Closes once every operation in flight has finished; later calls get the same promise. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
      await this.calls.close(this.fd);
    })();
    return this.#closing;
  }

  #settled(): void {
    if (--this.#inFlight === 0) this.#idle?.();
  }

  #track<T>(start: (done: (err: Error | null, value: T) => void) => void): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(closedError('io'));
    this.#inFlight++;
    return new Promise<T>((resolve, reject) => {
      start((err, value) => {
        this.#settled();
        if (err) reject(err);
        else resolve(value);
      });
    });
  }
}

function closedError(syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall}: the file is closed`), { code: 'EBADF', syscall });
}
