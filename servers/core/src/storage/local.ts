import { constants, type Stats } from 'node:fs';
import { lutimes, mkdir, readdir, realpath, rmdir, stat, statfs, symlink } from 'node:fs/promises';
import path from 'node:path';
import { FileDescriptor } from './descriptor.js';
import { errnoOf, refusal, storageError } from './errno.js';
import { O_NOFOLLOW, O_NONBLOCK, closeOnFailure, removeIfPresent } from './files.js';
import { fsCalls } from './fs-calls.js';
import { Jail, childPath, isPartialName, parseVirtual, type VirtualPath } from './jail.js';
import { metadataModeFor } from './mounts.js';
import { LocalReadHandle } from './read.js';
import { isByteCount } from './streams.js';
import { LocalUploadHandle, partialFileSize, partialPathFor, uploadTarget } from './upload.js';
import type { FileStat, LocalStorageOptions, OpenWriteOptions, ReadHandle, Storage, StorageSpace, UploadHandle } from './types.js';

/** lstat calls in flight per listing: enough to keep the thread pool busy, not enough to flood it. */
const LIST_CONCURRENCY = 32;

/** Opens the account home (its realpath is the jail) and returns the storage over it. */
export async function localStorage(home: string, opts: LocalStorageOptions = {}): Promise<Storage> {
  try {
    const absolute = path.resolve(home);
    if (opts.createHome === true) await mkdir(absolute, { recursive: true });
    const real = await realpath(absolute);
    if (!(await stat(real)).isDirectory()) throw refusal('FERRY_ERR_NOT_A_DIRECTORY', 'open home', '/', 'the account home is not a directory');
    return new LocalStorage(new Jail(real, fsCalls(opts.metadataCalls ?? metadataModeFor(real))));
  } catch (err) {
    throw storageError(err, 'open home', '/');
  }
}

class LocalStorage implements Storage {
  readonly home: string;

  constructor(private readonly jail: Jail) {
    this.home = jail.home;
  }

  async stat(input: string): Promise<FileStat> {
    const vp = parseVirtual(input, 'stat');
    return this.guard('stat', vp.path, async () => {
      const real = await this.existing(vp, 'stat');
      // `real` holds no symlink any more; lstat keeps a link swapped in meanwhile from being followed.
      return toFileStat(vp, await this.jail.calls.lstat(real));
    });
  }

  async lstat(input: string): Promise<FileStat> {
    const vp = parseVirtual(input, 'lstat');
    return this.guard('lstat', vp.path, async () => toFileStat(vp, await this.jail.calls.lstat(await this.finalComponent(vp, 'lstat'))));
  }

  async list(input: string): Promise<FileStat[]> {
    const vp = parseVirtual(input, 'list');
    return this.guard('list', vp.path, async () => {
      const real = await this.existing(vp, 'list');
      const names = (await readdir(real)).filter((name) => !isPartialName(name)).sort();
      const entries = await mapLimit(names, LIST_CONCURRENCY, async (name) => {
        const child = childOf(vp, name);
        try {
          return toFileStat(child, await this.jail.calls.lstat(childPath(real, name)));
        } catch (err) {
          if (errnoOf(err) === 'ENOENT') return undefined; // removed since readdir
          throw err;
        }
      });
      return entries.filter((entry): entry is FileStat => entry !== undefined);
    });
  }

  async openRead(input: string, opts: { offset?: number } = {}): Promise<ReadHandle> {
    const vp = parseVirtual(input, 'read');
    const offset = opts.offset ?? 0;
    if (!isByteCount(offset)) throw refusal('FERRY_ERR_BAD_REQUEST', 'read', vp.path, 'offset must be a non-negative integer');
    return this.guard('read', vp.path, async () => {
      const real = await this.existing(vp, 'read');
      const fh = new FileDescriptor(await this.jail.calls.open(real, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK), this.jail.calls);
      const size = await closeOnFailure(fh, async () => {
        const stats = await fh.stat();
        if (stats.isDirectory()) throw refusal('FERRY_ERR_IS_A_DIRECTORY', 'read', vp.path, 'is a directory');
        if (!stats.isFile()) throw refusal('FERRY_ERR_PERMISSION_DENIED', 'read', vp.path, 'not a regular file');
        if (offset > stats.size) {
          throw refusal('FERRY_ERR_OFFSET_MISMATCH', 'read', vp.path, `offset ${offset} is beyond the file size ${stats.size}`, {
            offset,
            size: stats.size,
          });
        }
        return stats.size;
      });
      return new LocalReadHandle(fh, vp.path, size, offset);
    });
  }

