import type { Generated, Kysely, Selectable } from 'kysely';
import { badRequest, checkInstant, checkLimit, checkText } from './checks.js';
import { isUniqueViolation, storeCall } from './guard.js';
import { toNumber, type Database, type NullableBigIntColumn } from './schema.js';

/**
 * AS2 message state (migration 0002_as2), shared by every node of a cluster:
 *  - `as2_messages`: one row per message received ('in', the duplicate check: a partner's
 *    Message-ID is delivered once) or sent ('out', its MDN outcome);
 *  - `as2_mdn_outbox`: asynchronous MDNs not yet delivered, so that they survive a stop and are
 *    sent after the restart. A node leases a row while it delivers it, so two nodes never send
 *    the same MDN at once.
 * Partners themselves live in ferry.yaml (as2d.partners) and in `as2_partners` (store/as2-partners.ts).
 */

export type As2Direction = 'in' | 'out';

export interface As2MessageRecord {
  direction: As2Direction;
  /** The partner's AS2 id. */
  partner: string;
  messageId: string;
  /** e.g. in: `delivered`; out: `sent`, `awaiting-mdn`, `processed`, `failed`. */
  status: string;
  /** in: the stored file (virtual path in the partner's inbox); out: the file sent. */
  path: string | null;
  bytes: number | null;
  /** `<base64>, <micalg>`. */
  mic: string | null;
  /** The MDN disposition sent (in) or received (out). */
  disposition: string | null;
  detail: string | null;
  createdAt: string;
  updatedAt: string;
}

export type NewAs2Message = Omit<As2MessageRecord, 'createdAt' | 'updatedAt' | 'path' | 'bytes' | 'mic' | 'disposition' | 'detail'> &
  Partial<Pick<As2MessageRecord, 'path' | 'bytes' | 'mic' | 'disposition' | 'detail'>>;

export type As2MessagePatch = Partial<Pick<As2MessageRecord, 'status' | 'path' | 'bytes' | 'mic' | 'disposition' | 'detail'>>;

export interface PendingMdn {
  id: number;
  partner: string;
  /** The Message-ID of the message this MDN answers. */
  originalMessageId: string;
  url: string;
  headers: [string, string][];
  body: Buffer;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  createdAt: string;
}

export type NewPendingMdn = Pick<PendingMdn, 'partner' | 'originalMessageId' | 'url' | 'headers' | 'body'>;

export interface As2Store {
  /** Records a message; false (and nothing changed) when that direction, partner and Message-ID is already recorded. */
  claim(message: NewAs2Message): Promise<boolean>;
  get(direction: As2Direction, partner: string, messageId: string): Promise<As2MessageRecord | undefined>;
  /**
   * False when there is no such message, or (with `onlyIfStatus`) when its status is another one:
   * so that a late writer does not overwrite an outcome recorded meanwhile.
   */
  update(direction: As2Direction, partner: string, messageId: string, patch: As2MessagePatch, onlyIfStatus?: string): Promise<boolean>;
  /** Removes a claim that could not be honoured (the file could not be moved into place). */
  forget(direction: As2Direction, partner: string, messageId: string): Promise<void>;
  /** Newest first. */
  list(query?: { direction?: As2Direction; partner?: string; limit?: number }): Promise<As2MessageRecord[]>;

  /**
   * Persists an MDN to deliver. With `leaseMs` the caller holds it for its own first attempt (no
   * other node or round picks it up meanwhile).
   */
  queueMdn(mdn: NewPendingMdn, options?: { leaseMs?: number }): Promise<PendingMdn>;
  /**
   * Leases up to `limit` MDNs that no node holds and whose next attempt is due by `dueBy` (default
   * now; later to try everything at once, e.g. before a stop), for `leaseMs`; each claimed row has
   * its attempt counted.
   */
  claimDueMdns(options: { leaseMs: number; limit: number; dueBy?: Date }): Promise<PendingMdn[]>;
  /** Delivered: the row goes. */
  mdnDelivered(id: number): Promise<void>;
  /** Not delivered: released for another attempt at `nextAttemptAt`. */
  mdnFailed(id: number, error: string, nextAttemptAt: string): Promise<void>;
  /** Gives up on an MDN (too old): the row goes. */
  dropMdn(id: number): Promise<void>;
  /** Oldest first. */
  pendingMdns(): Promise<PendingMdn[]>;
}

