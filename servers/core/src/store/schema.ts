import type { ColumnType, Generated } from 'kysely';

/**
 * The tables as Kysely sees them. Column names are snake_case in the database and camelCase in the
 * `Store` API; the mapping lives next to each query. Timestamps are ISO-8601 UTC strings
 * (`Date#toISOString`), so that they sort as text on both engines; booleans are integers 0/1.
 */
export interface Database {
  accounts: AccountTable;
  account_ssh_keys: AccountSshKeyTable;
  admin_users: AdminUserTable;
  admin_tokens: AdminTokenTable;
  transfer_history: TransferHistoryTable;
  lifecycle_events: LifecycleEventTable;
  as2_partners: As2PartnerTable;
}

/** PostgreSQL returns `bigint` as a string (it may exceed 2^53); SQLite returns a number. */
export type BigIntColumn = ColumnType<number | string, number, number>;
export type NullableBigIntColumn = ColumnType<number | string | null, number | null, number | null>;

export interface AccountTable {
  id: Generated<number>;
  name: string;
  password_hash: string;
  home: string;
  enabled: number;
  created_at: string;
}

export interface AccountSshKeyTable {
  id: Generated<number>;
  account_id: number;
  /** The normalised OpenSSH line: `<type> <base64>[ <comment>]`. */
  public_key: string;
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -l` prints it; unique per account. */
  fingerprint: string;
  created_at: string;
}

export interface AdminUserTable {
  id: Generated<number>;
  name: string;
  password_hash: string;
  created_at: string;
}

export interface AdminTokenTable {
  id: Generated<number>;
  label: string;
  /** SHA-256 hex of the plaintext token; the plaintext is shown once and never stored. */
  token_hash: string;
  created_at: string;
}

export interface TransferHistoryTable {
  /** Surrogate key: the insertion order, used to break ties between equal end times. */
  seq: Generated<number | string>;
  transfer_id: string;
  component: string;
  protocol: string;
  account: string | null;
  remote_address: string | null;
  path: string;
  direction: string;
  bytes: BigIntColumn;
  size: NullableBigIntColumn;
  outcome: string;
  reason: string | null;
  started_at: string;
  ended_at: string;
}

export interface LifecycleEventTable {
  id: Generated<number>;
  component: string;
  event: string;
  /** JSON object text. */
  detail: string;
  at: string;
}

/** AS2 trading partners (store/as2-partners.ts); booleans 0/1, algorithm lists as JSON arrays. */
export interface As2PartnerTable {
  id: Generated<number>;
  /** Their AS2 id; unique. */
  as2_id: string;
  /** PEM. */
  certificate: string;
  url: string | null;
  inbox: string;
  require_signature: number;
  require_encryption: number;
  accept_encryption: string;
  accept_signature: string;
  send_encryption: string;
  send_key_transport: string;
  send_signature: string;
  send_compression: string;
  send_mdn: string;
  send_signed_mdn: number;
  created_at: string;
  updated_at: string;
}

/** PostgreSQL `bigint` arrives as a string; every count Ferry stores fits below 2^53. */
export function toNumber(value: number | string | bigint): number {
  return typeof value === 'number' ? value : Number(value);
}
