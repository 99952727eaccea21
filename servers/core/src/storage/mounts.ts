import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MetadataMode } from './fs-calls.js';

/**
 * Filesystems whose metadata calls are served by this kernel from local disks or memory, so a call
 * cannot hang on a network peer. Anything not listed (nfs, cifs/smb3, fuse.*, ceph, 9p, glusterfs,
 * a type this list does not know) counts as remote.
 */
const LOCAL_TYPES: ReadonlySet<string> = new Set([
  'ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'f2fs', 'zfs', 'bcachefs', 'jfs', 'reiserfs', 'nilfs2',
  'tmpfs', 'ramfs', 'overlay', 'vfat', 'exfat', 'ntfs3', 'hfsplus', 'squashfs', 'iso9660', 'udf',
]);

interface Mount {
  readonly point: string;
  readonly type: string;
}

/** The mount table is re-read at most this often: mounts change rarely, homes are opened per session. */
const MOUNTS_TTL_MS = 5000;
let cached: { at: number; mounts: readonly Mount[] | undefined } | undefined;

/**
 * `inline` when the home and every mount below it are local filesystems (see FsCalls); `pooled`
 * otherwise, and wherever the mount table cannot be read (not Linux).
 */
export function metadataModeFor(realHome: string): MetadataMode {
  const mounts = mountTable();
  return mounts === undefined ? 'pooled' : modeAmong(mounts, realHome);
}

/** The same decision from the text of a mountinfo file (exported for its tests). */
export function metadataModeFromMountInfo(mountInfo: string, realHome: string): MetadataMode {
  return modeAmong(parseMountInfo(mountInfo), realHome);
}

function modeAmong(mounts: readonly Mount[], realHome: string): MetadataMode {
  let holder: Mount | undefined;
  for (const mount of mounts) {
    if (isWithin(mount.point, realHome)) {
      // The home's own mount and those below it: a client can reach them all.
      if (!LOCAL_TYPES.has(mount.type)) return 'pooled';
    } else if (isWithin(realHome, mount.point) && (holder === undefined || mount.point.length >= holder.point.length)) {
      holder = mount; // the deepest mount above the home holds it (the last one, when stacked)
    }
  }
  if (mounts.some((m) => m.point === realHome)) return 'inline'; // every mount at the home was checked above
  return holder !== undefined && LOCAL_TYPES.has(holder.type) ? 'inline' : 'pooled';
}

function mountTable(): readonly Mount[] | undefined {
  const now = Date.now();
  if (cached === undefined || now - cached.at > MOUNTS_TTL_MS) cached = { at: now, mounts: readMounts() };
  return cached.mounts;
}

function readMounts(): readonly Mount[] | undefined {
  try {
    return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    return undefined;
  }
}

/** /proc/self/mountinfo: `id parent major:minor root point options [optional…] - type source super`. */
function parseMountInfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    const point = fields[4];
    const type = fields[separator + 1];
    if (separator < 0 || point === undefined || type === undefined) continue;
    mounts.push({ point: unescape(point), type });
  }
  return mounts;
}

/** The kernel writes space, tab, newline and backslash in mount points as octal escapes. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** `inner` is `outer` or lies below it. */
function isWithin(inner: string, outer: string): boolean {
  if (inner === outer || outer === '/') return true;
  return inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);
}
