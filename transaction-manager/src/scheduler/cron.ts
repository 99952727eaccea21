import { Cron } from 'croner';

/**
 * Fire-time arithmetic over croner, used only as a pattern evaluator: the scheduler keeps its own
 * timers so that it knows the exact fire time each enqueue is for (the dedupe key names it) and can
 * enumerate the fire times it missed. Croner works at whole seconds and `nextRun(t)` is the first
 * fire time strictly after `t`.
 */

/** At most this many missed fires are enqueued by misfire policy `all`; older ones are dropped. */
export const MAX_CATCH_UP = 1000;

/**
 * How late a timer may fire and still count as the regular fire (Quartz's misfire threshold has
 * the same default). Later than that (the host slept, the store was unreachable) it is a misfire.
 */
export const ON_TIME_MS = 60_000;

/** Throws croner's own message (e.g. "Invalid value for minute: 61") for a pattern it refuses. */
export function parseCron(pattern: string, timezone?: string): Cron {
  const cron = new Cron(pattern, { paused: true, ...(timezone === undefined ? {} : { timezone }) });
  // An unknown timezone only shows when a time is computed.
  cron.nextRun();
  return cron;
}

/** Whether the runtime knows an IANA time zone name. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Fire times in (after, until], counted up to `cap`. */
export function countFires(cron: Cron, after: Date, until: Date, cap: number): number {
  let count = 0;
  let at: Date | null = after;
  while (count < cap) {
    at = cron.nextRun(at);
    if (at === null || at > until) break;
    count += 1;
  }
  return count;
}

/**
 * The latest `max` fire times in (after, until], oldest first. Bounded work however long the gap
 * (an every-second schedule stopped for a year): when more than `max` are due, the start is moved
 * forward by bisection to the latest instant that still leaves `max` of them, each probe counting
 * at most `max` fires.
 */
export function latestFires(cron: Cron, after: Date, until: Date, max: number): Date[] {
  if (max < 1) return [];
  let from = after.getTime();
  if (countFires(cron, after, until, max + 1) > max) {
    let hi = until.getTime();
    // Croner's resolution is one second: a window narrower than that holds at most one fire.
    while (hi - from > 1000) {
      const mid = from + Math.floor((hi - from) / 2);
      if (countFires(cron, new Date(mid), until, max) >= max) from = mid;
      else hi = mid;
    }
  }
  const times: Date[] = [];
  let at: Date | null = new Date(from);
  for (let i = 0; i <= max; i += 1) {
    at = cron.nextRun(at);
    if (at === null || at > until) break;
    times.push(at);
  }
  return times.slice(-max);
}

export type MisfirePolicy = 'skip' | 'once' | 'all';

export interface FirePlan {
  /** Missed fire times the policy keeps, oldest first. */
  caughtUp: Date[];
  /** Fire times of a timer tick late by no more than ON_TIME_MS: fired whatever the policy. */
  onTime: Date[];
  /** How many fire times were missed (due, and not on time). */
  missed: number;
  /** More were missed than MAX_CATCH_UP: `missed` is a lower bound. */
  overflow: boolean;
}

/** Fire times of one second apart at most (croner's resolution) fit in the on-time window. */
const MAX_ON_TIME = Math.ceil(ON_TIME_MS / 1000) + 1;

/**
 * What to enqueue for the fire times in (after, now]. On a timer tick (`tick`), those at most
 * ON_TIME_MS late are on time, as in Quartz: a busy event loop delays a fire, it does not drop it.
 * Every other due fire time was missed (the scheduler was suspended or stopped, the host slept),
 * and after a start or a resume every due fire time was. The policy decides about missed ones:
 * `skip` none, `once` one (the latest), `all` each (the latest MAX_CATCH_UP).
 */
export function planFires(cron: Cron, misfire: MisfirePolicy, after: Date, now: Date, tick: boolean): FirePlan {
  const lateFrom = tick ? new Date(Math.max(after.getTime(), now.getTime() - ON_TIME_MS)) : now;
  const onTime = tick ? latestFires(cron, lateFrom, now, MAX_ON_TIME) : [];
  const missed = countFires(cron, after, lateFrom, MAX_CATCH_UP + 1);
  const keep = missed === 0 || misfire === 'skip' ? 0 : misfire === 'once' ? 1 : MAX_CATCH_UP;
  return { caughtUp: latestFires(cron, after, lateFrom, keep), onTime, missed, overflow: missed > MAX_CATCH_UP };
}
