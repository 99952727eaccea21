import { CompiledQuery, type Kysely, type Selectable } from 'kysely';
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
  const batch = new RowBatch(db);
  return {
    record: async (entry: TransferRecord) => {
      // Checked now, so that a bad entry fails alone instead of failing the batch it would join.
      const row = toRow(entry);
      await storeCall('record transfer', () => batch.add(row));
    },

    list: (query: HistoryQuery = {}) =>
      storeCall('list transfer history', async () => {
        // A transfer recorded just before is listed: its batch is written first.
        await batch.settled();
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

type HistoryRow = ReturnType<typeof toRow>;

/** Rows per INSERT: 13 parameters each stays far below PostgreSQL's 65535 and SQLite's 32766. */
const MAX_BATCH_ROWS = 500;

/** How long a row waits for others to share its INSERT. */
const BATCH_WINDOW_MS = 25;

/**
 * Rows recorded within BATCH_WINDOW_MS go into one multi-row INSERT (one statement, so one
 * transaction): one statement costs the store much less than one per row, and a session moving
 * many small files one after the other would otherwise pay an insert on its own path between every
 * two files. The client never waits on it (history is written after the transfer's reply). Each
 * caller's promise settles when the statement holding its row does; the component host waits for
 * them before it closes the store.
 */
class RowBatch {
  #open: { rows: HistoryRow[]; written: Promise<void> } | undefined;
  readonly #sqlByCount = new Map<number, string>();

  constructor(private readonly db: Kysely<Database>) {}

  add(row: HistoryRow): Promise<void> {
    if (this.#open === undefined || this.#open.rows.length >= MAX_BATCH_ROWS) {
      const rows: HistoryRow[] = [];
      const written = new Promise<void>((resolve) => setTimeout(resolve, BATCH_WINDOW_MS)).then(() => this.#insert(rows));
      this.#open = { rows, written };
    }
    this.#open.rows.push(row);
    return this.#open.written;
  }

  /** Resolves once the rows added so far have been written (or have failed to be). */
  async settled(): Promise<void> {
    await this.#open?.written.catch(() => undefined);
  }

  async #insert(rows: HistoryRow[]): Promise<void> {
    // Rows added from now on start the next batch.
    if (this.#open?.rows === rows) this.#open = undefined;
    await this.db.executeQuery(this.#statement(rows));
  }

  /**
   * The INSERT for these rows. Its SQL depends only on the number of rows, so it is built once per
   * count and reused with the rows' values instead of being built and compiled by Kysely for every
   * batch (a small-file upload records a row per file).
   */
  #statement(rows: HistoryRow[]): CompiledQuery {
    const sql = this.#sqlByCount.get(rows.length);
    if (sql !== undefined) return CompiledQuery.raw(sql, valuesOf(rows));
    const compiled = this.db.insertInto('transfer_history').values(rows).compile();
    // Kept only when the values are laid out as valuesOf lays them out (row after row, each in
    // ROW_COLUMNS order); otherwise every batch of this size is compiled in full.
    if (sameValues(compiled.parameters, valuesOf(rows))) this.#sqlByCount.set(rows.length, compiled.sql);
    return compiled;
  }
}

/** Column order of every history row (toRow builds them all alike). */
const ROW_COLUMNS = [
  'transfer_id',
  'component',
  'protocol',
  'account',
  'remote_address',
  'path',
  'direction',
  'bytes',
  'size',
  'outcome',
  'reason',
  'started_at',
  'ended_at',
] as const satisfies readonly (keyof HistoryRow)[];

function valuesOf(rows: HistoryRow[]): unknown[] {
  const values: unknown[] = [];
  for (const row of rows) for (const column of ROW_COLUMNS) values.push(row[column]);
  return values;
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
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
