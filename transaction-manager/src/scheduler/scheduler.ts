import { FerryError, type Component, type ComponentContext, type StopMode } from '@ferry/core';
import type { Cron } from 'croner';
import type { ScheduleConfig, SchedulerConfig } from './config.js';
import { MAX_CATCH_UP, parseCron, planFires, type FirePlan } from './cron.js';

/** After a store failure, the schedule is looked at again this much later. */
const RETRY_MS = 5_000;
/** Timers are re-armed at least this often, so a far fire time never overflows setTimeout. */
const MAX_TIMER_MS = 60 * 60_000;

/** The dedupe key of one fire: every node of a cluster computes the same one, so it enqueues once. */
export function fireKey(name: string, at: Date): string {
  return `schedule:${name}:${at.toISOString()}`;
}

interface Armed {
  readonly spec: ScheduleConfig;
  readonly cron: Cron;
  /** Every fire time up to here is dealt with; read from the store on start and resume. */
  covered: Date | undefined;
  /** `catch-up` right after start or resume: every due fire time was missed. */
  mode: 'catch-up' | 'tick';
  /** The fire time the timer is set for. */
  nextAt: Date | undefined;
  timer: NodeJS.Timeout | undefined;
  /** The step running now; steps of one schedule never overlap. */
  busy: Promise<void>;
}

/**
 * The scheduler: cron schedules that enqueue transaction-manager jobs. It holds no transfer, so a
 * drain is instant: `onDrain` cancels every timer and nothing is enqueued until resume. On resume
 * or start, the fire times missed in between follow each schedule's misfire policy, counted from
 * what the store remembers, so a node that resumes after another node kept firing owes nothing.
 */
export class Scheduler implements Component<SchedulerConfig> {
  readonly id = 'scheduler';
  #ctx: ComponentContext<SchedulerConfig> | undefined;
  #schedules: Armed[] = [];
  /** Bumped by every drain, resume, start and stop; work of an older generation enqueues nothing. */
  #generation = 0;
  #active = false;

