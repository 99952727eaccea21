import { X509Certificate } from 'node:crypto';
import { isAbsolute } from 'node:path';
import type { Kysely, Selectable } from 'kysely';
import { FerryError } from '../errors.js';
import { badRequest, checkText } from './checks.js';
import { isUniqueViolation, storeCall } from './guard.js';
import type { As2PartnerTable, Database } from './schema.js';

/**
 * AS2 trading partners kept in the store (migration 0004_as2_partners), managed through the admin
 * API and read by as2d per message, so that a change applies without a restart. Partners may also
 * be configured in ferry.yaml (as2d.partners); a store partner with the same id takes precedence
 * there (servers/as2d/src/partners.ts).
 *
 * The algorithm names are as2d's (servers/as2d/src/as2/algorithms.ts). They are spelled out again
 * here because core cannot import as2d; as2d assigns these types to its own, so the compiler
 * catches the two lists drifting apart.
 */

export const AS2_ENCRYPTIONS = ['aes128-cbc', 'aes192-cbc', 'aes256-cbc', 'aes128-gcm', 'aes192-gcm', 'aes256-gcm', '3des'] as const;
export const AS2_DIGESTS = ['sha1', 'sha-256', 'sha-384', 'sha-512'] as const;
export const AS2_KEY_TRANSPORTS = ['rsa-pkcs1', 'rsa-oaep', 'rsa-oaep-sha256'] as const;
export const AS2_COMPRESSIONS = ['none', 'before-signing', 'after-signing'] as const;
export const AS2_MDN_MODES = ['sync', 'async', 'none'] as const;

export type As2Encryption = (typeof AS2_ENCRYPTIONS)[number];
export type As2Digest = (typeof AS2_DIGESTS)[number];
export type As2KeyTransport = (typeof AS2_KEY_TRANSPORTS)[number];
export type As2Compression = (typeof AS2_COMPRESSIONS)[number];
export type As2MdnMode = (typeof AS2_MDN_MODES)[number];

/** How we send to a partner (the AS2 sender library reads it). */
export interface As2SendPreferences {
  encryption: As2Encryption;
  keyTransport: As2KeyTransport;
  signature: As2Digest;
  compression: As2Compression;
  /** The MDN we ask for. */
  mdn: As2MdnMode;
  signedMdn: boolean;
}

/** A trading partner as the store keeps it; the same settings as an `as2d.partners[]` entry. */
export interface As2Partner {
  /** Their AS2 id: the AS2-From of their messages. */
  id: string;
  /** Their X.509 certificate, PEM: verifies their signatures and MDNs; we encrypt to it. */
  certificate: string;
  /** Their AS2 URL, where the sender library posts our messages. */
  url: string | null;
  /** Absolute directory their payloads are stored in (created if missing). */
  inbox: string;
  requireSignature: boolean;
  requireEncryption: boolean;
  /** Algorithms we accept from them. */
  accept: { encryption: As2Encryption[]; signature: As2Digest[] };
  send: As2SendPreferences;
  createdAt: string;
  updatedAt: string;
}

/** What a caller gives: id, certificate and inbox; everything else has the ferry.yaml defaults. */
export interface As2PartnerInput {
  id: string;
  certificate: string;
  inbox: string;
  url?: string | null;
  requireSignature?: boolean;
  requireEncryption?: boolean;
  accept?: { encryption?: As2Encryption[]; signature?: As2Digest[] };
  send?: Partial<As2SendPreferences>;
}

export interface As2PartnerStore {
  /** Ordered by id. */
  list(): Promise<As2Partner[]>;
  get(id: string): Promise<As2Partner | undefined>;
  /**
   * Creates the partner, or replaces every setting of the one with that id (its createdAt stays).
   * FERRY_ERR_BAD_REQUEST naming the field for what is not allowed.
   */
  put(partner: As2PartnerInput): Promise<{ partner: As2Partner; created: boolean }>;
  /** FERRY_ERR_NOT_FOUND when there is no partner with that id. */
  remove(id: string): Promise<void>;
}

