import { watch, type FSWatcher } from 'node:fs';
import { isFerryError, type Logger, type Store } from '@ferry/core';
import type { FolderConfig } from './config.js';
import { fileMatcher, jobPath, listFiles, openFolder, type FileMatcher, type FolderRoot, type FoundFile } from './listing.js';

/** After an fs.watch event, the scan waits this long so that a burst of writes costs one scan. */
const WATCH_SETTLE_MS = 100;

/** The dedupe key of one stable version of a file: a version is enqueued once, cluster-wide, across restarts. */
export function fileKey(folder: string, path: string, size: number, mtimeMs: number): string {
  return `folder:${folder}:${path}:${size}:${mtimeMs}`;
}

/** A file as last seen, and since when it has looked like that. */
interface Seen {
  size: number;
  mtimeMs: number;
  since: number;
  enqueued: boolean;
}

/**
 * One monitored folder. Polling lists it every `pollInterval` (the stability check needs that
 * anyway); fs.watch, where it works, only brings the next scan forward. A file is enqueued when its
 * size and mtime have not changed for `stableFor`, once per version. A folder that cannot be opened
 * (missing, not mounted yet, unknown account, out of the home) is logged when that changes and
 * looked at again at every poll: it never fails the component.
 */
export class WatchedFolder {
  readonly #spec: FolderConfig;
  readonly #store: Store;
  readonly #log: Logger;
  readonly #matches: FileMatcher;
  #seen = new Map<string, Seen>();
  #active = false;
  #timer: NodeJS.Timeout | undefined;
  #dueAt = 0;
  #scanning: Promise<void> | undefined;
  #again = false;
  #watcher: FSWatcher | undefined;
  #watchedDir: string | undefined;
  #watchUnavailable = false;
  /** The last problem reported (an error code), or 'ok': each change is logged once. */
  #condition: string | undefined;
  #truncatedLogged = false;

  constructor(spec: FolderConfig, store: Store, log: Logger) {
    this.#spec = spec;
    this.#store = store;
    this.#log = log.child({ folder: spec.name });
    this.#matches = fileMatcher(spec);
  }

  get name(): string {
    return this.#spec.name;
  }

  /** Starts (or resumes) watching; the first scan runs at once. Stability is observed afresh. */
  begin(): void {
    this.#active = true;
    this.#seen = new Map();
    this.#schedule(0);
  }

  /** Stops watching at once: no timer, no watcher, and a scan in flight enqueues nothing more. */
  halt(): void {
    this.#active = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unwatch();
  }

  /** Resolves when no scan is in flight (before the store may close). */
  async settled(): Promise<void> {
    await this.#scanning;
  }

