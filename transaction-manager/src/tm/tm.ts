import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Component, ComponentContext, Job, StopMode } from '@ferry/core';
import type { TmConfig } from './config.js';
import { FileAccess } from './files.js';
import { jobHandlers } from './handlers.js';
import { RoutingTable } from './routing.js';
import { WorkerPool } from './worker-pool.js';

/**
 * The transaction manager: runs the store's job queue with a bounded pool of workers. Its drain
 * claims nothing new and lets running jobs finish; at the deadline the core cuts them and each goes
 * back to the queue. After a crash (`kill -9`) the jobs this node held are requeued at start.
 */
export class Tm implements Component<TmConfig> {
  readonly id = 'tm';
  #pool: WorkerPool | undefined;

  async start(ctx: ComponentContext<TmConfig>): Promise<void> {
    const { config, store, log } = ctx;
    const worker = workerName(ctx.dataDir);
    const recovered = await store.jobs.recover(worker);
    if (recovered > 0) log.warn({ event: 'tm.recover', jobs: recovered }, `${recovered} job(s) this node ran when it last stopped are back in the queue`);
    const routes = new RoutingTable(config.routes);
    const pool = new WorkerPool({
      store,
      running: ctx.jobs,
      log,
      worker,
      workers: config.workers,
      pollIntervalMs: config.pollInterval,
      leaseMs: config.lease,
      retry: config.retry,
      handlers: jobHandlers({
        store,
        files: new FileAccess(store),
        routes,
        sites: config.sites,
        transfers: ctx.transfers,
        log,
      }),
      describe,
    });
    this.#pool = pool;
    pool.start();
    log.info({ worker, workers: config.workers, routes: routes.size, sites: Object.keys(config.sites).length }, `tm: ${config.workers} worker(s) as ${worker}`);
  }

  onDrain(): void {
    this.#pool?.pause();
  }

  onResume(): void {
    this.#pool?.start();
  }

  async stop(_mode: StopMode): Promise<void> {
    // Running jobs were cut by the core already (immediate) or have all ended (graceful); each
    // ends itself once its release is written, and the core waits for that.
    this.#pool?.pause();
  }
}

export const createTm = (): Tm => new Tm();

/** Stable per node (host and data dir), so a restarted tm finds the jobs its predecessor held. */
export function workerName(dataDir: string): string {
  return `${hostname()}#${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`;
}

function describe(job: Job): string {
  const p = job.payload as Record<string, unknown> & { file?: { account?: string | null; path?: string } };
  const file = p.file ? `${p.file.account ?? 'host'}:${p.file.path ?? '?'}` : '';
  switch (job.kind) {
    case 'step':
      return `${String(p.rule)}[${String(p.index)}] ${file}`;
    case 'push':
      return `${file} → ${String(p.site)}`;
    case 'pull':
      return `${String(p.site)}:${String(p.remotePath)} → ${String(p.account ?? 'host')}:${String(p.path)}`;
    default:
      return file || job.kind;
  }
}
