import { EventEmitter } from 'node:events';

/** How a running job left the worker: done, failed (retry or give up), or put back by a drain. */
export type RunningJobOutcome = 'completed' | 'failed' | 'released';

export interface RunningJobInit {
  /** The store's job id. */
  jobId: number;
  kind: string;
  /** One line for operators: what the job does (rule, file, site). */
  label: string;
}

export interface RunningJobSnapshot extends RunningJobInit {
  startedAt: string;
}

export interface RunningJobEnd {
  snapshot: RunningJobSnapshot;
  outcome: RunningJobOutcome;
  reason: string | null;
}

/** One job a worker runs. The worker calls end() exactly once; the core aborts it through signal. */
export class RunningJob {
  readonly startedAt = new Date().toISOString();
  readonly #abort = new AbortController();
  #ended = false;

  constructor(
    readonly init: Readonly<RunningJobInit>,
    private readonly onEnd: (job: RunningJob, outcome: RunningJobOutcome, reason: string | null) => void,
  ) {}

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  abort(reason: string): void {
    if (!this.#abort.signal.aborted) this.#abort.abort(new Error(reason));
  }

  end(outcome: RunningJobOutcome, reason: string | null = null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.onEnd(this, outcome, reason);
  }

  snapshot(): RunningJobSnapshot {
    return { ...this.init, startedAt: this.startedAt };
  }
}

/**
 * The jobs a component (the transaction manager) is running right now. Like the TransferRegistry
 * for transfers, it holds a drain open while anything runs and lets the core cut what is left at
 * the deadline; the job queue itself lives in the store.
 */
export class RunningJobRegistry extends EventEmitter<{ end: [RunningJobEnd]; idle: [] }> {
  readonly #running = new Set<RunningJob>();

  get size(): number {
    return this.#running.size;
  }

  begin(init: RunningJobInit): RunningJob {
    const job = new RunningJob(init, (ended, outcome, reason) => {
      this.#running.delete(ended);
      this.emit('end', { snapshot: ended.snapshot(), outcome, reason });
      if (this.#running.size === 0) this.emit('idle');
    });
    this.#running.add(job);
    return job;
  }

  list(): RunningJobSnapshot[] {
    return [...this.#running].map((job) => job.snapshot());
  }

  abortAll(reason: string): void {
    for (const job of this.#running) job.abort(reason);
  }

  whenIdle(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.once('idle', resolve));
  }
}
