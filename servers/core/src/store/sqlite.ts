import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase as DialectDatabase } from 'kysely';
import { FerryError } from '../errors.js';
import { asStoreError, isSqliteBusy } from './guard.js';
import { migrateToLatest } from './migrate.js';
import type { Database } from './schema.js';

export const MEMORY = ':memory:';

/** How long one statement waits for another process's write lock before failing. */
const BUSY_TIMEOUT_MS = 5000;
/** How long opening waits for another process that is switching to WAL or migrating. */
const OPEN_LOCK_WAIT_MS = 60_000;
const OPEN_LOCK_POLL_MS = 20;
/** Prepared statements kept per connection (the INSERT of a history batch has one per row count). */
const STATEMENTS_KEPT = 128;

/**
 * Opens an SQLite store. The supervisor and every forked daemon open the same file, often at the
 * same moment, so: WAL (readers never block the writer), a busy timeout for ordinary statements,
 * and the two steps that need the file to themselves — switching to WAL and migrating — retried
 * asynchronously until the other process is done.
 */
export async function openSqlite(file: string): Promise<Kysely<Database>> {
  let raw: SqliteDatabase.Database;
  try {
    if (file !== MEMORY) mkdirSync(dirname(file), { recursive: true });
    raw = new SqliteDatabase(file, { timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw asStoreError(`open ${file}`, err);
  }
  try {
    raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    raw.pragma('foreign_keys = ON');
    if (file !== MEMORY) await useWal(raw, file);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: keepingStatements(raw) }) });
    await migrateHoldingWriteLock(raw, db);
    return db;
  } catch (err) {
    raw.close();
    throw asStoreError(`open ${file}`, err);
  }
}

/**
 * The connection as Kysely sees it, with its statements prepared once and reused: Kysely asks
 * better-sqlite3 to prepare every query anew, and SQLite then parses and plans the same SQL again
 * each time (a history batch's multi-row INSERT, written every 25 ms while small files flow, was a
 * tenth of a millisecond of that). A statement still being iterated is not handed out twice.
 */
export function keepingStatements(raw: SqliteDatabase.Database): DialectDatabase {
  const kept = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => raw.close(),
    prepare(sql) {
      const known = kept.get(sql);
      if (known !== undefined && !known.busy) return known;
      const statement = raw.prepare(sql);
      if (known === undefined) {
        if (kept.size >= STATEMENTS_KEPT) kept.delete(kept.keys().next().value as string);
        kept.set(sql, statement);
      }
      return statement;
    },
  };
}

async function useWal(raw: SqliteDatabase.Database, file: string): Promise<void> {
  // WAL is a property of the file: once one process has switched it, the others only read it back.
  if (raw.pragma('journal_mode', { simple: true }) === 'wal') return;
  const mode = await whenNotBusy(raw, () => raw.pragma('journal_mode = WAL', { simple: true }));
  if (mode !== 'wal') {
    throw new FerryError('FERRY_ERR_STORE', `store: ${file} cannot use WAL (journal mode stays "${String(mode)}"); put it on a local filesystem`, {
      details: { operation: 'open', file, journalMode: mode },
    });
  }
}

/**
 * SQLite has no migration lock in Kysely (it assumes one connection), and its DDL runs outside a
 * transaction there, so two processes migrating a new file would both create the same tables. An
 * IMMEDIATE transaction around the whole run makes them take turns: the second one finds the
 * migrations already recorded. Kysely uses this same single connection, so its statements run
 * inside that transaction.
 */
async function migrateHoldingWriteLock(raw: SqliteDatabase.Database, db: Kysely<Database>): Promise<void> {
  await whenNotBusy(raw, () => raw.exec('BEGIN IMMEDIATE'));
  try {
    await migrateToLatest(db as Kysely<unknown>, 'sqlite');
    raw.exec('COMMIT');
  } catch (err) {
    if (raw.inTransaction) raw.exec('ROLLBACK');
    throw err;
  }
}

/**
 * Retries a lock-taking step while another connection holds the lock. The busy timeout is turned off
 * meanwhile: better-sqlite3 waits synchronously, which would freeze the event loop — and deadlock a
 * second store opened on the same file in this very process, which could then never let go.
 */
async function whenNotBusy<T>(raw: SqliteDatabase.Database, step: () => T): Promise<T> {
  const deadline = Date.now() + OPEN_LOCK_WAIT_MS;
  raw.pragma('busy_timeout = 0');
  try {
    for (;;) {
      try {
        return step();
      } catch (err) {
        if (!isSqliteBusy(err) || Date.now() >= deadline) throw err;
        await sleep(OPEN_LOCK_POLL_MS);
      }
    }
  } finally {
    raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}
