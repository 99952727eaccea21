import { constants, type Stats } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { FerryError } from '../errors.js';
import { FileDescriptor } from './descriptor.js';
import { errnoOf, refusal, storageError } from './errno.js';
import { O_NOFOLLOW, O_NONBLOCK, closeOnFailure, removeIfPresent, writeFully } from './files.js';
import type { FsCalls } from './fs-calls.js';
import { childPath, partialNameFor, type Jail, type VirtualPath } from './jail.js';
import { DEFAULT_HIGH_WATER_MARK, FileSequentialWriter, closeStream, isByteCount } from './streams.js';
import type { FileStat, OpenWriteOptions, UploadHandle } from './types.js';

const { O_WRONLY, O_CREAT, O_EXCL, COPYFILE_EXCL, COPYFILE_FICLONE } = constants;
const CREATE_PARTIAL = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/** Where an upload lands: the final file (symlinks resolved) and its partial next to it. */
export interface UploadTarget {
  readonly virtualPath: string;
  readonly name: string;
  readonly finalReal: string;
  readonly dirReal: string;
  readonly partialReal: string;
  /** Size of the published file, if there is one. */
  readonly finalSize: number | undefined;
}

/** Where the final file lives (symlinks resolved) and what is there now, if anything. */
interface Located {
  readonly dirReal: string;
  readonly finalReal: string;
  /** lstat of `finalReal`; undefined when nothing is there yet. */
  readonly stats: Stats | undefined;
}

/**
 * Resolves an upload's final name, usually in one thread-pool round trip: the directory is resolved
 * and checked against the jail (one realpath) while the final name is looked at, without following
 * it, where it lies when no symlink is on the way (one lstat, at the same time). When the directory
 * turns out to be elsewhere, the final name is looked at again there. Only a final symlink, which is
 * rare, takes the full resolution.
 */
async function locate(jail: Jail, vp: VirtualPath, op: string): Promise<Located> {
  if (vp.isRoot) throw refusal('FERRY_ERR_IS_A_DIRECTORY', op, vp.path, 'is a directory');
  const located = locateNow(jail, vp, op);
  if (located !== undefined) return located;
  const lexical = jail.lexical(vp);
  const [resolvedDir, lexicalStats] = await Promise.allSettled([jail.resolveParent(vp, op), jail.calls.lstatIfPresent(lexical)]);
  const dirReal = settledValue(resolvedDir);
  const finalReal = childPath(dirReal, vp.name);
  const stats = finalReal === lexical ? settledValue(lexicalStats) : await jail.calls.lstatIfPresent(finalReal);
  if (stats?.isSymbolicLink() !== true) return { dirReal, finalReal, stats };
  // Following a final in-home symlink writes to its target, as a plain open would; the partial
  // then sits next to the target so that commit is a same-directory rename.
  const resolved = await jail.resolveHost(finalReal, vp, op);
  if (!resolved.parentExists) throw refusal('FERRY_ERR_NOT_FOUND', op, vp.path, 'no such file or directory');
  return { dirReal: path.dirname(resolved.real), finalReal: resolved.real, stats: resolved.exists ? await jail.calls.lstat(resolved.real) : undefined };
}

/**
 * locate's usual case, synchronously (inline calls): the directory resolves at once and the final
 * name is not a symlink. Undefined where the full path must decide.
 */
function locateNow(jail: Jail, vp: VirtualPath, op: string): Located | undefined {
  const now = jail.calls.now;
  const dirReal = now === undefined ? undefined : jail.resolveParentNow(vp, op);
  if (now === undefined || dirReal === undefined) return undefined;
  const finalReal = childPath(dirReal, vp.name);
  const stats = now.lstatIfPresent(finalReal);
  return stats?.isSymbolicLink() === true ? undefined : { dirReal, finalReal, stats };
}

/** Host path of the partial file that belongs to this final path; the final is not inspected. */
export async function partialPathFor(jail: Jail, vp: VirtualPath, op: string): Promise<string> {
  const { dirReal, finalReal } = await locate(jail, vp, op);
  return partialIn(dirReal, finalReal);
}

export async function uploadTarget(jail: Jail, vp: VirtualPath, op: string): Promise<UploadTarget> {
  const { dirReal, finalReal, stats } = await locate(jail, vp, op);
  if (stats?.isDirectory() === true) throw refusal('FERRY_ERR_IS_A_DIRECTORY', op, vp.path, 'is a directory');
  if (stats !== undefined && !stats.isFile()) throw refusal('FERRY_ERR_PERMISSION_DENIED', op, vp.path, 'not a regular file');
  return { virtualPath: vp.path, name: vp.name, finalReal, dirReal, partialReal: partialIn(dirReal, finalReal), finalSize: stats?.size };
}

