import type { Component, ComponentContext, StopMode } from '@ferry/core';
import type { FolderMonitorConfig } from './config.js';
import { WatchedFolder } from './folder.js';

/**
 * The folder monitor: watches configured folders and enqueues a job for each file once it is
 * stable. It holds no transfer, so a drain is instant: `onDrain` stops every watcher and timer,
 * `onResume` looks at every folder afresh. Files that turned stable meanwhile are found then; a
 * version already enqueued is not enqueued again (its dedupe key), whichever node or run saw it.
 */
export class FolderMonitor implements Component<FolderMonitorConfig> {
  readonly id = 'folder-monitor';
  #folders: WatchedFolder[] = [];
  #ctx: ComponentContext<FolderMonitorConfig> | undefined;

  start(ctx: ComponentContext<FolderMonitorConfig>): Promise<void> {
    this.#ctx = ctx;
    this.#folders = ctx.config.folders.map((spec) => new WatchedFolder(spec, ctx.store, ctx.log));
    ctx.log.info({ event: 'folder-monitor.start', folders: this.#folders.map((f) => f.name) }, `folder monitor: ${this.#folders.length} folder(s)`);
    // Folders are opened by their first scan, in the background: one that is missing or on a slow
    // mount must not hold the start.
    for (const folder of this.#folders) folder.begin();
    return Promise.resolve();
  }

  onDrain(reason: string): void {
    for (const folder of this.#folders) folder.halt();
    this.#ctx?.log.info({ event: 'folder-monitor.hold', reason }, `folder monitor: stopped watching (${reason})`);
  }

  onResume(): void {
    for (const folder of this.#folders) folder.begin();
    this.#ctx?.log.info({ event: 'folder-monitor.resume' }, 'folder monitor: watching again');
  }

  async stop(mode: StopMode): Promise<void> {
    for (const folder of this.#folders) folder.halt();
    // A scan in flight ends before the store may close under it; it enqueues nothing more.
    await Promise.all(this.#folders.map((folder) => folder.settled()));
    this.#folders = [];
    this.#ctx?.log.info({ event: 'folder-monitor.stop', mode }, `folder monitor stopped (${mode})`);
  }
}

export function createFolderMonitor(): Component<FolderMonitorConfig> {
  return new FolderMonitor();
}
