import { Migrator, type CreateTableBuilder, type Kysely, type Migration } from 'kysely';
import { FerryError } from '../errors.js';
import type { StoreEngine } from './types.js';

/**
 * One list of migrations for both engines. Names sort in the order they run; a released migration is
 * never edited, a change is a new entry. The only engine difference is how an auto-increment key is
 * spelled (SQLite `integer primary key autoincrement`, PostgreSQL `serial`/`bigserial`);
 * AUTOINCREMENT is there so that SQLite, like PostgreSQL, never hands a deleted id (say, a revoked
 * admin token's) to a new row.
 */
export function migrationsFor(engine: StoreEngine): Record<string, Migration> {
  const withId = <T extends string>(table: CreateTableBuilder<T, never>, column = 'id', wide = false) =>
    engine === 'postgres'
      ? table.addColumn(column, wide ? 'bigserial' : 'serial', (col) => col.primaryKey())
      : table.addColumn(column, 'integer', (col) => col.primaryKey().autoIncrement());

  return {
    '0001_initial': {
      async up(db: Kysely<unknown>): Promise<void> {
        await withId(db.schema.createTable('accounts'))
          .addColumn('name', 'varchar(64)', (col) => col.notNull().unique())
          .addColumn('password_hash', 'text', (col) => col.notNull())
          .addColumn('home', 'text', (col) => col.notNull())
          .addColumn('enabled', 'integer', (col) => col.notNull().defaultTo(1))
          .addColumn('created_at', 'text', (col) => col.notNull())
          .execute();

        await withId(db.schema.createTable('account_ssh_keys'))
          .addColumn('account_id', 'integer', (col) => col.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('public_key', 'text', (col) => col.notNull())
          .addColumn('fingerprint', 'text', (col) => col.notNull())
          .addColumn('created_at', 'text', (col) => col.notNull())
          .addUniqueConstraint('account_ssh_keys_account_fingerprint', ['account_id', 'fingerprint'])
          .execute();

        await withId(db.schema.createTable('admin_users'))
          .addColumn('name', 'varchar(64)', (col) => col.notNull().unique())
          .addColumn('password_hash', 'text', (col) => col.notNull())
          .addColumn('created_at', 'text', (col) => col.notNull())
          .execute();

        await withId(db.schema.createTable('admin_tokens'))
          .addColumn('label', 'text', (col) => col.notNull())
          .addColumn('token_hash', 'varchar(64)', (col) => col.notNull().unique())
          .addColumn('created_at', 'text', (col) => col.notNull())
          .execute();

        await withId(db.schema.createTable('transfer_history'), 'seq', true)
          .addColumn('transfer_id', 'text', (col) => col.notNull())
          .addColumn('component', 'text', (col) => col.notNull())
          .addColumn('protocol', 'text', (col) => col.notNull())
          .addColumn('account', 'text')
          .addColumn('remote_address', 'text')
          .addColumn('path', 'text', (col) => col.notNull())
          .addColumn('direction', 'text', (col) => col.notNull())
          .addColumn('bytes', 'bigint', (col) => col.notNull())
          .addColumn('size', 'bigint')
          .addColumn('outcome', 'text', (col) => col.notNull())
          .addColumn('reason', 'text')
          .addColumn('started_at', 'text', (col) => col.notNull())
          .addColumn('ended_at', 'text', (col) => col.notNull())
          .execute();
        // The list is read newest first, overall or per component/account/outcome.
        await db.schema.createIndex('transfer_history_ended').on('transfer_history').columns(['ended_at', 'seq']).execute();
        await db.schema
          .createIndex('transfer_history_component_ended')
          .on('transfer_history')
          .columns(['component', 'ended_at'])
          .execute();
        await db.schema.createIndex('transfer_history_account_ended').on('transfer_history').columns(['account', 'ended_at']).execute();
        await db.schema.createIndex('transfer_history_transfer').on('transfer_history').column('transfer_id').execute();

        await withId(db.schema.createTable('lifecycle_events'))
          .addColumn('component', 'text', (col) => col.notNull())
          .addColumn('event', 'text', (col) => col.notNull())
          .addColumn('detail', 'text', (col) => col.notNull())
          .addColumn('at', 'text', (col) => col.notNull())
          .execute();
        await db.schema.createIndex('lifecycle_events_at').on('lifecycle_events').columns(['at', 'id']).execute();
        await db.schema.createIndex('lifecycle_events_component_at').on('lifecycle_events').columns(['component', 'at']).execute();
      },

      async down(db: Kysely<unknown>): Promise<void> {
        for (const table of ['lifecycle_events', 'transfer_history', 'admin_tokens', 'admin_users', 'account_ssh_keys', 'accounts']) {
          await db.schema.dropTable(table).ifExists().execute();
        }
      },
    },

    // AS2 message state (store/as2.ts): received Message-IDs (duplicates), sent messages and their
    // MDN outcome, and asynchronous MDNs waiting to be delivered.
    '0002_as2': {
      async up(db: Kysely<unknown>): Promise<void> {
        await withId(db.schema.createTable('as2_messages'))
          .addColumn('direction', 'text', (col) => col.notNull())
          .addColumn('partner', 'text', (col) => col.notNull())
          .addColumn('message_id', 'text', (col) => col.notNull())
          .addColumn('status', 'text', (col) => col.notNull())
          .addColumn('path', 'text')
          .addColumn('bytes', 'bigint')
          .addColumn('mic', 'text')
          .addColumn('disposition', 'text')
          .addColumn('detail', 'text')
          .addColumn('created_at', 'text', (col) => col.notNull())
          .addColumn('updated_at', 'text', (col) => col.notNull())
          .addUniqueConstraint('as2_messages_direction_partner_message', ['direction', 'partner', 'message_id'])
          .execute();
        await db.schema.createIndex('as2_messages_created').on('as2_messages').columns(['created_at', 'id']).execute();

        await withId(db.schema.createTable('as2_mdn_outbox'))
          .addColumn('partner', 'text', (col) => col.notNull())
          .addColumn('original_message_id', 'text', (col) => col.notNull())
          .addColumn('url', 'text', (col) => col.notNull())
          .addColumn('headers', 'text', (col) => col.notNull())
          .addColumn('body', 'text', (col) => col.notNull())
          .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
          .addColumn('next_attempt_at', 'text', (col) => col.notNull())
          .addColumn('claimed_until', 'text')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'text', (col) => col.notNull())
          .execute();
        await db.schema.createIndex('as2_mdn_outbox_due').on('as2_mdn_outbox').column('next_attempt_at').execute();
      },

      async down(db: Kysely<unknown>): Promise<void> {
        for (const table of ['as2_mdn_outbox', 'as2_messages']) await db.schema.dropTable(table).ifExists().execute();
      },
    },
  };
}

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
