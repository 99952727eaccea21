/** The store as the rest of Ferry sees it: one interface, whichever engine is underneath. */
import type { As2Store } from './as2.js';
import type { As2PartnerStore } from './as2-partners.js';
import type { JobStore } from './jobs.js';
import type { ScheduleStore } from './schedules.js';
import type { ShutdownReportStore } from './shutdown-reports.js';

export type StoreEngine = 'sqlite' | 'postgres';

export interface StoreOptions {
  /**
   * `sqlite:<path>` (relative paths resolve against the process cwd), `sqlite::memory:`,
   * `postgres://…` or `postgresql://…`. An empty string means `sqlite:<dataDir>/ferry.db`.
   */
  url: string;
  /** The node's data directory; home of the default SQLite file. */
  dataDir: string;
}

export interface Store {
  readonly engine: StoreEngine;
  readonly accounts: AccountStore;
  readonly adminTokens: AdminTokenStore;
  readonly adminUsers: AdminUserStore;
  readonly history: HistoryStore;
  readonly events: EventStore;
  /** AS2 message state: received Message-IDs, sent messages, pending asynchronous MDNs. */
  readonly as2: As2Store;
  /** AS2 trading partners managed through the admin API (besides those in ferry.yaml). */
  readonly as2Partners: As2PartnerStore;
  readonly jobs: JobStore;
  /** What the scheduler remembers per schedule: fire times dealt with, last fire. */
  readonly schedules: ScheduleStore;
  /** Node-level shutdown reports, and the drain-window queries that fill them. */
  readonly shutdownReports: ShutdownReportStore;
  /** Closes the connection (SQLite) or the pool (PostgreSQL). Calling it again is a no-op. */
  close(): Promise<void>;
}

/** A transfer account. The password hash never leaves the store. */
export interface Account {
  id: number;
  name: string;
  home: string;
  enabled: boolean;
  createdAt: string;
}

export interface NewAccount {
  name: string;
  password: string;
  home: string;
  /** Default true. */
  enabled?: boolean;
}

export interface SshKey {
  id: number;
  /** The normalised OpenSSH public key line: `<type> <base64>[ <comment>]`. */
  publicKey: string;
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  createdAt: string;
}

export interface AccountStore {
  /** FERRY_ERR_BAD_REQUEST for a bad name/password/home, FERRY_ERR_ACCOUNT_EXISTS for a taken name. */
  create(account: NewAccount): Promise<Account>;
  get(name: string): Promise<Account | undefined>;
  /** Ordered by name. */
  list(): Promise<Account[]>;
  /** Removes the account and its SSH keys; its transfer history stays. */
  remove(name: string): Promise<void>;
  setPassword(name: string, password: string): Promise<void>;
  /**
   * The account when the password is right and the account is enabled; otherwise undefined,
   * after the same amount of hashing work whatever the reason.
   */
  verifyPassword(name: string, password: string): Promise<Account | undefined>;
  /** Adding a key the account already has returns the stored one. */
  addSshKey(name: string, publicKeyLine: string): Promise<SshKey>;
  /** Oldest first. FERRY_ERR_ACCOUNT_NOT_FOUND for an unknown account. */
  sshKeys(name: string): Promise<SshKey[]>;
  setEnabled(name: string, enabled: boolean): Promise<void>;
}

export interface AdminToken {
  id: number;
  label: string;
  createdAt: string;
}

export interface AdminTokenStore {
  /** Returns the plaintext token (`fry_…`) once; only its SHA-256 is stored. */
  create(label: string): Promise<string>;
  verify(token: string): Promise<{ id: number; label: string } | undefined>;
  list(): Promise<AdminToken[]>;
  /** True when a token was revoked, false when there was none with that id. */
  revoke(id: number): Promise<boolean>;
}

/** An admin API user; separate from transfer accounts. */
export interface AdminUser {
  id: number;
  name: string;
  createdAt: string;
}

export interface AdminUserStore {
  create(name: string, password: string): Promise<AdminUser>;
  verify(name: string, password: string): Promise<AdminUser | undefined>;
  list(): Promise<AdminUser[]>;
}

/** One finished (or cut) transfer, as the history keeps it. */
export interface TransferRecord {
  /** The transfer id. */
  id: string;
  component: string;
  protocol: string;
  account: string | null;
  remoteAddress: string | null;
  path: string;
  direction: 'upload' | 'download';
  bytes: number;
  size: number | null;
  outcome: 'completed' | 'interrupted' | 'failed';
  reason: string | null;
  /** ISO-8601. */
  startedAt: string;
  /** ISO-8601. */
  endedAt: string;
}

export interface HistoryQuery {
  /** 1–10000, default 100. */
  limit?: number;
  component?: string;
  account?: string;
  outcome?: TransferRecord['outcome'];
  /** ISO-8601: only transfers that ended at or after this instant. */
  since?: string;
}

export interface HistoryStore {
  record(entry: TransferRecord): Promise<void>;
  /** Newest (by end time) first. */
  list(query?: HistoryQuery): Promise<TransferRecord[]>;
}

export interface NewLifecycleEvent {
  component: string;
  /** e.g. `state:draining`. */
  event: string;
  detail?: Record<string, unknown>;
}

export interface LifecycleEvent {
  id: number;
  component: string;
  event: string;
  detail: Record<string, unknown>;
  /** ISO-8601, set by the store. */
  at: string;
}

export interface EventQuery {
  /** 1–10000, default 100. */
  limit?: number;
  component?: string;
}

export interface EventStore {
  record(event: NewLifecycleEvent): Promise<LifecycleEvent>;
  /** Newest first. */
  list(query?: EventQuery): Promise<LifecycleEvent[]>;
}
