import type { Kysely, Selectable } from 'kysely';
import { checkInstant, checkText } from './checks.js';
import { storeCall } from './guard.js';
import type { Database } from './schema.js';

/**
 * What the scheduler remembers per schedule (migration 0005_schedules), shared by every node of a
 * cluster. `coveredUntil` is the instant up to which every fire time has been dealt with: enqueued,
 * or dropped by the misfire policy. After a suspension, a stop or a crash the fires owed are the
 * schedule's fire times after it. Both instants only ever move forward, so nodes that fire the same
 * schedule concurrently (the job's dedupe key keeps the enqueue single) cannot move them back.
 */

export interface ScheduleState {
  name: string;
  /** ISO-8601: every fire time up to and including this instant has been dealt with. */
  coveredUntil: string;
  /** ISO-8601 fire time of the latest job enqueued; null before the first fire. */
  lastFireAt: string | null;
  updatedAt: string;
}

export interface ScheduleStore {
  /**
   * The state of a schedule. The first call for a name starts its record at `now`: nothing is owed
   * from before the schedule existed.
   */
  track(name: string, now: string): Promise<ScheduleState>;
  /**
   * Every fire time up to `coveredUntil` is dealt with; `lastFireAt` is the fire time of the latest
   * job enqueued by this step, if any. Neither instant moves back.
   */
  advance(name: string, coveredUntil: string, lastFireAt: string | null): Promise<void>;
  get(name: string): Promise<ScheduleState | undefined>;
  /** Ordered by name. */
  list(): Promise<ScheduleState[]>;
}

type SchedulesTable = {
  name: string;
  covered_until: string;
  last_fire_at: string | null;
  updated_at: string;
};

const MAX_NAME = 128;

export function scheduleStore(base: Kysely<Database>): ScheduleStore {
  const db = base.withTables<{ schedules: SchedulesTable }>();
  const read = (name: string) => db.selectFrom('schedules').selectAll().where('name', '=', name).executeTakeFirst();

  return {
    track: (name, now) =>
      storeCall('track schedule', async () => {
        const row = { name: checkText('name', name, MAX_NAME), covered_until: checkInstant('now', now), last_fire_at: null, updated_at: new Date().toISOString() };
        // Another node may insert the same name at the same moment: the first row wins, both read it.
        await db.insertInto('schedules').values(row).onConflict((oc) => oc.column('name').doNothing()).execute();
        const stored = await read(row.name);
        return toState(stored ?? row);
      }),

    advance: (name, coveredUntil, lastFireAt) =>
      storeCall('advance schedule', async () => {
        const row = {
          name: checkText('name', name, MAX_NAME),
          covered_until: checkInstant('coveredUntil', coveredUntil),
          last_fire_at: lastFireAt === null ? null : checkInstant('lastFireAt', lastFireAt),
          updated_at: new Date().toISOString(),
        };
        await db
          .insertInto('schedules')
          .values(row)
          .onConflict((oc) =>
            oc.column('name').doUpdateSet((eb) => ({
              // ISO-8601 UTC text sorts chronologically, so "later of the two" is a text comparison.
              covered_until: eb
                .case()
                .when('schedules.covered_until', '<', eb.ref('excluded.covered_until'))
                .then(eb.ref('excluded.covered_until'))
                .else(eb.ref('schedules.covered_until'))
                .end(),
              last_fire_at: eb
                .case()
                .when(
                  eb.and([
                    eb('excluded.last_fire_at', 'is not', null),
                    eb.or([eb('schedules.last_fire_at', 'is', null), eb('schedules.last_fire_at', '<', eb.ref('excluded.last_fire_at'))]),
                  ]),
                )
                .then(eb.ref('excluded.last_fire_at'))
                .else(eb.ref('schedules.last_fire_at'))
                .end(),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }),

    get: (name) =>
      storeCall('get schedule', async () => {
        const row = await read(name);
        return row ? toState(row) : undefined;
      }),

    list: () =>
      storeCall('list schedules', async () => {
        const rows = await db.selectFrom('schedules').selectAll().orderBy('name').execute();
        return rows.map(toState);
      }),
  };
}

function toState(row: Selectable<SchedulesTable>): ScheduleState {
  return { name: row.name, coveredUntil: row.covered_until, lastFireAt: row.last_fire_at, updatedAt: row.updated_at };
}
