import fs, { type Stats } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { settled, type FsCalls } from './fs-calls.js';

/**
 * Writes this small, into a home with inline metadata calls, are made inline while only one file
 * in the process is being written: that is how vsftpd and OpenSSH's sftp-server write, one
 * process per session. Copying a few hundred KiB into the page cache right after it was read off
 * the socket (or decrypted) costs less than handing it to the thread pool, and the bytes are still
 * in the core's cache. Measured here in interleaved runs: a bare upload sink written 64 KiB at a
 * time inline did 810–1125 MB/s at about 1.0 s of system time per GiB, the same in 1 MiB batches
 * through the pool 340–520 MB/s at 2.2–3.5 s; Ferry's SFTP upload (255 KiB WRITE requests) went
 * from 186–299 MB/s, with 1.9–4.4 s per GiB on pool threads, to 321–523 MB/s. While several
 * files are written the pool stays in charge, so that copies run on every core.
 */
const INLINE_WRITE_MAX = 256 * 1024;
/**
 * Inline writes that take this long, several in a short while, mean the kernel is holding the
 * writer up (dirty-page throttling, a disk that cannot keep up), and every session of the
 * process waits with it. Writes then go through the pool for INLINE_PAUSE_MS, where such a wait
 * holds up one thread and not the event loop. One slow write alone is not enough: on a virtual
 * machine a write now and then waits 10–25 ms for the host (seen here a few times per GiB).
 */
const SLOW_INLINE_WRITE_MS = 10;
const SLOW_WRITES_TO_PAUSE = 3;
const SLOW_WRITES_WITHIN_MS = 1000;
const INLINE_PAUSE_MS = 1000;
let pooledWrites = 0;
/** Descriptors that have written and are not closed yet. */
let filesBeingWritten = 0;
/** performance.now() before which no write is made inline (after slow ones); 0: none pending. */
let inlineAgainAt = 0;
let slowStreak = 0;
let lastSlowAt = Number.NEGATIVE_INFINITY;

function inlineAllowed(): boolean {
  if (inlineAgainAt === 0) return true;
  if (performance.now() < inlineAgainAt) return false;
  inlineAgainAt = 0;
  return true;
}

function noteSlowWrite(at: number): void {
  slowStreak = at - lastSlowAt < SLOW_WRITES_WITHIN_MS ? slowStreak + 1 : 1;
  lastSlowAt = at;
  if (slowStreak < SLOW_WRITES_TO_PAUSE) return;
  slowStreak = 0;
  inlineAgainAt = at + INLINE_PAUSE_MS;
}

/** Runs an inline write and notes when it was slow. */
function timedInline<T>(write: () => T): T {
  const started = performance.now();
  try {
    return write();
  } finally {
    const ended = performance.now();
    if (ended - started > SLOW_INLINE_WRITE_MS) noteSlowWrite(ended);
  }
}

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
  #writing = false;
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
    if (this.#writesInline(length)) return settled(() => ({ bytesWritten: timedInline(() => fs.writeSync(this.fd, buffer, offset, length, position)) }));
    return this.#pooledWrite((done) => fs.write(this.fd, buffer, offset, length, position, done));
  }

  /**
   * Writes all of `buffer` at `position` on the spot when this write may be made inline (the rule
   * above) and returns true; false, having written nothing, when it must go through write().
   * Throws what the system call throws. The upload path's batches take this way: a stream's
   * write, its callback and the promises under it cost more than the system call for a 64 KiB
   * batch, thousands of times per GiB.
   */
  writeNow(buffer: Buffer, position: number): boolean {
    if (!this.#writesInline(buffer.length)) return false;
    timedInline(() => {
      for (let done = 0; done < buffer.length; ) {
        const written = fs.writeSync(this.fd, buffer, done, buffer.length - done, position + done);
        if (written === 0) throw new Error('write made no progress');
        done += written;
      }
    });
    return true;
  }

  writev(buffers: Buffer[], position: number): Promise<{ bytesWritten: number }> {
    let length = 0;
    for (const buffer of buffers) length += buffer.length;
    if (this.#writesInline(length)) return settled(() => ({ bytesWritten: timedInline(() => fs.writevSync(this.fd, buffers, position)) }));
    return this.#pooledWrite((done) => fs.writev(this.fd, buffers, position, done));
  }

  /** Counts this file among those being written (until close), then says whether `length` goes inline. */
  #writesInline(length: number): boolean {
    if (!this.#writing && this.#closing === undefined) {
      this.#writing = true;
      filesBeingWritten++;
    }
    return (
      this.calls.mode === 'inline' &&
      length <= INLINE_WRITE_MAX &&
      filesBeingWritten === 1 &&
      pooledWrites === 0 &&
      this.#inFlight === 0 &&
      this.#closing === undefined &&
      inlineAllowed()
    );
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

  /** fstat on the spot (inline calls, the file open); undefined when it must be asked with stat(). */
  statNow(): Stats | undefined {
    const now = this.calls.now;
    return now !== undefined && this.#closing === undefined ? now.fstat(this.fd) : undefined;
  }

  /**
   * close() on the spot, when the calls are inline and nothing is in flight: true once closed
   * (later close() calls resolve at once), false when close() must be used. Throws what close
   * throws.
   */
  closeNow(): boolean {
    const now = this.calls.now;
    if (now === undefined || this.#inFlight > 0 || this.#closing !== undefined) return false;
    this.#stopWriting();
    try {
      now.close(this.fd);
    } catch (err) {
      this.#closing = Promise.reject(err as Error);
      this.#closing.catch(() => undefined);
      throw err;
    }
    this.#closing = Promise.resolve();
    return true;
  }

  /** Closes once every operation in flight has finished; later calls get the same promise. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopWriting();
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
      await this.calls.close(this.fd);
    })();
    return this.#closing;
  }

  /** This file no longer counts among the files being written (see #writesInline). */
  #stopWriting(): void {
    if (!this.#writing) return;
    this.#writing = false;
    filesBeingWritten--;
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
