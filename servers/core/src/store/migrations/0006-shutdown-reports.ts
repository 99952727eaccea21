import type { Kysely, Migration } from 'kysely';
import type { WithId } from './ids.js';

/**
 * Node-level shutdown reports (store/shutdown-reports.ts): one row per plan, rewritten as the plan
 * progresses so that a node killed mid-plan still leaves what it had done. The steps and messages
 * are one JSON document (`body`); the columns beside it are what the list is filtered and sorted by.
 */
export const shutdownReports = (withId: WithId): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await withId(db.schema.createTable('shutdown_reports'))
      .addColumn('plan_id', 'text', (col) => col.notNull().unique())
      .addColumn('mode', 'text', (col) => col.notNull())
      .addColumn('status', 'text', (col) => col.notNull())
      .addColumn('requested_at', 'text', (col) => col.notNull())
      .addColumn('finished_at', 'text')
      .addColumn('body', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .execute();
    await db.schema.createIndex('shutdown_reports_requested').on('shutdown_reports').columns(['requested_at', 'id']).execute();
    // The tm's part of a report reads `job:released` events by component and time.
    await db.schema.createIndex('lifecycle_events_event_at').on('lifecycle_events').columns(['event', 'at']).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('lifecycle_events_event_at').ifExists().execute();
    await db.schema.dropTable('shutdown_reports').ifExists().execute();
  },
});
