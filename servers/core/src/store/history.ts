import type { Kysely, Selectable } from 'kysely';
import { badRequest, checkInstant, checkLimit, checkText } from './checks.js';
import { storeCall } from './guard.js';
import { toNumber, type Database, type TransferHistoryTable } from './schema.js';
import type { HistoryQuery, HistoryStore, TransferRecord } from './types.js';

const DIRECTIONS: ReadonlySet<string> = new Set<TransferRecord['direction']>(['upload', 'download']);
const OUTCOMES: ReadonlySet<string> = new Set<TransferRecord['outcome']>(['completed', 'interrupted', 'failed']);
const MAX_TEXT = 4096;

/**
 * Transfer history: one row per transfer that ended (completed, interrupted at a drain deadline, or
 * failed). Rows are only ever added; the transfer id is indexed but not unique, so a record written
 * twice after an unclear store failure is kept twice rather than lost.
 */
export function historyStore(db: Kysely<Database>): HistoryStore {
  return {
    record: (entry: TransferRecord) =>
      storeCall('record transfer', async () => {
        await db.insertInto('transfer_history').values(toRow(entry)).execute();
      }),

    list: (query: HistoryQuery = {}) =>
      storeCall('list transfer history', async () => {
        const limit = checkLimit(query.limit);
        let select = db.selectFrom('transfer_history').selectAll();
        if (query.component !== undefined) select = select.where('component', '=', query.component);
        if (query.account !== undefined) select = select.where('account', '=', query.account);
        if (query.outcome !== undefined) select = select.where('outcome', '=', checkOneOf('outcome', query.outcome, OUTCOMES));
        if (query.since !== undefined) select = select.where('ended_at', '>=', checkInstant('since', query.since));
        const rows = await select.orderBy('ended_at', 'desc').orderBy('seq', 'desc').limit(limit).execute();
        return rows.map(toRecord);
      }),
  };
}

function toRow(entry: TransferRecord) {
  return {
    transfer_id: checkText('id', entry.id, MAX_TEXT),
    component: checkText('component', entry.component, MAX_TEXT),
    protocol: checkText('protocol', entry.protocol, MAX_TEXT),
    account: entry.account ?? null,
    remote_address: entry.remoteAddress ?? null,
    path: typeof entry.path === 'string' ? entry.path : fail('path must be a string'),
    direction: checkOneOf('direction', entry.direction, DIRECTIONS),
    bytes: checkCount('bytes', entry.bytes),
    size: entry.size === null || entry.size === undefined ? null : checkCount('size', entry.size),
    outcome: checkOneOf('outcome', entry.outcome, OUTCOMES),
    reason: entry.reason ?? null,
    started_at: checkInstant('startedAt', entry.startedAt),
    ended_at: checkInstant('endedAt', entry.endedAt),
  };
}

function toRecord(row: Selectable<TransferHistoryTable>): TransferRecord {
  return {
    id: row.transfer_id,
    component: row.component,
    protocol: row.protocol,
    account: row.account,
    remoteAddress: row.remote_address,
    path: row.path,
    direction: row.direction as TransferRecord['direction'],
    bytes: toNumber(row.bytes),
    size: row.size === null ? null : toNumber(row.size),
    outcome: row.outcome as TransferRecord['outcome'],
    reason: row.reason,
    startedAt: row.started_at,
    endedAt: row.ended_at,
  };
}

function checkOneOf(field: string, value: unknown, allowed: ReadonlySet<string>): string {
  if (typeof value !== 'string' || !allowed.has(value)) {
    throw badRequest(`${field} must be one of ${[...allowed].join(', ')}`, { field, value, allowed: [...allowed] });
  }
  return value;
}

/** Byte counts: whole, non-negative, and exact as a JS number (up to 8 PiB). */
function checkCount(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw badRequest(`${field} must be a non-negative integer below 2^53`, { field, value });
  }
  return value;
}

function fail(message: string): never {
  throw badRequest(message);
}