/**
 * The tables as Kysely sees them; kept here so that the core schema stays as it was. Type aliases,
 * not interfaces: Kysely's withTables() needs their implicit index signature.
 */
type As2MessagesTable = {
  id: Generated<number>;
  direction: string;
  partner: string;
  message_id: string;
  status: string;
  path: string | null;
  bytes: NullableBigIntColumn;
  mic: string | null;
  disposition: string | null;
  detail: string | null;
  created_at: string;
  updated_at: string;
};

type As2MdnOutboxTable = {
  id: Generated<number>;
  partner: string;
  original_message_id: string;
  url: string;
  /** JSON array of [name, value]. */
  headers: string;
  /** Base64. */
  body: string;
  attempts: number;
  next_attempt_at: string;
  /** Lease: while in the future, a node is delivering this MDN. */
  claimed_until: string | null;
  last_error: string | null;
  created_at: string;
};

type As2Tables = {
  as2_messages: As2MessagesTable;
  as2_mdn_outbox: As2MdnOutboxTable;
};

const MAX_ID = 998; // RFC 5322 line length: the longest Message-ID a header can carry
const MAX_TEXT = 4096;
const DIRECTIONS: ReadonlySet<string> = new Set<As2Direction>(['in', 'out']);

function checkDirection(direction: unknown): As2Direction {
  if (typeof direction !== 'string' || !DIRECTIONS.has(direction)) throw badRequest('direction must be in or out', { field: 'direction', value: direction });
  return direction as As2Direction;
}

function optionalText(field: string, value: string | null | undefined, max = MAX_TEXT): string | null {
  if (value === null || value === undefined) return null;
  return checkText(field, value, max);
}

function optionalCount(field: string, value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isSafeInteger(value) || value < 0) throw badRequest(`${field} must be a non-negative integer`, { field, value });
  return value;
}