/** Defaults of an `as2d.partners[]` entry (servers/as2d/src/config.ts). */
export const AS2_SEND_DEFAULTS: Readonly<As2SendPreferences> = {
  encryption: 'aes256-cbc',
  keyTransport: 'rsa-pkcs1',
  signature: 'sha-256',
  compression: 'none',
  mdn: 'sync',
  signedMdn: true,
};

// RFC 4130 §6.2: 1 to 128 printable ASCII characters.
const AS2_ID = /^[\x20-\x7e]{1,128}$/;
export const AS2_ID_RULE = '1 to 128 printable ASCII characters';
const MAX_PATH = 4096;
const MAX_URL = 4096;
/** A certificate chain pasted whole is still well below this. */
const MAX_CERTIFICATE = 64 * 1024;

export function checkAs2Id(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || !AS2_ID.test(id)) throw badRequest(`${field} ${JSON.stringify(id)} is not an AS2 id: ${AS2_ID_RULE}`, { field, allowed: AS2_ID_RULE });
  return id;
}

/** The first certificate of the PEM text, normalised; anything else is refused naming the field. */
export function checkCertificatePem(pem: unknown, field = 'certificate'): string {
  if (typeof pem !== 'string' || pem.length > MAX_CERTIFICATE || !pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw badRequest(`${field} must be an X.509 certificate in PEM (-----BEGIN CERTIFICATE-----…)`, { field });
  }
  try {
    return new X509Certificate(pem).toString();
  } catch (err) {
    throw new FerryError('FERRY_ERR_BAD_REQUEST', `${field} is not a valid X.509 certificate: ${(err as Error).message}`, { cause: err, details: { field } });
  }
}

function checkUrl(url: unknown): string | null {
  if (url === undefined || url === null) return null;
  const text = checkText('url', url, MAX_URL);
  let parsed: URL | undefined;
  try {
    parsed = new URL(text);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) throw badRequest(`url must be an http(s) URL, got ${JSON.stringify(text)}`, { field: 'url', value: text });
  return text;
}

function checkInbox(inbox: unknown): string {
  const path = checkText('inbox', inbox, MAX_PATH);
  // A relative path would resolve against whichever process reads it: refused rather than guessed.
  if (!isAbsolute(path)) throw badRequest(`inbox must be an absolute path, got ${JSON.stringify(path)}`, { field: 'inbox', value: path });
  return path;
}

function checkFlag(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw badRequest(`${field} must be true or false`, { field, value });
  return value;
}

function checkOne<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw badRequest(`${field} ${JSON.stringify(value)} is not supported; allowed: ${allowed.join(', ')}`, { field, value, allowed });
  }
  return value as T;
}

function checkList<T extends string>(field: string, value: unknown, allowed: readonly T[]): T[] {
  if (value === undefined) return [...allowed];
  if (!Array.isArray(value) || value.length === 0) throw badRequest(`${field} must be a non-empty list; allowed: ${allowed.join(', ')}`, { field, allowed });
  return [...new Set(value.map((item: unknown, i) => checkOne(`${field}[${i}]`, item, allowed, allowed[0]!)))];
}

type Row = Selectable<As2PartnerTable>;
type RowValues = Omit<Row, 'id' | 'created_at' | 'updated_at'>;

