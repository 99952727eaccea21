import { defineComponentSection, type DeepReadonly } from '@ferry/core';
import { z } from 'zod';
import { isTimeZone, parseCron } from './cron.js';
import { intakeName, intakeJob, uniqueNames } from './job-spec.js';

const CRON_FORMS = 'a cron expression of 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), like "0 * * * *"';

const cronExpression = () =>
  z.string().superRefine((pattern, ctx) => {
    try {
      parseCron(pattern);
    } catch (err) {
      ctx.addIssue({ code: 'custom', input: pattern, message: (err instanceof Error ? err.message : String(err)).replace(/^CronPattern:\s*/, ''), params: { allowed: CRON_FORMS } });
    }
  });

const schedule = z.object({
  /** Names the schedule in logs, dedupe keys and the store; unique. */
  name: intakeName(),
  cron: cronExpression(),
  /** IANA zone the cron fields are read in (e.g. Europe/Paris); the host's zone when unset. */
  timezone: z
    .string()
    .refine(isTimeZone, { message: 'unknown time zone', params: { allowed: 'an IANA time zone name, like Europe/Paris or UTC' } })
    .optional(),
  /** Fires missed while suspended or stopped, on resume or start: none, one (the latest), or each. */
  misfire: z.enum(['skip', 'once', 'all']).default('once'),
  job: intakeJob(),
});

/** The `scheduler` section of ferry.yaml: cron schedules that enqueue jobs for the transaction manager. */
export const schedulerSection = defineComponentSection(
  'scheduler',
  z.object({
    schedules: z
      .array(schedule)
      .superRefine((list, ctx) => uniqueNames(list, ctx, 'schedule'))
      .default([]),
  }),
  // It holds no transfer: a drain is instant, the timeout only bounds a store call in flight.
  { gracefulShutdownTimeout: '30s' },
);

export type SchedulerConfig = DeepReadonly<z.output<typeof schedulerSection.schema>>;
export type ScheduleConfig = SchedulerConfig['schedules'][number];
