import type { Kysely, Migration } from 'kysely';
import type { WithId } from './ids.js';

/** Accounts, SSH keys, admin users and tokens, transfer history, lifecycle events. */
export const initial = (withId: WithId): Migration => ({
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
});