  async start(ctx: ComponentContext<SchedulerConfig>): Promise<void> {
    this.#ctx = ctx;
    const now = new Date();
    this.#schedules = ctx.config.schedules.map((spec) => ({
      spec,
      cron: parseCron(spec.cron, spec.timezone),
      covered: undefined,
      mode: 'catch-up',
      nextAt: undefined,
      timer: undefined,
      busy: Promise.resolve(),
    }));
    this.#active = true;
    const generation = ++this.#generation;
    ctx.log.info({ event: 'scheduler.start', schedules: this.#schedules.map((s) => s.spec.name) }, `scheduler: ${this.#schedules.length} schedule(s)`);
    await Promise.all(this.#schedules.map((s) => this.#launch(s, generation, now)));
  }

  onDrain(reason: string): void {
    this.#active = false;
    this.#generation += 1;
    for (const s of this.#schedules) this.#disarm(s);
    this.#ctx?.log.info({ event: 'scheduler.hold', reason }, `scheduler: timers stopped (${reason}); missed fires follow each misfire policy on resume`);
  }

  onResume(): void {
    // The instant is taken here, before any await: fire times up to it are the ones missed.
    const now = new Date();
    this.#active = true;
    const generation = ++this.#generation;
    for (const s of this.#schedules) {
      s.mode = 'catch-up';
      void this.#launch(s, generation, now);
    }
  }

  async stop(mode: StopMode): Promise<void> {
    this.#active = false;
    this.#generation += 1;
    for (const s of this.#schedules) this.#disarm(s);
    // A store call in flight finishes before the store may close under it.
    await Promise.all(this.#schedules.map((s) => s.busy));
    this.#ctx?.log.info({ event: 'scheduler.stop', mode }, `scheduler stopped (${mode})`);
    this.#schedules = [];
  }

  #launch(s: Armed, generation: number, now?: Date): Promise<void> {
    s.busy = s.busy.then(() => this.#step(s, generation, now ?? new Date()));
    return s.busy;
  }

  #current(generation: number): boolean {
    return this.#active && generation === this.#generation;
  }

  async #step(s: Armed, generation: number, now: Date): Promise<void> {
    if (!this.#current(generation)) return;
    const ctx = this.#context();
    try {
      // A timer that woke early (or a long delay cut into parts) only re-arms.
      if (s.mode === 'tick' && s.nextAt !== undefined && now < s.nextAt) {
        this.#arm(s, generation);
        return;
      }
      if (s.mode === 'catch-up' || s.covered === undefined) {
        const state = await ctx.store.schedules.track(s.spec.name, now.toISOString());
        const stored = new Date(state.coveredUntil);
        s.covered = s.covered === undefined || stored > s.covered ? stored : s.covered;
      }
      if (!this.#current(generation)) return;
      const catchingUp = s.mode === 'catch-up';
      const complete = await this.#settle(s, s.covered, now, generation);
      if (complete) s.mode = 'tick';
      this.#arm(s, generation);
      if (catchingUp && complete) {
        const { name, cron, misfire } = s.spec;
        const next = s.nextAt?.toISOString() ?? 'never';
        ctx.log.info({ event: 'schedule.armed', schedule: name, cron, misfire, nextFire: next }, `schedule ${name} (${cron}, misfire ${misfire}): next fire at ${next}`);
      }
    } catch (err) {
      ctx.log.error({ err, event: 'schedule.error', schedule: s.spec.name }, `schedule ${s.spec.name}: ${errorText(err)}; trying again in ${RETRY_MS / 1000}s`);
      this.#arm(s, generation, RETRY_MS);
    }
  }

  /** Enqueues what the plan says for (after, now]; false when a drain cut it short. */
  async #settle(s: Armed, after: Date, now: Date, generation: number): Promise<boolean> {
    const ctx = this.#context();
    const plan = planFires(s.cron, s.spec.misfire, after, now, s.mode === 'tick');
    if (plan.missed > 0) this.#logMisfire(s, plan, after, now);
    let covered = now;
    let lastFire: Date | null = null;
    let cut = false;
    for (const at of [...plan.caughtUp, ...plan.onTime]) {
      if (!this.#current(generation)) {
        // Owed from here on: the next resume or start decides again, from the last fire enqueued.
        covered = lastFire ?? after;
        cut = true;
        break;
      }
      const { job, created } = await ctx.store.jobs.enqueue({
        kind: s.spec.job.kind,
        payload: s.spec.job.payload as Record<string, unknown>,
        dedupeKey: fireKey(s.spec.name, at),
      });
      lastFire = at;
      const fields = { event: 'schedule.fire', schedule: s.spec.name, fireTime: at.toISOString(), jobId: job.id, kind: job.kind, created };
      if (created) ctx.log.info(fields, `schedule ${s.spec.name} fired for ${at.toISOString()}: job ${job.id} (${job.kind}) enqueued`);
      else ctx.log.info(fields, `schedule ${s.spec.name} fired for ${at.toISOString()}: job ${job.id} was already enqueued (another node or an earlier run)`);
    }
    s.covered = covered;
    await ctx.store.schedules.advance(s.spec.name, covered.toISOString(), lastFire?.toISOString() ?? null);
    return !cut;
  }

  #logMisfire(s: Armed, plan: FirePlan, after: Date, now: Date): void {
    const { name, misfire } = s.spec;
    const count = plan.overflow ? `more than ${MAX_CATCH_UP}` : String(plan.missed);
    const window = `between ${after.toISOString()} and ${now.toISOString()}`;
    const decision =
      misfire === 'skip'
        ? 'skipping them'
        : misfire === 'once'
          ? `enqueueing one, for ${plan.caughtUp.at(-1)?.toISOString() ?? '-'}`
          : plan.overflow
            ? `enqueueing the latest ${plan.caughtUp.length}, dropping the older ones`
            : 'enqueueing each of them';
    const fields = { event: 'schedule.misfire', schedule: name, misfire, missed: plan.missed, overflow: plan.overflow, from: after.toISOString(), to: now.toISOString() };
    const message = `schedule ${name}: ${count} fire(s) missed ${window}; misfire policy ${misfire}: ${decision}`;
    if (misfire === 'all' && plan.overflow) this.#context().log.warn(fields, message);
    else this.#context().log.info(fields, message);
  }

  #arm(s: Armed, generation: number, delay?: number): void {
    this.#disarm(s);
    if (!this.#current(generation)) return;
    const from = s.covered ?? new Date();
    const next = s.cron.nextRun(from);
    if (next === null && delay === undefined) {
      this.#context().log.warn({ event: 'schedule.ended', schedule: s.spec.name }, `schedule ${s.spec.name}: its cron has no fire time after ${from.toISOString()}`);
      return;
    }
    s.nextAt = next ?? undefined;
    const wait = delay ?? Math.min(MAX_TIMER_MS, Math.max(0, (next?.getTime() ?? 0) - Date.now()));
    s.timer = setTimeout(() => void this.#launch(s, generation), wait);
  }

  #disarm(s: Armed): void {
    if (s.timer) clearTimeout(s.timer);
    s.timer = undefined;
  }

  #context(): ComponentContext<SchedulerConfig> {
    if (!this.#ctx) throw new FerryError('FERRY_ERR_INTERNAL', 'the scheduler was used before it started');
    return this.#ctx;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createScheduler(): Component<SchedulerConfig> {
  return new Scheduler();
}