function partialIn(dirReal: string, finalReal: string): string {
  return childPath(dirReal, partialNameFor(path.basename(finalReal)));
}

/** Size of a usable partial (a regular file), if any. */
export async function partialFileSize(calls: FsCalls, partialReal: string): Promise<number | undefined> {
  const stats = await calls.lstatIfPresent(partialReal);
  return stats?.isFile() === true ? stats.size : undefined;
}

/**
 * One partial file, one writer. A client that resumes after a cut often reconnects before the
 * server has noticed the old connection died, so the newest upload of a partial wins: the older
 * handle is closed (its writes and commit fail with FERRY_ERR_TRANSFER_ABORTED) before the new one
 * touches the file. Process-wide, because every session builds its own Storage over the same home.
 */
const writers = new Map<string, LocalUploadHandle>();

type Phase = 'opening' | 'open' | 'committed' | 'abandoned' | 'discarded' | 'superseded';

export class LocalUploadHandle implements UploadHandle {
  readonly path: string;
  private startOffset = 0;
  private fh: FileDescriptor | undefined;
  private phase: Phase = 'opening';
  private superseded = false;
  private opening: Promise<void> = Promise.resolve();
  /** The partial's identity, read right after it is opened, checked at commit. */
  private identity: Stats | Promise<Stats> | undefined;
  private closing: Promise<void> | undefined;
  private randomBytes = 0;
  private readonly streams: FileSequentialWriter[] = [];

  private constructor(
    private readonly jail: Jail,
    private readonly target: UploadTarget,
  ) {
    this.path = target.virtualPath;
  }

  static async open(jail: Jail, target: UploadTarget, opts: OpenWriteOptions): Promise<LocalUploadHandle> {
    const handle = new LocalUploadHandle(jail, target);
    handle.opening = handle.prepare(opts);
    await handle.opening;
    return handle;
  }

  get offset(): number {
    return this.startOffset;
  }

  get bytesWritten(): number {
    return this.streams.reduce((sum, stream) => sum + stream.bytesWritten, this.randomBytes);
  }

  stream(opts: { highWaterMark?: number } = {}): Writable {
    const fh = this.assertOpen('stream');
    const last = this.streams.at(-1);
    if (last !== undefined && !last.writableFinished && !last.destroyed) {
      throw new Error(`UploadHandle.stream() on ${this.path} while the previous stream is still open`);
    }
    const start = last === undefined ? this.startOffset : last.start + last.bytesWritten;
    const stream = new FileSequentialWriter(fh, start, opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, (err) => this.writeError(err));
    this.streams.push(stream);
    return stream;
  }

  async write(buf: Buffer, position: number): Promise<void> {
    const fh = this.openAt(position);
    try {
      await writeFully(fh, [buf], position, (written) => {
        this.randomBytes += written;
      });
    } catch (err) {
      throw this.writeError(err);
    }
  }

  writeNow(buf: Buffer, position: number): boolean {
    const fh = this.openAt(position);
    try {
      if (!fh.writeNow(buf, position)) return false;
    } catch (err) {
      throw this.writeError(err);
    }
    this.randomBytes += buf.length;
    return true;
  }

  /** The open file for a write at `position`, which must be a byte count. */
  private openAt(position: number): FileDescriptor {
    const fh = this.assertOpen('write');
    if (!isByteCount(position)) throw refusal('FERRY_ERR_BAD_REQUEST', 'write', this.path, 'position must be a non-negative integer');
    return fh;
  }

  /** What a failed write becomes: cut when a newer upload of the file took over, else a storage error. */
  private writeError(err: unknown): FerryError {
    return this.superseded ? this.aborted('another upload of this file took over') : storageError(err, 'write', this.path);
  }

  async size(): Promise<number> {
    const fh = this.assertOpen('size');
    try {
      return (await fh.stat()).size;
    } catch (err) {
      throw storageError(err, 'stat', this.path);
    }
  }

  async sync(): Promise<void> {
    const fh = this.assertOpen('sync');
    try {
      await fh.sync();
    } catch (err) {
      throw this.superseded ? this.aborted('another upload of this file took over') : storageError(err, 'sync', this.path);
    }
  }

  async commit(): Promise<FileStat> {
    const fh = this.assertOpen('commit');
    // Only the last stream matters: a later stream starts where an earlier, failed one stopped.
    const last = this.streams.at(-1);
    if (last !== undefined && !last.writableFinished) {
      if (last.errored) throw storageError(last.errored, 'write', this.path);
      if (last.destroyed) throw this.aborted('the upload stream was cut');
      throw new Error(`UploadHandle.commit() on ${this.path} before its stream finished`);
    }
    // Still synchronous up to here: a concurrent supersede sees 'committed' and waits for `closing`.
    this.phase = 'committed';
    const publishing = this.publish(fh);
    this.closing = publishing.then(
      () => undefined,
      () => undefined,
    );
    return publishing;
  }

