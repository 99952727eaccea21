import type { Kysely, Selectable } from 'kysely';
import { badRequest, checkLimit, checkText } from './checks.js';
import { storeCall } from './guard.js';
import type { Database, LifecycleEventTable } from './schema.js';
import type { EventQuery, EventStore, LifecycleEvent, NewLifecycleEvent } from './types.js';

const MAX_TEXT = 256;

/** Lifecycle events (`state:draining`, `stop:requested`, …) kept for the admin API and the web page. */
export function eventStore(db: Kysely<Database>): EventStore {
  return {
    record: (event: NewLifecycleEvent) =>
      storeCall('record event', async () => {
        const detail = event.detail ?? {};
        if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
          throw badRequest('event detail must be an object', { field: 'detail' });
        }
        const row = await db
          .insertInto('lifecycle_events')
          .values({
            component: checkText('component', event.component, MAX_TEXT),
            event: checkText('event', event.event, MAX_TEXT),
            detail: JSON.stringify(detail),
            at: new Date().toISOString(),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toEvent(row);
      }),

    list: (query: EventQuery = {}) =>
      storeCall('list events', async () => {
        const limit = checkLimit(query.limit);
        let select = db.selectFrom('lifecycle_events').selectAll();
        if (query.component !== undefined) select = select.where('component', '=', query.component);
        const rows = await select.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
        return rows.map(toEvent);
      }),
  };
}

function toEvent(row: Selectable<LifecycleEventTable>): LifecycleEvent {
  return { id: row.id, component: row.component, event: row.event, detail: JSON.parse(row.detail) as Record<string, unknown>, at: row.at };
}
