import { isFerryError, type Job, type Logger, type NewJob, type RunningJob, type RunningJobRegistry, type Store } from '@ferry/core';

/** What a job handler gets: the job, the signal that cuts it (drain deadline, immediate stop). */
export interface JobRun {
  job: Job;
  signal: AbortSignal;
}

/** What a finished job leaves: its result, and the jobs it leads to (enqueued as it completes). */
export interface JobOutcome {
  result: Record<string, unknown>;
  next?: Omit<NewJob, 'parentId'>[];
}

export type JobHandler = (run: JobRun) => Promise<JobOutcome>;

export interface WorkerPoolOptions {
  store: Store;
  running: RunningJobRegistry;
  log: Logger;
  /** This node's worker name in the store's claims. */
  worker: string;
  workers: number;
  pollIntervalMs: number;
  leaseMs: number;
  retry: { backoff: number; maxBackoff: number; maxAttempts: number };
  handlers: Readonly<Record<string, JobHandler>>;
  describe(job: Job): string;
}

/**
 * Claims due jobs while it has free slots and runs each under a lease that a heartbeat renews.
 * Paused, it claims nothing and lets what runs finish: that is the tm's drain. A job cut by the
 * core (its signal) goes back to the queue uncounted; a failure is retried with doubling backoff
 * until the job's attempts are spent.
 */
export class WorkerPool {
  #paused = true;
  #filling = false;
  #refill = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #active = new Set<Promise<void>>();

  constructor(private readonly options: WorkerPoolOptions) {}

  get active(): number {
    return this.#active.size;
  }

  start(): void {
    this.#paused = false;
    this.#timer ??= setInterval(() => this.wake(), this.options.pollIntervalMs);
    this.wake();
  }

  /** Claims nothing more; running jobs go on. */
  pause(): void {
    this.#paused = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Looks for due jobs now (a job was just enqueued, or a slot came free). */
  wake(): void {
    if (this.#paused) return;
    if (this.#filling) {
      this.#refill = true;
      return;
    }
    this.#filling = true;
    void this.#fill().finally(() => {
      this.#filling = false;
      if (this.#refill) {
        this.#refill = false;
        this.wake();
      }
    });
  }

  /** Resolves when every running job has ended. */
  async idle(): Promise<void> {
    while (this.#active.size > 0) await Promise.allSettled([...this.#active]);
  }

  async #fill(): Promise<void> {
    const { store, worker, leaseMs, log } = this.options;
    while (!this.#paused && this.#active.size < this.options.workers) {
      let jobs: Job[];
      const limit = this.options.workers - this.#active.size;
      try {
        jobs = await store.jobs.claimMany({ worker, leaseMs, limit });
      } catch (err) {
        log.error({ err }, 'could not claim a job');
        return;
      }
      if (jobs.length === 0) return;
      for (const job of jobs) {
        // A drain that began while the claim was on its way: the job goes straight back.
        if (this.#paused) {
          await store.jobs.release(job.id, worker, 'claimed as the transaction manager began to drain').catch(() => undefined);
          continue;
        }
        const done = this.#run(job).finally(() => {
          this.#active.delete(done);
          this.wake();
        });
        this.#active.add(done);
      }
      if (jobs.length < limit) return;
    }
  }

  async #run(job: Job): Promise<void> {
    const { store, worker, leaseMs, log } = this.options;
    const label = this.options.describe(job);
    const running = this.options.running.begin({ jobId: job.id, kind: job.kind, label });
    const heartbeat = setInterval(() => {
      store.jobs.extend(job.id, worker, leaseMs).then(
        (held) => held || log.warn({ jobId: job.id }, `job ${job.id}: lease lost to another worker`),
        (err: unknown) => log.warn({ err, jobId: job.id }, `job ${job.id}: could not renew the lease`),
      );
    }, Math.max(1000, Math.floor(leaseMs / 3)));
    heartbeat.unref();
    log.debug({ event: 'job.start', jobId: job.id, kind: job.kind, attempt: job.attempts }, `job ${job.id} ${job.kind} started: ${label}`);
    try {
      const handler = this.options.handlers[job.kind];
      if (!handler) throw new PermanentJobError(`no handler for job kind "${job.kind}"`);
      const outcome = await handler({ job, signal: running.signal });
      if (running.signal.aborted) throw running.signal.reason;
      const next = (outcome.next ?? []).map((n) => ({ maxAttempts: this.options.retry.maxAttempts, ...n, parentId: job.id }));
      if (!(await store.jobs.complete(job.id, worker, outcome.result, next))) {
        throw new Error('the lease was lost to another worker before the job could complete');
      }
      if (next.length > 0) this.wake();
      log.info({ event: 'job.end', jobId: job.id, kind: job.kind, outcome: 'completed' }, `job ${job.id} ${job.kind} completed: ${label}`);
      running.end('completed');
    } catch (err) {
      await this.#settleFailure(job, running, label, err);
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #settleFailure(job: Job, running: RunningJob, label: string, err: unknown): Promise<void> {
    const { store, worker, log } = this.options;
    const reason = errorText(err);
    try {
      if (running.signal.aborted) {
        const why = errorText(running.signal.reason);
        await store.jobs.release(job.id, worker, `cut: ${why}`);
        await store.events.record({ component: 'tm', event: 'job:released', detail: { jobId: job.id, kind: job.kind, reason: why } });
        log.warn({ event: 'job.end', jobId: job.id, kind: job.kind, outcome: 'released' }, `job ${job.id} ${job.kind} cut (${why}): back in the queue`);
        running.end('released', why);
        return;
      }
      const permanent = err instanceof PermanentJobError || (isFerryError(err) && PERMANENT_CODES.has(err.code));
      if (permanent || job.attempts >= job.maxAttempts) {
        if (await store.jobs.fail(job.id, worker, reason)) {
          log.error({ event: 'job.end', jobId: job.id, kind: job.kind, outcome: 'failed', err }, `job ${job.id} ${job.kind} failed for good after ${job.attempts} attempt(s): ${reason}`);
        } else this.#lostLease(job, reason);
      } else {
        const delay = Math.min(this.options.retry.maxBackoff, this.options.retry.backoff * 2 ** (job.attempts - 1));
        if (await store.jobs.retry(job.id, worker, reason, new Date(Date.now() + delay).toISOString())) {
          log.warn({ event: 'job.retry', jobId: job.id, kind: job.kind, delayMs: delay }, `job ${job.id} ${job.kind} failed (attempt ${job.attempts}/${job.maxAttempts}), retry in ${delay} ms: ${reason}`);
        } else this.#lostLease(job, reason);
      }
    } catch (storeErr) {
      // The lease runs out and another attempt follows: nothing is lost, only delayed.
      log.error({ err: storeErr, jobId: job.id }, `job ${job.id}: could not record its outcome (${reason})`);
    }
    running.end('failed', reason);
  }

  /** Another worker took the job over (this one's lease ran out): its outcome is that worker's to record. */
  #lostLease(job: Job, reason: string): void {
    this.options.log.warn({ event: 'job.lease-lost', jobId: job.id, kind: job.kind }, `job ${job.id} ${job.kind}: another worker holds it now; this attempt ended with: ${reason}`);
  }
}

/** A failure no retry can fix (a rule names a site that does not exist, a bad payload). */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
}

const PERMANENT_CODES: ReadonlySet<string> = new Set(['FERRY_ERR_BAD_REQUEST', 'FERRY_ERR_CONFIG_INVALID', 'FERRY_ERR_PATH_OUTSIDE_HOME']);

function errorText(err: unknown): string {
  if (isFerryError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
