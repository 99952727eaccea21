import type { Store } from '@ferry/core';
import type { FastifyInstance } from 'fastify';
import { errors } from '../schemas.js';

/** A configured schedule as the node describes it (the scheduler's own config, with its next fire). */
export interface ScheduleView {
  name: string;
  cron: string;
  timezone: string | null;
  misfire: 'skip' | 'once' | 'all';
  kind: string;
  nextFire: string | null;
}

const nullableText = { type: ['string', 'null'] };

/** The scheduler's schedules: from the config, with what the store remembers of their fires. */
export function scheduleRoutes(app: FastifyInstance, store: Store, schedules: () => readonly ScheduleView[]): void {
  app.get('/api/v1/schedules', {
    schema: {
      tags: ['jobs'],
      summary: "The scheduler's schedules: next fire, last fire, and up to when missed fires are dealt with",
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'cron', 'timezone', 'misfire', 'kind', 'nextFire', 'lastFireAt', 'coveredUntil'],
            properties: {
              name: { type: 'string' },
              cron: { type: 'string' },
              timezone: nullableText,
              misfire: { type: 'string', enum: ['skip', 'once', 'all'] },
              kind: { type: 'string' },
              nextFire: nullableText,
              lastFireAt: { ...nullableText, description: 'The fire time of the latest job enqueued.' },
              coveredUntil: { ...nullableText, description: 'Every fire time up to this instant has been enqueued or skipped by its misfire policy.' },
            },
          },
        },
        ...errors(401, 500),
      },
    },
    handler: async () => {
      const remembered = new Map((await store.schedules.list()).map((state) => [state.name, state]));
      return schedules().map((schedule) => {
        const state = remembered.get(schedule.name);
        return { ...schedule, lastFireAt: state?.lastFireAt ?? null, coveredUntil: state?.coveredUntil ?? null };
      });
    },
  });
}
