import type { Kysely, Migration } from 'kysely';
import type { WithId } from './ids.js';

/**
 * AS2 trading partners managed through the admin API (store/as2-partners.ts): their certificate
 * is kept as PEM text rather than a file path, so that every node sharing the store sees the same
 * partner, and a change needs no file on any node's disk.
 */
export const as2Partners = (withId: WithId): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await withId(db.schema.createTable('as2_partners'))
      .addColumn('as2_id', 'varchar(128)', (col) => col.notNull().unique())
      .addColumn('certificate', 'text', (col) => col.notNull())
      .addColumn('url', 'text')
      .addColumn('inbox', 'text', (col) => col.notNull())
      .addColumn('require_signature', 'integer', (col) => col.notNull())
      .addColumn('require_encryption', 'integer', (col) => col.notNull())
      // JSON arrays of algorithm names: read whole, never queried by element.
      .addColumn('accept_encryption', 'text', (col) => col.notNull())
      .addColumn('accept_signature', 'text', (col) => col.notNull())
      .addColumn('send_encryption', 'text', (col) => col.notNull())
      .addColumn('send_key_transport', 'text', (col) => col.notNull())
      .addColumn('send_signature', 'text', (col) => col.notNull())
      .addColumn('send_compression', 'text', (col) => col.notNull())
      .addColumn('send_mdn', 'text', (col) => col.notNull())
      .addColumn('send_signed_mdn', 'integer', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('as2_partners').ifExists().execute();
  },
});