export function as2Store(base: Kysely<Database>): As2Store {
  const db = base.withTables<As2Tables>();
  const key = (direction: As2Direction, partner: string, messageId: string) =>
    db
      .selectFrom('as2_messages')
      .selectAll()
      .where('direction', '=', checkDirection(direction))
      .where('partner', '=', partner)
      .where('message_id', '=', messageId);

  return {
    claim: (message) =>
      storeCall('record AS2 message', async () => {
        const now = new Date().toISOString();
        try {
          await db
            .insertInto('as2_messages')
            .values({
              direction: checkDirection(message.direction),
              partner: checkText('partner', message.partner, MAX_TEXT),
              message_id: checkText('messageId', message.messageId, MAX_ID),
              status: checkText('status', message.status, 64),
              path: optionalText('path', message.path),
              bytes: optionalCount('bytes', message.bytes),
              mic: optionalText('mic', message.mic),
              disposition: optionalText('disposition', message.disposition),
              detail: optionalText('detail', message.detail),
              created_at: now,
              updated_at: now,
            })
            .execute();
          return true;
        } catch (err) {
          if (isUniqueViolation(err)) return false;
          throw err;
        }
      }),

    get: (direction, partner, messageId) =>
      storeCall('get AS2 message', async () => {
        const row = await key(direction, partner, messageId).executeTakeFirst();
        return row && toMessage(row);
      }),

    update: (direction, partner, messageId, patch, onlyIfStatus) =>
      storeCall('update AS2 message', async () => {
        const values: Partial<Record<string, unknown>> = { updated_at: new Date().toISOString() };
        if (patch.status !== undefined) values.status = checkText('status', patch.status, 64);
        if (patch.path !== undefined) values.path = optionalText('path', patch.path);
        if (patch.bytes !== undefined) values.bytes = optionalCount('bytes', patch.bytes);
        if (patch.mic !== undefined) values.mic = optionalText('mic', patch.mic);
        if (patch.disposition !== undefined) values.disposition = optionalText('disposition', patch.disposition);
        if (patch.detail !== undefined) values.detail = optionalText('detail', patch.detail);
        let update = db
          .updateTable('as2_messages')
          .set(values)
          .where('direction', '=', checkDirection(direction))
          .where('partner', '=', partner)
          .where('message_id', '=', messageId);
        if (onlyIfStatus !== undefined) update = update.where('status', '=', onlyIfStatus);
        const result = await update.executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),

    forget: (direction, partner, messageId) =>
      storeCall('forget AS2 message', async () => {
        await db
          .deleteFrom('as2_messages')
          .where('direction', '=', checkDirection(direction))
          .where('partner', '=', partner)
          .where('message_id', '=', messageId)
          .execute();
      }),

    list: (query = {}) =>
      storeCall('list AS2 messages', async () => {
        let select = db.selectFrom('as2_messages').selectAll();
        if (query.direction !== undefined) select = select.where('direction', '=', checkDirection(query.direction));
        if (query.partner !== undefined) select = select.where('partner', '=', query.partner);
        const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(checkLimit(query.limit)).execute();
        return rows.map(toMessage);
      }),

    queueMdn: (mdn, options = {}) =>
      storeCall('queue AS2 MDN', async () => {
        const now = new Date().toISOString();
        const lease = options.leaseMs === undefined ? null : new Date(Date.now() + options.leaseMs).toISOString();
        const row = await db
          .insertInto('as2_mdn_outbox')
          .values({
            partner: checkText('partner', mdn.partner, MAX_TEXT),
            original_message_id: checkText('originalMessageId', mdn.originalMessageId, MAX_ID),
            url: checkText('url', mdn.url, MAX_TEXT),
            headers: JSON.stringify(mdn.headers),
            body: mdn.body.toString('base64'),
            attempts: lease === null ? 0 : 1,
            next_attempt_at: now,
            claimed_until: lease,
            last_error: null,
            created_at: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toPending(row);
      }),

    claimDueMdns: ({ leaseMs, limit, dueBy }) =>
      storeCall('claim AS2 MDNs', async () => {
        const now = new Date();
        const at = now.toISOString();
        const until = new Date(now.getTime() + leaseMs).toISOString();
        const due = await db
          .selectFrom('as2_mdn_outbox')
          .select('id')
          .where('next_attempt_at', '<=', (dueBy ?? now).toISOString())
          .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', at)]))
          .orderBy('next_attempt_at')
          .limit(checkLimit(limit))
          .execute();
        const claimed: PendingMdn[] = [];
        for (const { id } of due) {
          // Conditional on the lease still being free: of two nodes racing for a row, one wins.
          const row = await db
            .updateTable('as2_mdn_outbox')
            .set((eb) => ({ claimed_until: until, attempts: eb('attempts', '+', 1) }))
            .where('id', '=', id)
            .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', at)]))
            .returningAll()
            .executeTakeFirst();
          if (row) claimed.push(toPending(row));
        }
        return claimed;
      }),

    mdnDelivered: (id) =>
      storeCall('mark AS2 MDN delivered', async () => {
        await db.deleteFrom('as2_mdn_outbox').where('id', '=', id).execute();
      }),

    mdnFailed: (id, error, nextAttemptAt) =>
      storeCall('mark AS2 MDN failed', async () => {
        await db
          .updateTable('as2_mdn_outbox')
          .set({ claimed_until: null, last_error: error.slice(0, MAX_TEXT), next_attempt_at: checkInstant('nextAttemptAt', nextAttemptAt) })
          .where('id', '=', id)
          .execute();
      }),

    dropMdn: (id) =>
      storeCall('drop AS2 MDN', async () => {
        await db.deleteFrom('as2_mdn_outbox').where('id', '=', id).execute();
      }),

    pendingMdns: () =>
      storeCall('list AS2 MDNs', async () => {
        const rows = await db.selectFrom('as2_mdn_outbox').selectAll().orderBy('created_at').orderBy('id').execute();
        return rows.map(toPending);
      }),
  };
}

function toMessage(row: Selectable<As2MessagesTable>): As2MessageRecord {
  return {
    direction: row.direction as As2Direction,
    partner: row.partner,
    messageId: row.message_id,
    status: row.status,
    path: row.path,
    bytes: row.bytes === null ? null : toNumber(row.bytes),
    mic: row.mic,
    disposition: row.disposition,
    detail: row.detail,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toPending(row: Selectable<As2MdnOutboxTable>): PendingMdn {
  return {
    id: row.id,
    partner: row.partner,
    originalMessageId: row.original_message_id,
    url: row.url,
    headers: JSON.parse(row.headers) as [string, string][],
    body: Buffer.from(row.body, 'base64'),
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
  };
}
