import path from 'node:path';
import { errnoOf, refusal } from './errno.js';
import type { FsCalls } from './fs-calls.js';

/** Suffix of in-progress uploads; such names are hidden from listings and never addressable. */
export const PARTIAL_SUFFIX = '.ferry-partial';

/** Linux's own limit on symlinks followed during one lookup (MAXSYMLINKS). */
const MAX_LINK_HOPS = 40;

export interface VirtualPath {
  /** Normalized: `/`, `/a`, `/a/b`. */
  readonly path: string;
  readonly segments: readonly string[];
  /** Last segment; `/` for the home. */
  readonly name: string;
  readonly isRoot: boolean;
}

export interface Resolved {
  /** Real host path with every existing symlink resolved; inside the home. */
  readonly real: string;
  readonly exists: boolean;
  /** The directory that would hold `real` exists (always true when `exists`). */
  readonly parentExists: boolean;
}

export function isPartialName(name: string): boolean {
  return name.endsWith(PARTIAL_SUFFIX);
}

export function partialNameFor(finalName: string): string {
  return `.${finalName}${PARTIAL_SUFFIX}`;
}

/**
 * Parses a client path. Pure string work: `..` is applied lexically and may not climb above `/`,
 * which is what the client means by its path; symlinks are the resolver's business.
 */
export function parseVirtual(input: string, op: string): VirtualPath {
  if (input.includes('\0')) throw refusal('FERRY_ERR_INVALID_PATH', op, JSON.stringify(input), 'contains a NUL byte');
  const segments: string[] = [];
  for (const segment of input.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) throw refusal('FERRY_ERR_PATH_OUTSIDE_HOME', op, input, 'leaves the account home');
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  const normalized = `/${segments.join('/')}`;
  if (segments.some(isPartialName)) {
    throw refusal('FERRY_ERR_INVALID_PATH', op, normalized, `names ending "${PARTIAL_SUFFIX}" are reserved for uploads in progress`);
  }
  return { path: normalized, segments, name: segments.at(-1) ?? '/', isRoot: segments.length === 0 };
}

/**
 * `dir` and one more name, as path.join would give them when `dir` is already normal (a realpath,
 * the home) and `name` has no separator (a parsed segment, a directory entry): without path.join's
 * pass over every character, which came up in a small file's allocations.
 */
export function childPath(dir: string, name: string): string {
  return dir.endsWith(path.sep) ? dir + name : dir + path.sep + name;
}

export function parentOf(vp: VirtualPath): VirtualPath {
  const segments = vp.segments.slice(0, -1);
  return { path: `/${segments.join('/')}`, segments, name: segments.at(-1) ?? '/', isRoot: segments.length === 0 };
}

/**
 * Maps virtual paths onto one real home and checks every resolution against it. Nothing is cached:
 * each call asks the kernel (realpath of the deepest existing ancestor), so a symlink swapped in
 * between two operations is seen by the second one.
 */
export class Jail {
  private readonly prefix: string;

  constructor(
    readonly home: string,
    /** How this home's metadata calls are made (see FsCalls); every storage operation uses them. */
    readonly calls: FsCalls,
  ) {
    this.prefix = home.endsWith(path.sep) ? home : home + path.sep;
  }

  /** Host path spelled from the virtual path, no symlink resolved. */
  lexical(vp: VirtualPath): string {
    return vp.isRoot ? this.home : childPath(this.home, vp.segments.join(path.sep));
  }

  contains(real: string): boolean {
    return real === this.home || real.startsWith(this.prefix);
  }

  /** Virtual path for a real path inside the home. */
  toVirtual(real: string): string {
    if (real === this.home) return '/';
    if (real.startsWith(this.prefix)) return `/${real.slice(this.prefix.length)}`;
    const relative = path.relative(this.home, real);
    return relative === '' ? '/' : `/${relative.split(path.sep).join('/')}`;
  }

  /** Resolves every symlink, the final one included, and refuses anything that lands outside. */
  async resolve(vp: VirtualPath, op: string): Promise<Resolved> {
    return this.checked(await resolveReal(this.calls, this.lexical(vp), 0), vp, op);
  }

  /** Same for a host path found on disk (a link target); errors still name `vp`. */
  async resolveHost(hostPath: string, vp: VirtualPath, op: string): Promise<Resolved> {
    return this.checked(await resolveReal(this.calls, hostPath, 0), vp, op);
  }

  /**
   * Resolves the directory part only: the final component is the one the operation acts on itself
   * (lstat, remove, rename, readlink, symlink, mkdir). The directory must exist.
   */
  async resolveParent(vp: VirtualPath, op: string): Promise<string> {
    const parent = await this.resolve(parentOf(vp), op);
    if (!parent.exists) throw refusal('FERRY_ERR_NOT_FOUND', op, vp.path, 'no such file or directory');
    return parent.real;
  }

  /**
   * resolveParent's usual case, synchronously (inline calls only): the directory is there and
   * resolves, with one realpath, inside the home. Undefined where the full resolution must decide
   * (pooled calls, a missing directory, any failing lookup); a directory outside the home is
   * refused here as there.
   */
  resolveParentNow(vp: VirtualPath, op: string): string | undefined {
    const now = this.calls.now;
    if (now === undefined) return undefined;
    const parent = parentOf(vp);
    let real: string;
    try {
      real = now.realpath(this.lexical(parent));
    } catch {
      return undefined;
    }
    return this.checked({ real, exists: true, parentExists: true }, parent, op).real;
  }

  private checked(resolved: Resolved, vp: VirtualPath, op: string): Resolved {
    if (!this.contains(resolved.real)) throw refusal('FERRY_ERR_PATH_OUTSIDE_HOME', op, vp.path, 'leaves the account home');
    // An in-home symlink may point at an upload in progress; partials stay unreachable that way too.
    if (resolved.real !== this.home && this.toVirtual(resolved.real).split('/').some(isPartialName)) {
      throw refusal('FERRY_ERR_INVALID_PATH', op, vp.path, 'resolves to an upload in progress');
    }
    return resolved;
  }
}

/**
 * realpath that tolerates missing tails. Happy path (the file exists) is one syscall. Otherwise the
 * parent is resolved the same way and, if the parent exists, the last component is either missing
 * or a dangling symlink, whose target is resolved in turn (so a dangling link pointing outside is
 * caught even though the kernel's realpath gives up on it).
 */
async function resolveReal(calls: FsCalls, hostPath: string, hops: number): Promise<Resolved> {
  try {
    return { real: await calls.realpath(hostPath), exists: true, parentExists: true };
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
  const parentPath = path.dirname(hostPath);
  if (parentPath === hostPath) throw Object.assign(new Error('filesystem root is missing'), { code: 'ENOENT' });
  const parent = await resolveReal(calls, parentPath, hops);
  const candidate = childPath(parent.real, path.basename(hostPath));
  if (!parent.exists) return { real: candidate, exists: false, parentExists: false };

  let target: string;
  try {
    target = await calls.readlink(candidate);
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === 'ENOENT') return { real: candidate, exists: false, parentExists: true };
    // EINVAL: something that is not a symlink appeared since realpath failed; look again.
    if (errno === 'EINVAL' && hops < MAX_LINK_HOPS) return resolveReal(calls, candidate, hops + 1);
    throw err;
  }
  if (hops >= MAX_LINK_HOPS) throw Object.assign(new Error('too many symbolic links'), { code: 'ELOOP' });
  return resolveReal(calls, path.resolve(parent.real, target), hops + 1);
}
