import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { asStoreError } from './guard.js';
import { migrateToLatest } from './migrate.js';
import type { Database } from './schema.js';

/** Fail the start of a node clearly rather than wait forever for an unreachable database. */
const CONNECT_TIMEOUT_MS = 10_000;
const POOL_SIZE = 10;

export async function openPostgres(url: string, shownUrl: string): Promise<Kysely<Database>> {
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_SIZE,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'ferry',
  });
  // An idle client losing its connection (database restart, network cut) is emitted here; without a
  // listener it would crash the process. The pool drops that client and the next query reconnects.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    // Connect once first, so that an unreachable server is reported as such, not as a failed migration.
    try {
      (await pool.connect()).release();
    } catch (err) {
      throw asStoreError(`connect to ${shownUrl}`, err);
    }
    await migrateToLatest(db as Kysely<unknown>, 'postgres');
    return db;
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw asStoreError(`open ${shownUrl}`, err);
  }
}