/** Validates a partner and applies the defaults; the row without its timestamps. */
function toValues(input: As2PartnerInput): RowValues {
  if (typeof input !== 'object' || input === null) throw badRequest('an AS2 partner must be an object', { field: 'partner' });
  const send = input.send ?? {};
  const accept = input.accept ?? {};
  return {
    as2_id: checkAs2Id(input.id),
    certificate: checkCertificatePem(input.certificate),
    url: checkUrl(input.url),
    inbox: checkInbox(input.inbox),
    require_signature: checkFlag('requireSignature', input.requireSignature, true) ? 1 : 0,
    require_encryption: checkFlag('requireEncryption', input.requireEncryption, true) ? 1 : 0,
    accept_encryption: JSON.stringify(checkList('accept.encryption', accept.encryption, AS2_ENCRYPTIONS)),
    accept_signature: JSON.stringify(checkList('accept.signature', accept.signature, AS2_DIGESTS)),
    send_encryption: checkOne('send.encryption', send.encryption, AS2_ENCRYPTIONS, AS2_SEND_DEFAULTS.encryption),
    send_key_transport: checkOne('send.keyTransport', send.keyTransport, AS2_KEY_TRANSPORTS, AS2_SEND_DEFAULTS.keyTransport),
    send_signature: checkOne('send.signature', send.signature, AS2_DIGESTS, AS2_SEND_DEFAULTS.signature),
    send_compression: checkOne('send.compression', send.compression, AS2_COMPRESSIONS, AS2_SEND_DEFAULTS.compression),
    send_mdn: checkOne('send.mdn', send.mdn, AS2_MDN_MODES, AS2_SEND_DEFAULTS.mdn),
    send_signed_mdn: checkFlag('send.signedMdn', send.signedMdn, AS2_SEND_DEFAULTS.signedMdn) ? 1 : 0,
  };
}

export function as2PartnerStore(db: Kysely<Database>): As2PartnerStore {
  const byId = (id: string) => db.selectFrom('as2_partners').selectAll().where('as2_id', '=', id);

  return {
    list: () =>
      storeCall('list AS2 partners', async () => {
        const rows = await db.selectFrom('as2_partners').selectAll().orderBy('as2_id').execute();
        return rows.map(toPartner);
      }),

    get: (id) =>
      storeCall('get AS2 partner', async () => {
        if (typeof id !== 'string') return undefined;
        const row = await byId(id).executeTakeFirst();
        return row && toPartner(row);
      }),

    put: (input) =>
      storeCall('put AS2 partner', async () => {
        const values = toValues(input);
        const now = new Date().toISOString();
        const replaced = await db.updateTable('as2_partners').set({ ...values, updated_at: now }).where('as2_id', '=', values.as2_id).returningAll().executeTakeFirst();
        if (replaced) return { partner: toPartner(replaced), created: false };
        try {
          const row = await db
            .insertInto('as2_partners')
            .values({ ...values, created_at: now, updated_at: now })
            .returningAll()
            .executeTakeFirstOrThrow();
          return { partner: toPartner(row), created: true };
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          // Created by another writer between our update and insert: ours is the later word.
          const row = await db.updateTable('as2_partners').set({ ...values, updated_at: now }).where('as2_id', '=', values.as2_id).returningAll().executeTakeFirstOrThrow();
          return { partner: toPartner(row), created: false };
        }
      }),

    remove: (id) =>
      storeCall('remove AS2 partner', async () => {
        const result = await db.deleteFrom('as2_partners').where('as2_id', '=', String(id)).executeTakeFirst();
        if (result.numDeletedRows === 0n) {
          throw new FerryError('FERRY_ERR_NOT_FOUND', `no AS2 partner "${String(id)}" in the store`, { details: { partner: id } });
        }
      }),
  };
}

function toPartner(row: Row): As2Partner {
  return {
    id: row.as2_id,
    certificate: row.certificate,
    url: row.url,
    inbox: row.inbox,
    requireSignature: row.require_signature === 1,
    requireEncryption: row.require_encryption === 1,
    accept: {
      encryption: JSON.parse(row.accept_encryption) as As2Encryption[],
      signature: JSON.parse(row.accept_signature) as As2Digest[],
    },
    send: {
      encryption: row.send_encryption as As2Encryption,
      keyTransport: row.send_key_transport as As2KeyTransport,
      signature: row.send_signature as As2Digest,
      compression: row.send_compression as As2Compression,
      mdn: row.send_mdn as As2MdnMode,
      signedMdn: row.send_signed_mdn === 1,
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
