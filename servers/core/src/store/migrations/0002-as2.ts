import type { Kysely, Migration } from 'kysely';
import type { WithId } from './ids.js';

/**
 * AS2 message state (store/as2.ts): received Message-IDs (duplicates), sent messages and their MDN
 * outcome, and asynchronous MDNs waiting to be delivered.
 */
export const as2 = (withId: WithId): Migration => ({
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
});