  #schedule(delay: number): void {
    if (!this.#active) return;
    const dueAt = Date.now() + delay;
    // Keep a timer that is due sooner; replace one that is due later.
    if (this.#timer && this.#dueAt <= dueAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#dueAt = dueAt;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, delay);
  }

  #run(): void {
    if (!this.#active) return;
    if (this.#scanning) {
      this.#again = true;
      return;
    }
    this.#scanning = this.#scan()
      .catch((err: unknown) => this.#log.error({ err, event: 'folder.error' }, `folder ${this.#spec.name}: scan failed: ${errorText(err)}`))
      .then((next) => {
        this.#scanning = undefined;
        const again = this.#again;
        this.#again = false;
        this.#schedule(again ? WATCH_SETTLE_MS : (next ?? this.#spec.pollInterval));
      });
  }

  /** One look at the folder; resolves the delay until the next one. */
  async #scan(): Promise<number> {
    const root = await this.#open();
    if (!root) return this.#spec.pollInterval;
    this.#watch(root.hostDir);
    const { files, truncated } = await listFiles(root, this.#spec.recursive, this.#matches);
    if (truncated && !this.#truncatedLogged) {
      this.#log.warn({ event: 'folder.truncated' }, `folder ${this.#spec.name}: more than the entries one scan looks at; the rest is seen as files leave`);
    }
    this.#truncatedLogged = truncated;
    const now = Date.now();
    const stable = this.#observe(files, now);
    for (const file of stable) {
      if (!this.#active) break;
      await this.#enqueue(root, file);
    }
    return this.#nextDelay(now);
  }

  async #open(): Promise<FolderRoot | undefined> {
    try {
      const root = await openFolder(this.#spec, this.#store);
      if (this.#condition !== 'ok') {
        this.#log.info({ event: 'folder.watching', hostDir: root.hostDir }, `folder ${this.#spec.name}: watching ${this.#where()}`);
      }
      this.#condition = 'ok';
      return root;
    } catch (err) {
      this.#unwatch();
      this.#seen.clear();
      const code = isFerryError(err) ? err.code : 'FERRY_ERR_IO';
      if (code !== this.#condition) this.#report(code, err);
      this.#condition = code;
      return undefined;
    }
  }

  #report(code: string, err: unknown): void {
    const fields = { event: 'folder.unavailable', code, err };
    const where = `folder ${this.#spec.name} (${this.#where()})`;
    const again = `looking again every ${this.#spec.pollInterval / 1000}s`;
    if (code === 'FERRY_ERR_PATH_OUTSIDE_HOME' || code === 'FERRY_ERR_INVALID_PATH') {
      this.#log.error(fields, `${where} is refused: ${errorText(err)}; nothing in it is picked up (${again})`);
    } else if (code === 'FERRY_ERR_NOT_FOUND' || code === 'FERRY_ERR_ACCOUNT_NOT_FOUND' || code === 'FERRY_ERR_NOT_A_DIRECTORY') {
      this.#log.warn(fields, `${where} does not exist (yet?): ${errorText(err)}; it may be mounted or created later (${again})`);
    } else {
      this.#log.warn(fields, `${where} cannot be read: ${errorText(err)} (${again})`);
    }
  }

  #where(): string {
    return this.#spec.account === undefined ? this.#spec.path : `${this.#spec.path} in the home of ${this.#spec.account}`;
  }

  /** Records what the scan saw; returns the files stable long enough and not yet enqueued. */
  #observe(files: readonly FoundFile[], now: number): FoundFile[] {
    const next = new Map<string, Seen>();
    const stable: FoundFile[] = [];
    for (const file of files) {
      const before = this.#seen.get(file.relative);
      const same = before !== undefined && before.size === file.size && before.mtimeMs === file.mtimeMs;
      const seen = same ? before : { size: file.size, mtimeMs: file.mtimeMs, since: now, enqueued: false };
      next.set(file.relative, seen);
      if (!seen.enqueued && now - seen.since >= this.#spec.stableFor) stable.push(file);
    }
    // Files gone since the last scan are forgotten: the map never outgrows one listing.
    this.#seen = next;
    return stable;
  }

  async #enqueue(root: FolderRoot, file: FoundFile): Promise<void> {
    const ref = { account: this.#spec.account ?? null, path: jobPath(this.#spec, root, file.relative) };
    const custom = this.#spec.job;
    const job = custom
      ? { kind: custom.kind, payload: { ...(custom.payload as Record<string, unknown>), file: ref } }
      : { kind: 'route', payload: { file: ref, source: `folder-monitor:${this.#spec.name}` } };
    try {
      const result = await this.#store.jobs.enqueue({ ...job, dedupeKey: fileKey(this.#spec.name, ref.path, file.size, file.mtimeMs) });
      const seen = this.#seen.get(file.relative);
      if (seen && seen.size === file.size && seen.mtimeMs === file.mtimeMs) seen.enqueued = true;
      const fields = { event: 'folder.enqueue', file: ref, size: file.size, jobId: result.job.id, kind: job.kind, created: result.created };
      const what = result.created ? `job ${result.job.id} (${job.kind}) enqueued` : `job ${result.job.id} already had this version`;
      this.#log.info(fields, `folder ${this.#spec.name}: ${ref.path} is stable (${file.size} bytes): ${what}`);
    } catch (err) {
      // Not marked: the next scan tries again.
      this.#log.error({ err, event: 'folder.enqueue-failed', file: ref }, `folder ${this.#spec.name}: could not enqueue ${ref.path}: ${errorText(err)}`);
    }
  }

  /** The next scan: at the poll interval, or sooner when a pending file turns stable before it. */
  #nextDelay(now: number): number {
    let delay = this.#spec.pollInterval;
    for (const seen of this.#seen.values()) {
      if (!seen.enqueued) delay = Math.min(delay, Math.max(0, seen.since + this.#spec.stableFor - now));
    }
    return delay;
  }

  #watch(dir: string): void {
    if (this.#watchUnavailable || !this.#active || this.#watchedDir === dir) return;
    this.#unwatch();
    try {
      // The folder itself only, even when recursive: Node's recursive watch on Linux walks the tree
      // itself and is unreliable on large or changing trees; the poll sees deeper files anyway.
      const watcher = watch(dir, { persistent: false }, () => this.#schedule(WATCH_SETTLE_MS));
      watcher.on('error', (err) => {
        this.#log.debug({ err, event: 'folder.watch-error' }, `folder ${this.#spec.name}: fs.watch failed (${errorText(err)}); polling`);
        this.#unwatch();
      });
      this.#watcher = watcher;
      this.#watchedDir = dir;
    } catch (err) {
      // inotify limits, network filesystems: polling alone still finds every file.
      this.#watchUnavailable = true;
      this.#log.info({ err, event: 'folder.watch-unavailable' }, `folder ${this.#spec.name}: fs.watch is not available here (${errorText(err)}); polling every ${this.#spec.pollInterval / 1000}s`);
    }
  }

  #unwatch(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#watchedDir = undefined;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