  async openWrite(input: string, opts: OpenWriteOptions = {}): Promise<UploadHandle> {
    const vp = parseVirtual(input, 'write');
    if (opts.append !== true && opts.offset !== undefined && !isByteCount(opts.offset)) {
      throw refusal('FERRY_ERR_BAD_REQUEST', 'write', vp.path, 'offset must be a non-negative integer');
    }
    return this.guard('write', vp.path, async () => LocalUploadHandle.open(this.jail, await uploadTarget(this.jail, vp, 'write'), opts));
  }

  async partialSize(input: string): Promise<number | undefined> {
    const vp = parseVirtual(input, 'stat');
    return this.guard('stat', vp.path, async () => partialFileSize(this.jail.calls, await partialPathFor(this.jail, vp, 'stat')));
  }

  async rename(from: string, to: string): Promise<void> {
    const source = parseVirtual(from, 'rename');
    const destination = parseVirtual(to, 'rename');
    if (source.isRoot || destination.isRoot) throw refusal('FERRY_ERR_PERMISSION_DENIED', 'rename', '/', 'the home itself cannot be renamed or replaced');
    return this.guard('rename', `${source.path} -> ${destination.path}`, async () => {
      const sourceReal = await this.finalComponent(source, 'rename');
      const sourceStats = await this.jail.calls.lstat(sourceReal);
      // Moving a link that points out would only relocate it, but there is no reason to let a
      // client handle one (and a moved one could race an open that already checked the name).
      if (sourceStats.isSymbolicLink()) await this.jail.resolve(source, 'rename');
      const destinationReal = await this.finalComponent(destination, 'rename');
      await this.refuseEscapingLink(destination, destinationReal, 'rename');
      if (sourceStats.isDirectory() && destinationReal.startsWith(sourceReal + path.sep)) {
        throw refusal('FERRY_ERR_INVALID_PATH', 'rename', destination.path, `is inside ${source.path}`);
      }
      await this.jail.calls.rename(sourceReal, destinationReal);
    });
  }

  async remove(input: string): Promise<void> {
    const vp = parseVirtual(input, 'remove');
    if (vp.isRoot) throw refusal('FERRY_ERR_PERMISSION_DENIED', 'remove', '/', 'the home itself cannot be removed');
    return this.guard('remove', vp.path, async () => {
      const real = await this.finalComponent(vp, 'remove');
      if ((await this.jail.calls.lstat(real)).isDirectory()) throw refusal('FERRY_ERR_IS_A_DIRECTORY', 'remove', vp.path, 'is a directory');
      await this.jail.calls.unlink(real);
    });
  }

  async mkdir(input: string, opts: { recursive?: boolean } = {}): Promise<void> {
    const vp = parseVirtual(input, 'mkdir');
    return this.guard('mkdir', vp.path, async () => {
      if (opts.recursive !== true) {
        if (vp.isRoot) throw refusal('FERRY_ERR_EXISTS', 'mkdir', vp.path, 'already exists');
        await mkdir(await this.finalComponent(vp, 'mkdir'));
        return;
      }
      // Every existing ancestor has been resolved and checked; only missing names get created.
      const resolved = await this.jail.resolve(vp, 'mkdir');
      if (resolved.exists) {
        if (!(await this.jail.calls.lstat(resolved.real)).isDirectory()) throw refusal('FERRY_ERR_EXISTS', 'mkdir', vp.path, 'exists and is not a directory');
        return;
      }
      await mkdir(resolved.real, { recursive: true });
    });
  }

  async rmdir(input: string): Promise<void> {
    const vp = parseVirtual(input, 'rmdir');
    if (vp.isRoot) throw refusal('FERRY_ERR_PERMISSION_DENIED', 'rmdir', '/', 'the home itself cannot be removed');
    return this.guard('rmdir', vp.path, async () => {
      const real = await this.finalComponent(vp, 'rmdir');
      try {
        await rmdir(real);
      } catch (err) {
        const errno = errnoOf(err);
        if (errno !== 'ENOTEMPTY' && errno !== 'EEXIST') throw err;
        // Leftover partials are invisible to the client, so the directory looks empty to it;
        // removing the directory is a clear enough statement that they are not wanted.
        const names = await readdir(real);
        if (!names.every(isPartialName)) throw err;
        await Promise.all(names.map((name) => removeIfPresent(this.jail.calls, childPath(real, name))));
        await rmdir(real);
      }
    });
  }

