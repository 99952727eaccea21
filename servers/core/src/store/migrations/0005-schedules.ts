import type { Kysely, Migration } from 'kysely';

/**
 * The scheduler's memory (store/schedules.ts): per schedule name, up to which instant every fire
 * time has been dealt with (enqueued, or skipped by the misfire policy) and when it last fired.
 * Shared by every node of a cluster, so that a node resuming after others kept firing owes nothing.
 * Keyed by name, no surrogate id: a schedule is its name in ferry.yaml.
 */
export const schedules = (): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('schedules')
      .addColumn('name', 'varchar(128)', (col) => col.primaryKey())
      .addColumn('covered_until', 'text', (col) => col.notNull())
      .addColumn('last_fire_at', 'text')
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('schedules').ifExists().execute();
  },
});
