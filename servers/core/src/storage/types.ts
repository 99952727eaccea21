import type { Readable, Writable } from 'node:stream';
import type { MetadataMode } from './fs-calls.js';

/**
 * The storage (VFS) contract every protocol daemon talks to. Paths are virtual POSIX paths: `/` is
 * the account home, relative paths are relative to `/`. Host paths never cross this interface.
 */

export interface FileStat {
  /** Last segment of the virtual path; `/` for the home itself. */
  name: string;
  /** Normalized virtual path, e.g. `/a/b`. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  mtime: Date;
  /** Full st_mode, type bits included (SFTP attributes carry them). */
  mode: number;
}

export interface ReadHandle {
  readonly path: string;
  /** Size when the file was opened. */
  readonly size: number;
  /** Where `stream()` starts. */
  readonly offset: number;
  /**
   * Reads from `offset`. `end` is inclusive like fs and defaults to the last byte present at open
   * time, so the stream yields exactly what `size - offset` announced (a Content-Length stays true).
   * May be called more than once; each stream reads independently.
   */
  stream(opts?: { end?: number; highWaterMark?: number }): Readable;
  /** Random access (SFTP): reads up to `buf.length` bytes at `position`, resolves bytes read (0 at EOF). */
  read(buf: Buffer, position: number): Promise<number>;
  /** Idempotent; destroys streams still running. */
  close(): Promise<void>;
}

export interface UploadHandle {
  /** Virtual final path. */
  readonly path: string;
  /** Where this upload starts (0, or the resume point). */
  readonly offset: number;
  /** Bytes written through this handle (random writes plus streams). */
  readonly bytesWritten: number;
  /**
   * Sequential writes. The first stream starts at `offset`, a later one where the previous one
   * finished; only one may be open at a time.
   */
  stream(opts?: { highWaterMark?: number }): Writable;
  /** Random access (SFTP): writes all of `buf` at absolute `position` in the file. */
  write(buf: Buffer, position: number): Promise<void>;
  /**
   * Writes all of `buf` at `position` on the spot where the storage can (a lone upload's local
   * file, written on the event loop) and returns true; false, having written nothing, when
   * `write()` must be used. Throws what a failed `write()` would reject with.
   */
  writeNow?(buf: Buffer, position: number): boolean;
  /** Current size of the partial file. */
  size(): Promise<number>;
  /**
   * Forces what has been written so far (resolved `write()` calls, stream chunks whose callbacks
   * ran) to stable storage: fsync of the partial file. Commit does not sync by itself.
   */
  sync(): Promise<void>;
  /**
   * Closes and atomically renames the partial onto the final name (replacing it). If it fails the
   * partial stays on disk, resumable, and the handle is settled like after `abandon()`.
   */
  commit(): Promise<FileStat>;
  /** Closes and keeps the partial (resumable); the final name is untouched. Idempotent. */
  abandon(): Promise<void>;
  /** Closes and deletes the partial. Idempotent. */
  discard(): Promise<void>;
}

export interface OpenWriteOptions {
  /** Resume point; 0 (default) starts over. */
  offset?: number;
  /** Start at the current size of the partial if present, else of the final file, else 0. Takes precedence over `offset`. */
  append?: boolean;
}

export interface StorageSpace {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

export interface Storage {
  /** Real absolute home (host path, for logs and operators only). */
  readonly home: string;
  /** Follows symlinks (inside the home only). */
  stat(path: string): Promise<FileStat>;
  /** Does not follow a final symlink. */
  lstat(path: string): Promise<FileStat>;
  /** Entries with lstat semantics, sorted by name, partial files hidden. */
  list(path: string): Promise<FileStat[]>;
  openRead(path: string, opts?: { offset?: number }): Promise<ReadHandle>;
  openWrite(path: string, opts?: OpenWriteOptions): Promise<UploadHandle>;
  /** Size of the resumable partial for this final path, if any. */
  partialSize(path: string): Promise<number | undefined>;
  /** POSIX semantics: replaces an existing file at `to`. */
  rename(from: string, to: string): Promise<void>;
  /** Files and symlinks only. */
  remove(path: string): Promise<void>;
  mkdir(path: string, opts?: { recursive?: boolean }): Promise<void>;
  /** Empty directories only (leftover partial files do not count as content). */
  rmdir(path: string): Promise<void>;
  /** Normalized virtual path with in-home symlinks resolved; the last segments need not exist. */
  realpath(path: string): Promise<string>;
  /** Virtual target, only if it stays inside the home. */
  readlink(path: string): Promise<string>;
  /** `target` is a virtual path (relative ones are relative to `/`) and must stay inside the home. */
  symlink(target: string, path: string): Promise<void>;
  setTimes(path: string, atime: Date, mtime: Date): Promise<void>;
  statfs?(): Promise<StorageSpace>;
}

export interface LocalStorageOptions {
  /** Create the home (and missing parents) if it does not exist. */
  createHome?: boolean;
  /**
   * How metadata calls are made (see FsCalls). By default `inline` when the home and every mount
   * below it are local filesystems, `pooled` otherwise.
   */
  metadataCalls?: MetadataMode;
}
