import type { SchedulerConfig } from './config.js';
import { parseCron } from './cron.js';
import type { IntakeJobKind } from './job-spec.js';

/** One schedule as the admin API lists it. */
export interface ScheduleDescription {
  name: string;
  cron: string;
  timezone: string | null;
  misfire: 'skip' | 'once' | 'all';
  kind: IntakeJobKind;
  /** ISO-8601; null when the cron has no fire time after `now`. */
  nextFire: string | null;
}

/** The configured schedules with their next fire time after `now` (for the admin API). */
export function describeSchedules(config: Pick<SchedulerConfig, 'schedules'>, now: Date = new Date()): ScheduleDescription[] {
  return config.schedules.map((spec) => ({
    name: spec.name,
    cron: spec.cron,
    timezone: spec.timezone ?? null,
    misfire: spec.misfire,
    kind: spec.job.kind,
    nextFire: parseCron(spec.cron, spec.timezone).nextRun(now)?.toISOString() ?? null,
  }));
}
