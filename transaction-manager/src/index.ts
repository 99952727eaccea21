// The public surface of @ferry/transaction-manager: the tm, folder-monitor and scheduler components.
export { Tm, createTm, workerName } from './tm/tm.js';
export { tmSection, DEFAULT_TM_TIMEOUT, type TmConfig, type RouteConfig, type ActionConfig } from './tm/config.js';
export { API_JOB_KINDS, JOB_KINDS, checkApiJob, checkJob, parsePayload, type JobKind } from './tm/payloads.js';
export { siteSchema, SITE_PROTOCOLS, type SiteConfig, type SiteProtocol } from './outbound/index.js';
export {
  createScheduler,
  Scheduler,
  schedulerSection,
  describeSchedules,
  fireKey,
  MAX_CATCH_UP,
  ON_TIME_MS,
  INTAKE_JOB_KINDS,
  intakeJob,
  type SchedulerConfig,
  type ScheduleConfig,
  type ScheduleDescription,
  type MisfirePolicy,
  type IntakeJobKind,
  type IntakeJob,
} from './scheduler/index.js';
export { createFolderMonitor, FolderMonitor, folderMonitorSection, fileKey, type FolderMonitorConfig, type FolderConfig } from './folder-monitor/index.js';
