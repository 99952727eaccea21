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
