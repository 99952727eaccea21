import { sql, type Generated, type Kysely, type Selectable } from 'kysely';
import { badRequest, checkInstant, checkLimit, checkText } from './checks.js';
import { storeCall } from './guard.js';
import { toNumber, type Database } from './schema.js';
import type { StoreEngine } from './types.js';

/**
 * The transaction manager's durable job queue (migration 0003_jobs), shared by every node of a
 * cluster. A worker claims the oldest due job with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`,
 * so nodes never wait on each other's claims; SQLite: one writer at a time, so the claim is one
 * atomic UPDATE). Every state change names the worker that holds the claim, so a worker whose lease
 * was taken over cannot complete a job twice.
 */

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';
export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'done', 'failed'];

export interface Job {
  id: number;
  kind: string;
  payload: Record<string, unknown>;
  status: JobStatus;
  dedupeKey: string | null;
  /** Claims so far, the running one included. */
  attempts: number;
  maxAttempts: number;
  /** ISO-8601: not claimed before this instant (retry backoff, scheduled start). */
  runAfter: string;
  claimedBy: string | null;
  claimedUntil: string | null;
  lastError: string | null;
  result: Record<string, unknown> | null;
  /** The job whose step enqueued this one. */
  parentId: number | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface NewJob {
  kind: string;
  payload: Record<string, unknown>;
  /** A second enqueue with the same key returns the first job instead of adding one. */
  dedupeKey?: string;
  runAfter?: string;
  /** Default 5. */
  maxAttempts?: number;
  parentId?: number;
}

export interface JobQuery {
  status?: JobStatus;
  kind?: string;
  /** 1–10000, default 100. */
  limit?: number;
}

export interface ClaimOptions {
  worker: string;
  leaseMs: number;
  now?: Date;
}

export interface JobStore {
  enqueue(job: NewJob): Promise<{ job: Job; created: boolean }>;
  /** The oldest due queued job, or one whose lease ran out, now running under `worker`. */
  claim(options: ClaimOptions): Promise<Job | undefined>;
  /** Up to `limit` such jobs in one statement (a pool with several free workers). */
  claimMany(options: ClaimOptions & { limit: number }): Promise<Job[]>;
  /** Extends the lease of a running job; false when `worker` no longer holds it. */
  extend(id: number, worker: string, leaseMs: number): Promise<boolean>;
  /**
   * Marks the job done and enqueues the jobs it leads to, in one transaction: either both happen or
   * neither, so a crash between them cannot lose the next step or run this one twice.
   */
  complete(id: number, worker: string, result?: Record<string, unknown>, next?: readonly NewJob[]): Promise<boolean>;
  /** A failed attempt to be retried at `runAfter`. */
  retry(id: number, worker: string, error: string, runAfter: string): Promise<boolean>;
  /** Gives up: the job stays `failed` (an operator may requeue it). */
  fail(id: number, worker: string, error: string): Promise<boolean>;
  /** Back to the queue without counting the attempt: the job was cut by a drain, not by a fault. */
  release(id: number, worker: string, reason: string): Promise<boolean>;
  /** Requeues every job still running under `worker` (its previous process died). */
  recover(worker: string): Promise<number>;
  /** Puts a failed job back in the queue with fresh attempts. */
  requeue(id: number): Promise<Job | undefined>;
  get(id: number): Promise<Job | undefined>;
  /** Newest first. */
  list(query?: JobQuery): Promise<Job[]>;
  counts(): Promise<Record<JobStatus, number>>;
}

type JobsTable = {
  id: Generated<number | string>;
  kind: string;
  payload: string;
  status: string;
  dedupe_key: string | null;
  attempts: number;
  max_attempts: number;
  run_after: string;
  claimed_by: string | null;
  claimed_until: string | null;
  last_error: string | null;
  result: string | null;
  parent_id: number | string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
};

type JobRow = Selectable<JobsTable>;
type JobsDb = Kysely<Database & { jobs: JobsTable }>;

const MAX_TEXT = 4096;
const MAX_ERROR = 2000;
const DEFAULT_ATTEMPTS = 5;

export function jobStore(base: Kysely<Database>, engine: StoreEngine): JobStore {
  const db: JobsDb = base.withTables<{ jobs: JobsTable }>();
  const iso = (date = new Date()) => date.toISOString();
  const later = (ms: number, from = Date.now()) => new Date(from + ms).toISOString();

  /** Updates a running job only while `worker` holds it. */
  const whileHeld = (tx: JobsDb, id: number, worker: string, set: Partial<JobsTable>) =>
    tx
      .updateTable('jobs')
      .set({ ...set, updated_at: iso() } as never)
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('claimed_by', '=', worker)
      .executeTakeFirst()
      .then((result) => Number(result.numUpdatedRows) === 1);

  const insert = async (tx: JobsDb, job: NewJob): Promise<{ job: Job; created: boolean }> => {
    const now = iso();
        const row = {
          kind: checkText('kind', job.kind, 64),
          payload: JSON.stringify(job.payload),
          status: 'queued',
          dedupe_key: job.dedupeKey === undefined ? null : checkText('dedupeKey', job.dedupeKey, MAX_TEXT),
          attempts: 0,
          max_attempts: checkAttempts(job.maxAttempts ?? DEFAULT_ATTEMPTS),
          run_after: job.runAfter === undefined ? now : checkInstant('runAfter', job.runAfter),
          parent_id: job.parentId ?? null,
          created_at: now,
          updated_at: now,
        };
        const inserted = await tx
          .insertInto('jobs')
          .values(row)
          .onConflict((oc) => oc.column('dedupe_key').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (inserted) return { job: toJob(inserted), created: true };
        const existing = await tx.selectFrom('jobs').selectAll().where('dedupe_key', '=', row.dedupe_key).executeTakeFirstOrThrow();
        return { job: toJob(existing), created: false };
  };

  const claim = async ({ worker, leaseMs, now = new Date(), limit }: ClaimOptions & { limit: number }): Promise<Job[]> => {
    const at = iso(now);
    let due = db
      .selectFrom('jobs')
      .select('id')
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'queued'), eb('run_after', '<=', at)]),
          // A worker that died holding a job: its lease ran out, anyone may take the job over.
          eb.and([eb('status', '=', 'running'), eb('claimed_until', '<', at)]),
        ]),
      )
      .orderBy('run_after')
      .orderBy('id')
      .limit(limit);
    if (engine === 'postgres') due = due.forUpdate().skipLocked();
    const rows = await db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        claimed_by: worker,
        claimed_until: later(leaseMs, now.getTime()),
        attempts: eb('attempts', '+', 1),
        updated_at: at,
      }))
      .where('id', 'in', due)
      .returningAll()
      .execute();
    return rows.map(toJob).sort((a, b) => (a.runAfter < b.runAfter ? -1 : a.runAfter > b.runAfter ? 1 : a.id - b.id));
  };

  return {
    enqueue: (job) => storeCall('enqueue job', () => insert(db, job)),

    claim: (options) => storeCall('claim job', async () => (await claim({ ...options, limit: 1 }))[0]),

    claimMany: (options) => storeCall('claim jobs', () => claim(options)),

    extend: (id, worker, leaseMs) => storeCall('extend job lease', () => whileHeld(db, id, worker, { claimed_until: later(leaseMs) })),

    complete: (id, worker, result, next = []) =>
      storeCall('complete job', async () => {
        const done = { status: 'done', claimed_until: null, result: result === undefined ? null : JSON.stringify(result), finished_at: iso() };
        if (next.length === 0) return whileHeld(db, id, worker, done);
        return db.transaction().execute(async (tx) => {
          // Lost the claim: nothing of this attempt counts, its next jobs included.
          if (!(await whileHeld(tx, id, worker, done))) return false;
          for (const job of next) await insert(tx, job);
          return true;
        });
      }),

    retry: (id, worker, error, runAfter) =>
      storeCall('retry job', () =>
        whileHeld(db, id, worker, {
          status: 'queued',
          claimed_by: null,
          claimed_until: null,
          last_error: error.slice(0, MAX_ERROR),
          run_after: checkInstant('runAfter', runAfter),
        }),
      ),

    fail: (id, worker, error) =>
      storeCall('fail job', () =>
        whileHeld(db, id, worker, { status: 'failed', claimed_until: null, last_error: error.slice(0, MAX_ERROR), finished_at: iso() }),
      ),

    release: (id, worker, reason) =>
      storeCall('release job', async () => {
        const released = await db
          .updateTable('jobs')
          .set((eb) => ({
            status: 'queued',
            claimed_by: null,
            claimed_until: null,
            attempts: eb('attempts', '-', 1),
            last_error: reason.slice(0, MAX_ERROR),
            updated_at: iso(),
          }))
          .where('id', '=', id)
          .where('status', '=', 'running')
          .where('claimed_by', '=', worker)
          .executeTakeFirst();
        return Number(released.numUpdatedRows) === 1;
      }),

    recover: (worker) =>
      storeCall('recover jobs', async () => {
        const result = await db
          .updateTable('jobs')
          .set({ status: 'queued', claimed_by: null, claimed_until: null, last_error: 'worker restarted while the job ran', updated_at: iso() })
          .where('status', '=', 'running')
          .where('claimed_by', '=', worker)
          .executeTakeFirst();
        return Number(result.numUpdatedRows);
      }),

    requeue: (id) =>
      storeCall('requeue job', async () => {
        const row = await db
          .updateTable('jobs')
          .set({ status: 'queued', attempts: 0, run_after: iso(), claimed_by: null, claimed_until: null, finished_at: null, updated_at: iso() })
          .where('id', '=', id)
          .where('status', '=', 'failed')
          .returningAll()
          .executeTakeFirst();
        return row ? toJob(row) : undefined;
      }),

    get: (id) =>
      storeCall('get job', async () => {
        const row = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
        return row ? toJob(row) : undefined;
      }),

    list: (query = {}) =>
      storeCall('list jobs', async () => {
        let select = db.selectFrom('jobs').selectAll();
        if (query.status !== undefined) select = select.where('status', '=', checkStatus(query.status));
        if (query.kind !== undefined) select = select.where('kind', '=', query.kind);
        const rows = await select.orderBy('id', 'desc').limit(checkLimit(query.limit)).execute();
        return rows.map(toJob);
      }),

    counts: () =>
      storeCall('count jobs', async () => {
        const rows = await db
          .selectFrom('jobs')
          .select(['status', sql<number | string>`count(*)`.as('n')])
          .groupBy('status')
          .execute();
        const counts: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, failed: 0 };
        for (const row of rows) if (isStatus(row.status)) counts[row.status] = toNumber(row.n);
        return counts;
      }),
  };
}

function isStatus(value: string): value is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(value);
}

function checkStatus(value: string): JobStatus {
  if (!isStatus(value)) throw badRequest(`status must be one of ${JOB_STATUSES.join(', ')}`, { field: 'status', value, allowed: JOB_STATUSES });
  return value;
}

function checkAttempts(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 1000) {
    throw badRequest('maxAttempts must be an integer from 1 to 1000', { field: 'maxAttempts', value });
  }
  return value;
}

function parseObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  const value: unknown = JSON.parse(text);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
}

function toJob(row: JobRow): Job {
  return {
    id: toNumber(row.id),
    kind: row.kind,
    payload: parseObject(row.payload) ?? {},
    status: isStatus(row.status) ? row.status : 'failed',
    dedupeKey: row.dedupe_key,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAfter: row.run_after,
    claimedBy: row.claimed_by,
    claimedUntil: row.claimed_until,
    lastError: row.last_error,
    result: parseObject(row.result),
    parentId: row.parent_id === null ? null : toNumber(row.parent_id),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}