  abandon(): Promise<void> {
    if (this.phase !== 'open') return this.closing ?? Promise.resolve();
    return this.shutdown('abandoned', this.aborted('upload abandoned'));
  }

  discard(): Promise<void> {
    if (this.phase !== 'open') return this.closing ?? Promise.resolve();
    // Once superseded the partial belongs to the newer upload: closing is all that is left to do.
    if (this.superseded) return this.shutdown('superseded', this.aborted('another upload of this file took over'));
    return this.shutdown('discarded', this.aborted('upload discarded'), () => removeIfPresent(this.jail.calls, this.target.partialReal));
  }

  private async prepare(opts: OpenWriteOptions): Promise<void> {
    const key = this.target.partialReal;
    const previous = writers.get(key);
    writers.set(key, this);
    try {
      await previous?.supersede();
      const { fh, offset } = await preparePartial(this.jail.calls, this.target, opts);
      if (this.superseded) {
        await fh.close();
        throw this.aborted('another upload of this file took over');
      }
      this.fh = fh;
      this.startOffset = offset;
      this.phase = 'open';
      const identity = fh.statNow() ?? fh.stat();
      // Read at commit; until then a failure here must not count as unhandled.
      if (identity instanceof Promise) identity.catch(() => undefined);
      this.identity = identity;
    } catch (err) {
      this.phase = 'abandoned';
      this.release();
      throw storageError(err, 'write', this.path);
    }
  }

  /** Called by the next upload of the same partial; resolves once this one can no longer touch it. */
  private async supersede(): Promise<void> {
    this.superseded = true;
    await this.opening.catch(() => undefined);
    // Errors closing the old handle are its own business; the new upload only needs it gone.
    if (this.phase === 'open') await this.shutdown('superseded', this.aborted('another upload of this file took over')).catch(() => undefined);
    else await this.closing?.catch(() => undefined);
  }

  private async publish(fh: FileDescriptor): Promise<FileStat> {
    const { partialReal, finalReal, dirReal } = this.target;
    try {
      await Promise.all(this.streams.map((stream) => closeStream(stream)));
      // Closed before the rename: once the final name changes, nothing about this upload can fail.
      const { calls } = this.jail;
      const { now } = calls;
      // The directory was resolved at open; if it has been moved or swapped since, the partial is
      // not where the rename would look (or the rename would land somewhere else). Judged first.
      const sameDirectory = (dirNow: string): void => {
        if (!this.jail.contains(dirNow)) throw refusal('FERRY_ERR_PATH_OUTSIDE_HOME', 'commit', this.path, 'leaves the account home');
        if (dirNow !== dirReal) throw refusal('FERRY_ERR_NOT_FOUND', 'commit', this.path, 'the directory moved during the upload');
      };
      let written: Stats;
      if (now !== undefined && fh.closeNow()) {
        sameDirectory(now.realpath(dirReal));
        written = now.lstat(partialReal);
      } else {
        // The lookups and the close are independent, so with pooled calls they share one round
        // trip through the thread pool; they are judged in order, the directory first.
        const [dirLookup, partialLookup, closed] = await Promise.allSettled([calls.realpath(dirReal), calls.lstat(partialReal), fh.close()]);
        sameDirectory(settledValue(dirLookup));
        written = settledValue(partialLookup);
        settledValue(closed);
      }
      // Another process may have replaced the partial (the registry of writers is per process).
      const opened = await this.identity!;
      if (written.ino !== opened.ino || written.dev !== opened.dev) throw this.aborted('another upload of this file took over');
      if (now !== undefined) now.rename(partialReal, finalReal);
      else await calls.rename(partialReal, finalReal);
      return { name: this.target.name, path: this.path, type: 'file', size: written.size, mtime: written.mtime, mode: written.mode };
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw storageError(err, 'commit', this.path);
    } finally {
      this.release();
    }
  }

  private shutdown(phase: Phase, error: FerryError, after?: () => Promise<void>): Promise<void> {
    this.phase = phase;
    this.release();
    const fh = this.fh;
    this.closing = (async () => {
      await Promise.all(this.streams.map((stream) => closeStream(stream, error)));
      try {
        await fh?.close();
        await after?.();
      } catch (err) {
        throw storageError(err, phase === 'discarded' ? 'discard' : 'close', this.path);
      }
    })();
    return this.closing;
  }

  private release(): void {
    if (writers.get(this.target.partialReal) === this) writers.delete(this.target.partialReal);
  }

