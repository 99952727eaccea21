import { Migrator, type Kysely } from 'kysely';
import { FerryError } from '../errors.js';
import { migrationsFor } from './migrations/index.js';
import type { StoreEngine } from './types.js';

/** Ferry's own names, so that the bookkeeping tables say whose they are in a shared database. */
export const MIGRATION_TABLE = 'ferry_migrations';
export const MIGRATION_LOCK_TABLE = 'ferry_migrations_lock';

/**
 * Brings the schema up to date. On PostgreSQL the migrator holds an advisory lock and a transaction,
 * so concurrent nodes take turns; on SQLite the caller holds the write lock around this call.
 */
export async function migrateToLatest(db: Kysely<unknown>, engine: StoreEngine): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrationsFor(engine) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    const what = failed === undefined ? 'migration' : `migration ${failed}`;
    throw new FerryError('FERRY_ERR_STORE', `store: ${what} failed: ${reason}`, {
      cause: error,
      details: { operation: 'migrate', engine, ...(failed === undefined ? {} : { migration: failed }) },
    });
  }
}
