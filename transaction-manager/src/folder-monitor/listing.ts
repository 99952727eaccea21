import path from 'node:path';
import { FerryError, isFerryError, localStorage, PARTIAL_SUFFIX, type Storage, type Store } from '@ferry/core';
import picomatch from 'picomatch';
import type { FolderConfig } from './config.js';

/** Files looked at per scan, and directory levels below the folder: a huge tree cannot stall a scan. */
export const MAX_ENTRIES_PER_SCAN = 10_000;
export const MAX_DEPTH = 16;

/** Where a folder's files are, once it can be opened. */
export interface FolderRoot {
  readonly storage: Storage;
  /** The folder as a virtual path of `storage` (`/` for a host folder, whose storage is the folder). */
  readonly base: string;
  /** The real host directory, for fs.watch and operators' logs. */
  readonly hostDir: string;
}

/** One file found by a scan. */
export interface FoundFile {
  /** Relative to the folder, `/`-separated. */
  readonly relative: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * Opens the folder through the same jailed storage the protocol daemons use. An account folder
 * lives in the account's home: `..`, absolute escapes and symlinks out of the home are refused
 * (FERRY_ERR_PATH_OUTSIDE_HOME). A host folder is its own jail, so a symlink inside it cannot lead
 * a job to a file elsewhere on the host.
 */
export async function openFolder(spec: FolderConfig, store: Store): Promise<FolderRoot> {
  if (spec.account === undefined) {
    const storage = await localStorage(spec.path);
    return { storage, base: '/', hostDir: storage.home };
  }
  const account = await store.accounts.get(spec.account);
  if (!account) {
    throw new FerryError('FERRY_ERR_ACCOUNT_NOT_FOUND', `folder ${spec.name}: no account ${spec.account}`, { details: { account: spec.account } });
  }
  const storage = await localStorage(account.home);
  const stat = await storage.stat(spec.path);
  if (stat.type !== 'directory') {
    throw new FerryError('FERRY_ERR_NOT_A_DIRECTORY', `folder ${spec.name}: ${stat.path} in the home of ${spec.account} is not a directory`, {
      details: { path: stat.path },
    });
  }
  const real = await storage.realpath(stat.path);
  return { storage, base: stat.path, hostDir: path.join(storage.home, ...real.split('/').filter(Boolean)) };
}

/** The path a job names: virtual in the account's home, or absolute on the host. */
export function jobPath(spec: FolderConfig, root: FolderRoot, relative: string): string {
  return spec.account === undefined ? path.join(path.resolve(spec.path), ...relative.split('/')) : path.posix.join(root.base, relative);
}

/** Dot-files (hidden files, uploads in progress `.<name>.ferry-partial`) are never picked up. */
function hidden(name: string): boolean {
  return name.startsWith('.') || name.endsWith(PARTIAL_SUFFIX);
}

export type FileMatcher = (relative: string) => boolean;

/** A pattern without `/` matches the file name at any depth; one with `/`, the path in the folder. */
export function fileMatcher(spec: FolderConfig): FileMatcher {
  const options = { basename: true, dot: false };
  const wanted = picomatch(spec.pattern, options);
  const ignored = spec.ignore.length > 0 ? picomatch([...spec.ignore], options) : () => false;
  return (relative) => wanted(relative) && !ignored(relative);
}

/**
 * Lists the folder's regular files that match, breadth first, at most MAX_ENTRIES_PER_SCAN entries
 * and MAX_DEPTH levels. Symlinks are not followed. A subdirectory removed meanwhile is passed over;
 * the folder itself gone is an error (FERRY_ERR_NOT_FOUND).
 */
export async function listFiles(root: FolderRoot, recursive: boolean, matches: FileMatcher): Promise<{ files: FoundFile[]; truncated: boolean }> {
  const files: FoundFile[] = [];
  const pending: { relative: string; depth: number }[] = [{ relative: '', depth: 0 }];
  let seen = 0;
  while (pending.length > 0) {
    const dir = pending.shift();
    if (!dir) break;
    let entries;
    try {
      entries = await root.storage.list(path.posix.join(root.base, dir.relative));
    } catch (err) {
      if (dir.relative !== '' && isFerryError(err) && (err.code === 'FERRY_ERR_NOT_FOUND' || err.code === 'FERRY_ERR_NOT_A_DIRECTORY')) continue;
      throw err;
    }
    for (const entry of entries) {
      if (seen >= MAX_ENTRIES_PER_SCAN) return { files, truncated: true };
      seen += 1;
      if (hidden(entry.name)) continue;
      const relative = dir.relative === '' ? entry.name : `${dir.relative}/${entry.name}`;
      if (entry.type === 'directory' && recursive && dir.depth + 1 < MAX_DEPTH) pending.push({ relative, depth: dir.depth + 1 });
      if (entry.type === 'file' && matches(relative)) files.push({ relative, size: entry.size, mtimeMs: entry.mtime.getTime() });
    }
  }
  return { files, truncated: false };
}
