import fs, { type Stats } from 'node:fs';
import { promisify } from 'node:util';

/**
 * The metadata calls storage makes on every operation (resolve, look, create, close, rename), in
 * one of two ways per home:
 *
 * - `inline`: synchronous system calls on the event loop, for homes whose whole tree is on a local
 *   filesystem. Each of these takes a few microseconds there, while a trip through libuv's thread
 *   pool costs 10–20 µs of event-loop time to hand over and as long again for the completion, plus
 *   waking an idle pool thread (measured on this project's 2-vCPU machine: creating, writing and
 *   publishing a 64 KiB partial took 0.39 ms per file through the pool, 0.16 ms with these calls
 *   inline and only the write in the pool). nginx makes the same choice for open() and stat().
 * - `pooled`: the thread pool, for anything else (NFS, SMB, FUSE…), where one call can block for
 *   as long as the server takes; inline, it would freeze every session of the process.
 *
 * Reads, writes, truncate and fsync always go through the pool: they move data and can wait for
 * the disk (dirty-page throttling) even on a local filesystem.
 */
export interface FsCalls {
  readonly mode: MetadataMode;
  /**
   * The same calls made synchronously, in inline mode only: an upload's open and commit take them
   * directly where nothing needs deciding asynchronously, without a promise and an await per call
   * (a small file's storage work is a dozen of them). Undefined in pooled mode.
   */
  readonly now?: NowCalls;
  realpath(p: string): Promise<string>;
  lstat(p: string): Promise<Stats>;
  /** lstat, or undefined when nothing is there (ENOENT) without building an error for it. */
  lstatIfPresent(p: string): Promise<Stats | undefined>;
  readlink(p: string): Promise<string>;
  /** Returns the new file descriptor. */
  open(p: string, flags: number, mode?: number): Promise<number>;
  fstat(fd: number): Promise<Stats>;
  close(fd: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(p: string): Promise<void>;
}

export type MetadataMode = 'inline' | 'pooled';

/** Synchronous metadata calls (inline mode): each returns or throws. */
export interface NowCalls {
  realpath(p: string): string;
  lstat(p: string): Stats;
  lstatIfPresent(p: string): Stats | undefined;
  open(p: string, flags: number, mode?: number): number;
  fstat(fd: number): Stats;
  close(fd: number): void;
  rename(from: string, to: string): void;
}

const nowCalls: NowCalls = {
  realpath: (p) => fs.realpathSync.native(p),
  lstat: (p) => fs.lstatSync(p),
  // A thrown ENOENT costs tens of microseconds (message, stack trace); an upload's final name is
  // usually not there yet.
  lstatIfPresent: (p) => fs.lstatSync(p, { throwIfNoEntry: false }),
  open: (p, flags, mode) => fs.openSync(p, flags, mode),
  fstat: (fd) => fs.fstatSync(fd),
  close: (fd) => fs.closeSync(fd),
  rename: (from, to) => fs.renameSync(from, to),
};

/** A synchronous call as a settled promise, so callers need not care which mode they got. */
export function settled<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

const inlineCalls: FsCalls = {
  mode: 'inline',
  now: nowCalls,
  realpath: (p) => settled(() => nowCalls.realpath(p)),
  lstat: (p) => settled(() => nowCalls.lstat(p)),
  lstatIfPresent: (p) => settled(() => nowCalls.lstatIfPresent(p)),
  readlink: (p) => settled(() => fs.readlinkSync(p)),
  open: (p, flags, mode) => settled(() => nowCalls.open(p, flags, mode)),
  fstat: (fd) => settled(() => nowCalls.fstat(fd)),
  close: (fd) => settled(() => nowCalls.close(fd)),
  rename: (from, to) => settled(() => nowCalls.rename(from, to)),
  unlink: (p) => settled(() => fs.unlinkSync(p)),
};

const pooledCalls: FsCalls = {
  mode: 'pooled',
  realpath: (p) => fs.promises.realpath(p),
  lstat: (p) => fs.promises.lstat(p),
  lstatIfPresent: (p) =>
    fs.promises.lstat(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    }),
  readlink: (p) => fs.promises.readlink(p),
  open: promisify((p: string, flags: number, mode: number | undefined, done: (err: Error | null, fd: number) => void) =>
    fs.open(p, flags, mode, done),
  ),
  fstat: promisify((fd: number, done: (err: Error | null, stats: Stats) => void) => fs.fstat(fd, done)),
  close: promisify((fd: number, done: (err: Error | null) => void) => fs.close(fd, done)),
  rename: (from, to) => fs.promises.rename(from, to),
  unlink: (p) => fs.promises.unlink(p),
};

export function fsCalls(mode: MetadataMode): FsCalls {
  return mode === 'inline' ? inlineCalls : pooledCalls;
}
