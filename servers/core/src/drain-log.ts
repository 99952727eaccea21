import type { Logger } from './logging.js';
import { formatBytes, formatSeconds } from './logging.js';
import type { RunningJobRegistry } from './running-jobs.js';
import type { TransferRegistry, TransferSnapshot } from './transfers.js';

export function describeTransfer(t: TransferSnapshot): string {
  const size = t.size === null ? '?' : formatBytes(t.size);
  return (
    `${t.id} ${t.protocol} ${t.account ?? '-'}@${t.remoteAddress ?? '-'} ${t.direction} ${t.path} ` +
    `${formatBytes(t.offset + t.bytes)}/${size} at ${formatBytes(t.rate)}/s, eta ${formatSeconds(t.etaSeconds)}`
  );
}

/**
 * While a component drains: one line per active transfer at the start and then every
 * `gracefulShutdown.loggingInterval`, until nothing is left.
 */
export class DrainLog {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly transfers: TransferRegistry,
    private readonly intervalMs: number,
    private readonly jobs?: RunningJobRegistry,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.writeOnce();
    this.#timer = setInterval(() => this.writeOnce(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  writeOnce(): void {
    const active = this.transfers.list();
    this.log.info({ event: 'drain.progress', activeTransfers: active.length }, `draining: ${active.length} active transfer(s)`);
    for (const t of active) {
      this.log.info({ event: 'drain.transfer', transfer: t }, `active transfer ${describeTransfer(t)}`);
    }
    for (const job of this.jobs?.list() ?? []) {
      this.log.info({ event: 'drain.job', job }, `running job ${job.jobId} ${job.kind} since ${job.startedAt}: ${job.label}`);
    }
  }
}