  private assertOpen(op: string): FileDescriptor {
    if (this.superseded) throw this.aborted('another upload of this file took over');
    if (this.phase !== 'open' || this.fh === undefined) throw new Error(`UploadHandle.${op}() on ${this.path} after it was ${this.phase}`);
    return this.fh;
  }

  private aborted(reason: string): FerryError {
    return refusal('FERRY_ERR_TRANSFER_ABORTED', 'upload', this.path, reason);
  }
}

/** Opens the partial at the offset the rules of DESIGN §5 give, creating or copying as needed. */
async function preparePartial(calls: FsCalls, target: UploadTarget, opts: OpenWriteOptions): Promise<{ fh: FileDescriptor; offset: number }> {
  const { partialReal, finalSize, virtualPath } = target;
  const offset = opts.append === true ? ((await partialFileSize(calls, partialReal)) ?? finalSize ?? 0) : (opts.offset ?? 0);
  if (offset === 0) return { fh: await createPartial(calls, partialReal), offset };

  const existing = await openExistingPartial(calls, partialReal);
  if (existing !== undefined && existing.size >= offset) {
    await closeOnFailure(existing.fh, () => existing.fh.truncate(offset));
    return { fh: existing.fh, offset };
  }
  await existing?.fh.close();
  if (finalSize !== undefined && finalSize >= offset) return { fh: await partialFromFinal(calls, target, offset), offset };

  const partialSize = existing?.size ?? null;
  throw refusal(
    'FERRY_ERR_OFFSET_MISMATCH',
    'write',
    virtualPath,
    `offset ${offset} is beyond what is stored (partial: ${partialSize ?? 'none'}, file: ${finalSize ?? 'none'})`,
    { offset, partialSize, finalSize: finalSize ?? null },
  );
}

/**
 * Always a fresh inode: a stale handle elsewhere keeps writing to the old one, never into this
 * upload. The name is usually free, so the exclusive create comes first and a leftover (a partial,
 * or anything planted under its name: O_EXCL does not follow a symlink) is removed only when it is
 * in the way. One call instead of two.
 */
async function createPartial(calls: FsCalls, partialReal: string): Promise<FileDescriptor> {
  try {
    return new FileDescriptor(calls.now !== undefined ? calls.now.open(partialReal, CREATE_PARTIAL, 0o666) : await calls.open(partialReal, CREATE_PARTIAL, 0o666), calls);
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw err;
  }
  await removeIfPresent(calls, partialReal);
  return new FileDescriptor(await calls.open(partialReal, CREATE_PARTIAL, 0o666), calls);
}

/**
 * Only a plain regular file with one link is resumed: O_NOFOLLOW refuses a planted symlink,
 * O_NONBLOCK keeps a planted FIFO from blocking the open, nlink keeps a hard link to some other
 * file from being truncated.
 */
async function openExistingPartial(calls: FsCalls, partialReal: string): Promise<{ fh: FileDescriptor; size: number } | undefined> {
  let fh: FileDescriptor;
  try {
    fh = new FileDescriptor(await calls.open(partialReal, O_WRONLY | O_NOFOLLOW | O_NONBLOCK), calls);
  } catch (err) {
    if (['ENOENT', 'ELOOP', 'EISDIR', 'ENXIO'].includes(errnoOf(err) ?? '')) return undefined;
    throw err;
  }
  const stats = await closeOnFailure(fh, () => fh.stat());
  if (stats.isFile() && stats.nlink === 1) return { fh, size: stats.size };
  await fh.close();
  return undefined;
}

/**
 * Appending to a published file works on a copy (a reflink where the filesystem can), so a cut
 * append leaves the published file exactly as it was.
 */
async function partialFromFinal(calls: FsCalls, target: UploadTarget, offset: number): Promise<FileDescriptor> {
  await removeIfPresent(calls, target.partialReal);
  // A copy moves data: always through the thread pool.
  await copyFile(target.finalReal, target.partialReal, COPYFILE_EXCL | COPYFILE_FICLONE);
  const fh = new FileDescriptor(await calls.open(target.partialReal, O_WRONLY | O_NOFOLLOW | O_NONBLOCK), calls);
  await closeOnFailure(fh, async () => {
    const { size } = await fh.stat();
    // The file may have shrunk since it was measured; zero-filling up to offset would corrupt it.
    if (size < offset) {
      throw refusal('FERRY_ERR_OFFSET_MISMATCH', 'write', target.virtualPath, `offset ${offset} is beyond the file size ${size}`, {
        offset,
        partialSize: null,
        finalSize: size,
      });
    }
    await fh.truncate(offset);
  });
  return fh;
}

function settledValue<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
