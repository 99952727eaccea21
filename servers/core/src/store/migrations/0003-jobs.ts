import type { Kysely, Migration } from 'kysely';
import type { WithId } from './ids.js';

/**
 * The transaction manager's durable job queue (store/jobs.ts). `dedupe_key` is unique so that an
 * enqueue repeated after a crash (the routing of one upload, one scheduled fire, the next step of
 * a job that ran twice) yields the job that exists instead of a second one.
 */
export const jobs = (withId: WithId): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await withId(db.schema.createTable('jobs'), 'id', true)
      .addColumn('kind', 'text', (col) => col.notNull())
      .addColumn('payload', 'text', (col) => col.notNull())
      .addColumn('status', 'text', (col) => col.notNull())
      .addColumn('dedupe_key', 'text', (col) => col.unique())
      .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (col) => col.notNull())
      .addColumn('run_after', 'text', (col) => col.notNull())
      .addColumn('claimed_by', 'text')
      .addColumn('claimed_until', 'text')
      .addColumn('last_error', 'text')
      .addColumn('result', 'text')
      .addColumn('parent_id', 'bigint')
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addColumn('finished_at', 'text')
      .execute();
    // The claim query: the oldest due job that waits.
    await db.schema.createIndex('jobs_due').on('jobs').columns(['status', 'run_after', 'id']).execute();
    await db.schema.createIndex('jobs_claimed_by').on('jobs').columns(['claimed_by', 'status']).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('jobs').ifExists().execute();
  },
});
