import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { NodeControl, StopRequest } from '../control.js';
import { componentIdParams, described, errors, listOf, ref } from '../schemas.js';

interface IdParams {
  id: string;
}

const timeoutSeconds = {
  type: 'number',
  minimum: 0,
  description: "Drain timeout in seconds; default: the component's gracefulShutdownTimeout.",
};

const stopBody = {
  type: 'object',
  properties: {
    graceful: { type: 'boolean', default: true, description: 'Drain first (true) or abort everything now (false).' },
    timeout: timeoutSeconds,
  },
  additionalProperties: false,
};

const suspendBody = { type: 'object', properties: { timeout: timeoutSeconds }, additionalProperties: false };

/** A command returns as soon as the component has been told: progress is read with GET. */
const accepted = { 202: described('Under way: the component as it is now', ref('ComponentView')), ...errors(400, 401, 404, 409, 500) };

/** A command body is optional: `curl -X POST …/stop` with no body means all defaults. */
async function emptyBodyIsDefaults(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

const toMs = (seconds: number | undefined): number | undefined => (seconds === undefined ? undefined : Math.round(seconds * 1000));

export function componentRoutes(app: FastifyInstance, control: NodeControl): void {
  app.get('/api/v1/node', {
    schema: { tags: ['node'], summary: 'The node: state, pid, start time, version', response: { 200: ref('NodeView'), ...errors(401) } },
    handler: async () => control.node(),
  });

  app.get('/api/v1/components', {
    schema: { tags: ['components'], summary: 'Every configured component', response: { 200: listOf('ComponentView'), ...errors(401, 500) } },
    handler: async () => control.components(),
  });

  app.get<{ Params: IdParams }>('/api/v1/components/:id', {
    schema: {
      tags: ['components'],
      summary: 'One component, with its active transfers and drain deadline',
      params: componentIdParams,
      response: { 200: ref('ComponentView'), ...errors(400, 401, 404, 500) },
    },
    handler: async (request) => control.component(request.params.id),
  });

  app.post<{ Params: IdParams }>('/api/v1/components/:id/start', {
    schema: { tags: ['components'], summary: 'Start a stopped or failed component', params: componentIdParams, response: accepted },
    handler: async (request, reply) => {
      request.log.info({ event: 'admin.command', command: 'start', target: request.params.id, by: request.admin?.label }, `start ${request.params.id} requested`);
      return reply.status(202).send(await control.start(request.params.id));
    },
  });

  app.post<{ Params: IdParams; Body: { graceful?: boolean; timeout?: number } }>('/api/v1/components/:id/stop', {
    schema: {
      tags: ['components'],
      summary: 'Stop a component: gracefully (drain, then stop) by default, or immediately',
      description: 'Returns once the stop is under way; follow it with GET /api/v1/components/{id}. Stopping a stopped component is a no-op.',
      params: componentIdParams,
      body: stopBody,
      response: accepted,
    },
    preValidation: emptyBodyIsDefaults,
    handler: async (request, reply) => {
      const { id } = request.params;
      const graceful = request.body.graceful ?? true;
      const timeoutMs = toMs(request.body.timeout);
      const stop: StopRequest = graceful && timeoutMs !== undefined ? { graceful, timeoutMs } : { graceful };
      request.log.info({ event: 'admin.command', command: 'stop', target: id, ...stop, by: request.admin?.label }, `${graceful ? 'graceful' : 'immediate'} stop of ${id} requested`);
      return reply.status(202).send(await control.stop(id, stop));
    },
  });

  app.post<{ Params: IdParams; Body: { timeout?: number } }>('/api/v1/components/:id/suspend', {
    schema: {
      tags: ['components'],
      summary: 'Suspend: drain, then hold drained until resume or stop',
      params: componentIdParams,
      body: suspendBody,
      response: accepted,
    },
    preValidation: emptyBodyIsDefaults,
    handler: async (request, reply) => {
      const { id } = request.params;
      const timeoutMs = toMs(request.body.timeout);
      request.log.info({ event: 'admin.command', command: 'suspend', target: id, timeoutMs, by: request.admin?.label }, `suspend of ${id} requested`);
      return reply.status(202).send(await control.suspend(id, timeoutMs === undefined ? {} : { timeoutMs }));
    },
  });

  app.post<{ Params: IdParams }>('/api/v1/components/:id/resume', {
    schema: {
      tags: ['components'],
      summary: 'Resume a draining or drained component (cancels a graceful stop or ends a suspension)',
      params: componentIdParams,
      response: accepted,
    },
    handler: async (request, reply) => {
      request.log.info({ event: 'admin.command', command: 'resume', target: request.params.id, by: request.admin?.label }, `resume of ${request.params.id} requested`);
      return reply.status(202).send(await control.resume(request.params.id));
    },
  });
}
