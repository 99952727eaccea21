/** The store of a Ferry node: accounts, admin users and tokens, transfer history, lifecycle events. */
export { openStore, parseStoreUrl, type StoreLocation } from './open.js';
export { hashPassword, verifyPasswordHash } from './password.js';
export { ADMIN_TOKEN_PREFIX } from './admin.js';
export { ACCOUNT_NAME_RULE } from './checks.js';
export type {
  Account,
  AccountStore,
  AdminToken,
  AdminTokenStore,
  AdminUser,
  AdminUserStore,
  EventQuery,
  EventStore,
  HistoryQuery,
  HistoryStore,
  LifecycleEvent,
  NewAccount,
  NewLifecycleEvent,
  SshKey,
  Store,
  StoreEngine,
  StoreOptions,
  TransferRecord,
} from './types.js';
export type { As2Direction, As2MessagePatch, As2MessageRecord, As2Store, NewAs2Message, NewPendingMdn, PendingMdn } from './as2.js';
export {
  AS2_COMPRESSIONS,
  AS2_DIGESTS,
  AS2_ENCRYPTIONS,
  AS2_ID_RULE,
  AS2_KEY_TRANSPORTS,
  AS2_MDN_MODES,
  AS2_SEND_DEFAULTS,
  checkCertificatePem,
  type As2Compression,
  type As2Digest,
  type As2Encryption,
  type As2KeyTransport,
  type As2MdnMode,
  type As2Partner,
  type As2PartnerInput,
  type As2PartnerStore,
  type As2SendPreferences,
} from './as2-partners.js';
export { JOB_STATUSES, type ClaimOptions, type Job, type JobQuery, type JobStatus, type JobStore, type NewJob } from './jobs.js';
export {
  COMPONENT_KINDS,
  type ComponentKind,
  type DrainedJob,
  type DrainedTransfer,
  type NodePlan,
  type NodePlanAction,
  type NodePlanComponent,
  type NodePlanMessage,
  type NodePlanStep,
  type PlanRequester,
  type ShutdownReport,
  type ShutdownReportStore,
} from './shutdown-reports.js';
export { type ScheduleState, type ScheduleStore } from './schedules.js';
