// The scheduler component: cron schedules that enqueue transaction-manager jobs.
export { createScheduler, fireKey, Scheduler } from './scheduler.js';
export { schedulerSection, type ScheduleConfig, type SchedulerConfig } from './config.js';
export { describeSchedules, type ScheduleDescription } from './describe.js';
export { MAX_CATCH_UP, ON_TIME_MS, type MisfirePolicy } from './cron.js';
export { INTAKE_JOB_KINDS, intakeJob, type IntakeJobKind, type IntakeJob } from './job-spec.js';
