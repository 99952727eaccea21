import type { EventQuery, HistoryQuery, Store } from '@ferry/core';
import type { FastifyInstance } from 'fastify';
import type { NodeControl } from '../control.js';
import { errors, listOf } from '../schemas.js';

const limit = { type: 'integer', minimum: 1, maximum: 10_000, default: 100 };

const historyQuery = {
  type: 'object',
  properties: {
    limit,
    component: { type: 'string', minLength: 1 },
    account: { type: 'string', minLength: 1 },
    outcome: { type: 'string', enum: ['completed', 'interrupted', 'failed'] },
    since: { type: 'string', format: 'date-time', description: 'Only transfers that ended at or after this instant.' },
  },
  additionalProperties: false,
};

const eventQuery = {
  type: 'object',
  properties: { limit, component: { type: 'string', minLength: 1 } },
  additionalProperties: false,
};

/** What is moving now (from the supervisor) and what happened (from the store). */
export function activityRoutes(app: FastifyInstance, control: NodeControl, store: Store): void {
  app.get('/api/v1/transfers', {
    schema: { tags: ['transfers'], summary: 'Every active transfer on the node', response: { 200: listOf('TransferSnapshot'), ...errors(401, 500) } },
    handler: async () => control.transfers(),
  });

  app.get<{ Querystring: HistoryQuery }>('/api/v1/history', {
    schema: {
      tags: ['transfers'],
      summary: 'Finished transfers, newest first',
      querystring: historyQuery,
      response: { 200: listOf('TransferRecord'), ...errors(400, 401, 500) },
    },
    handler: async (request) => store.history.list(request.query),
  });

  app.get<{ Querystring: EventQuery }>('/api/v1/events', {
    schema: {
      tags: ['events'],
      summary: 'Lifecycle events (state changes, commands), newest first',
      querystring: eventQuery,
      response: { 200: listOf('LifecycleEvent'), ...errors(400, 401, 500) },
    },
    handler: async (request) => store.events.list(request.query),
  });
}