  async realpath(input: string): Promise<string> {
    const vp = parseVirtual(input, 'realpath');
    return this.guard('realpath', vp.path, async () => this.jail.toVirtual((await this.jail.resolve(vp, 'realpath')).real));
  }

  async readlink(input: string): Promise<string> {
    const vp = parseVirtual(input, 'readlink');
    return this.guard('readlink', vp.path, async () => {
      if (vp.isRoot) throw refusal('FERRY_ERR_INVALID_PATH', 'readlink', vp.path, 'not a symbolic link');
      const linkReal = await this.finalComponent(vp, 'readlink');
      let target: string;
      try {
        target = await this.jail.calls.readlink(linkReal);
      } catch (err) {
        if (errnoOf(err) === 'EINVAL') throw refusal('FERRY_ERR_INVALID_PATH', 'readlink', vp.path, 'not a symbolic link');
        throw err;
      }
      const lexical = path.resolve(path.dirname(linkReal), target);
      const resolved = await this.jail.resolveHost(lexical, vp, 'readlink');
      // Report the target as written where it reads as an in-home path, else where it really lands.
      return this.jail.toVirtual(this.jail.contains(lexical) ? lexical : resolved.real);
    });
  }

  async symlink(target: string, input: string): Promise<void> {
    const vp = parseVirtual(input, 'symlink');
    const targetVp = parseVirtual(target, 'symlink');
    return this.guard('symlink', vp.path, async () => {
      if (vp.isRoot) throw refusal('FERRY_ERR_EXISTS', 'symlink', vp.path, 'already exists');
      const linkReal = await this.finalComponent(vp, 'symlink');
      // Checked now so a client cannot plant a link out; every later use checks again anyway,
      // since what the target passes through can change.
      await this.jail.resolve(targetVp, 'symlink');
      // Stored relative, so the home can move and the host layout never shows in the link.
      const relative = path.relative(path.dirname(linkReal), this.jail.lexical(targetVp));
      await symlink(relative === '' ? '.' : relative, linkReal);
    });
  }

  async setTimes(input: string, atime: Date, mtime: Date): Promise<void> {
    const vp = parseVirtual(input, 'setTimes');
    return this.guard('setTimes', vp.path, async () => {
      // lutimes on the resolved path: a link swapped in meanwhile gets its own times changed, not its target's.
      await lutimes(await this.existing(vp, 'setTimes'), atime, mtime);
    });
  }

  async statfs(): Promise<StorageSpace> {
    return this.guard('statfs', '/', async () => {
      const { bsize, blocks, bfree, bavail, files, ffree } = await statfs(this.home);
      return { bsize, blocks, bfree, bavail, files, ffree };
    });
  }

  /** Real path of an existing file or directory, every symlink resolved and checked. */
  private async existing(vp: VirtualPath, op: string): Promise<string> {
    const resolved = await this.jail.resolve(vp, op);
    if (!resolved.exists) throw refusal('FERRY_ERR_NOT_FOUND', op, vp.path, 'no such file or directory');
    return resolved.real;
  }

  /** Real path of the final component itself (not followed), its directory resolved and checked. */
  private async finalComponent(vp: VirtualPath, op: string): Promise<string> {
    if (vp.isRoot) return this.jail.home;
    return childPath(await this.jail.resolveParent(vp, op), vp.name);
  }

  /** A final component that is a symlink must point inside, even where the operation would not follow it. */
  private async refuseEscapingLink(vp: VirtualPath, real: string, op: string): Promise<void> {
    const stats = await this.jail.calls.lstatIfPresent(real);
    if (stats?.isSymbolicLink() === true) await this.jail.resolve(vp, op);
  }

  private async guard<T>(op: string, label: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw storageError(err, op, label);
    }
  }
}

function toFileStat(vp: VirtualPath, stats: Stats): FileStat {
  const type = stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'symlink' : 'other';
  return { name: vp.name, path: vp.path, type, size: stats.size, mtime: stats.mtime, mode: stats.mode };
}

function childOf(vp: VirtualPath, name: string): VirtualPath {
  const segments = [...vp.segments, name];
  return { path: `/${segments.join('/')}`, segments, name, isRoot: false };
}

/** Entries between two yields to the event loop: inline calls settle at once and would not yield. */
const YIELD_EVERY = 1024;

async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
      if (index % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
