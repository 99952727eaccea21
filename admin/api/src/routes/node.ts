import { FerryError, type NodePlanMessage, type PlanRequester, type Store } from '@ferry/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { NodeControl } from '../control.js';
import { described, errors, listOf, ref } from '../schemas.js';

/**
 * The node as a whole (DESIGN §3): the ordered graceful shutdown, suspend and resume, the event
 * stream of their status messages, and the shutdown reports they leave in the store.
 */

const isoTime = { type: 'string', format: 'date-time' };
const nullableIsoTime = { type: ['string', 'null'], format: 'date-time' };
const nullableString = { type: ['string', 'null'] };

const DrainedTransfer = {
  $id: 'DrainedTransfer',
  type: 'object',
  description: 'A transfer that ended while its component drained.',
  required: ['id', 'path', 'account', 'outcome', 'endedAt'],
  properties: {
    id: { type: 'string' },
    path: { type: 'string' },
    account: nullableString,
    outcome: { type: 'string', enum: ['completed', 'interrupted', 'failed'] },
    endedAt: isoTime,
  },
};

const DrainedJob = {
  $id: 'DrainedJob',
  type: 'object',
  description: 'A job the tm finished (done, failed) or released back to the queue while it drained.',
  required: ['id', 'kind', 'outcome', 'at'],
  properties: { id: { type: 'integer' }, kind: { type: 'string' }, outcome: { type: 'string' }, at: isoTime },
};

const NodePlanComponent = {
  $id: 'NodePlanComponent',
  type: 'object',
  required: ['id', 'kind', 'skipped', 'requestedAt', 'drainStartedAt', 'drainEndedAt', 'finalState', 'transfers', 'jobs'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['protocol', 'intake', 'tm'] },
    skipped: { ...nullableString, description: 'Why the plan left it alone (already stopped…).' },
    requestedAt: nullableIsoTime,
    drainStartedAt: nullableIsoTime,
    drainEndedAt: nullableIsoTime,
    finalState: nullableString,
    transfers: {
      type: 'object',
      required: ['completed', 'cut'],
      properties: { completed: listOf('DrainedTransfer'), cut: listOf('DrainedTransfer') },
    },
    jobs: {
      type: ['object', 'null'],
      description: 'Only for a tm component.',
      properties: { completed: listOf('DrainedJob'), released: listOf('DrainedJob') },
    },
  },
};

const NodePlanStep = {
  $id: 'NodePlanStep',
  type: 'object',
  required: ['name', 'startedAt', 'endedAt', 'components'],
  properties: {
    name: { type: 'string', description: 'pause-monitor, intake, protocol, tm, immediate, resume-monitor, exit' },
    startedAt: nullableIsoTime,
    endedAt: nullableIsoTime,
    components: listOf('NodePlanComponent'),
  },
};

const NodePlan = {
  $id: 'NodePlan',
  type: 'object',
  description: 'One node-level plan: shutdown (pause monitor → intake → protocol daemons → tm → exit), suspend, or resume.',
  required: ['id', 'action', 'mode', 'timeoutMs', 'requestedAt', 'requestedBy', 'status', 'finishedAt', 'steps'],
  properties: {
    id: { type: 'string' },
    action: { type: 'string', enum: ['shutdown', 'suspend', 'resume'] },
    mode: { type: 'string', enum: ['graceful', 'immediate'] },
    timeoutMs: { type: ['integer', 'null'], description: "The request's drain timeout; null: each component's own." },
    requestedAt: isoTime,
    requestedBy: {
      type: 'object',
      required: ['via', 'detail'],
      properties: { via: { type: 'string', enum: ['signal', 'api', 'cli'] }, detail: nullableString },
    },
    status: { type: 'string', enum: ['running', 'done', 'failed'] },
    finishedAt: nullableIsoTime,
    steps: listOf('NodePlanStep'),
  },
};

const NodePlanMessageSchema = {
  $id: 'NodePlanMessage',
  type: 'object',
  description: 'One status message of a node plan (also one event of GET /api/v1/node/events).',
  required: ['seq', 'at', 'plan', 'action', 'type', 'step', 'component', 'level', 'message'],
  properties: {
    seq: { type: 'integer' },
    at: isoTime,
    plan: { type: 'string' },
    action: { type: 'string', enum: ['shutdown', 'suspend', 'resume'] },
    type: {
      type: 'string',
      enum: ['plan:start', 'plan:escalate', 'step:start', 'step:end', 'component:skip', 'component:request', 'component:state', 'plan:end'],
    },
    step: nullableString,
    component: nullableString,
    level: { type: 'string', enum: ['info', 'warn', 'error'] },
    message: { type: 'string' },
  },
};

const ShutdownReport = {
  $id: 'ShutdownReport',
  type: 'object',
  description: 'What a node shutdown did, step by step and component by component; written as the plan goes.',
  required: ['id', 'updatedAt', 'plan', 'messages'],
  properties: { id: { type: 'integer' }, updatedAt: isoTime, plan: ref('NodePlan'), messages: listOf('NodePlanMessage') },
};

const via = { type: 'string', enum: ['api', 'cli'], default: 'api', description: 'Who asks, for the report (the CLI says cli).' };
const timeoutSeconds = { type: 'number', minimum: 0, description: "Drain timeout of every component, in seconds; default: each component's own." };

const shutdownBody = {
  type: 'object',
  properties: {
    graceful: { type: 'boolean', default: true, description: 'The ordered plan (true) or every component stopped now (false).' },
    timeoutSeconds,
    via,
  },
  additionalProperties: false,
};
const suspendBody = { type: 'object', properties: { timeoutSeconds, via }, additionalProperties: false };
const resumeBody = { type: 'object', properties: { via }, additionalProperties: false };

const accepted = { 202: described('Under way: the plan as it is now; follow it with GET /api/v1/node/events', ref('NodePlan')), ...errors(400, 401, 409, 500) };

interface PlanBody {
  graceful?: boolean;
  timeoutSeconds?: number;
  via?: 'api' | 'cli';
}

/** A command body is optional: `curl -X POST …/node/shutdown` means a graceful shutdown. */
async function emptyBodyIsDefaults(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

const toMs = (seconds: number | undefined): number | undefined => (seconds === undefined ? undefined : Math.round(seconds * 1000));
const requester = (request: FastifyRequest<{ Body: PlanBody }>): PlanRequester => ({ via: request.body.via ?? 'api', detail: request.admin?.label ?? null });

/** SSE keeps proxies and the CLI's idle timers from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

export function nodeRoutes(app: FastifyInstance, control: NodeControl, store: Store): void {
  for (const schema of [DrainedTransfer, DrainedJob, NodePlanComponent, NodePlanStep, NodePlan, NodePlanMessageSchema, ShutdownReport]) app.addSchema(schema);

  app.post<{ Body: PlanBody }>('/api/v1/node/shutdown', {
    schema: {
      tags: ['node'],
      summary: 'Shut the node down: graceful runs the ordered plan, otherwise every component stops now',
      description:
        'Graceful: pause the monitor, stop the intake components (folder monitor, scheduler), then every protocol daemon in parallel (each with its own ' +
        'gracefulShutdownTimeout, or timeoutSeconds), then tm; the node exits. Each step starts when the one before has finished. A second request while ' +
        'the plan runs may shorten the timeout or escalate to immediate (graceful: false). The plan leaves a shutdown report.',
      body: shutdownBody,
      response: accepted,
    },
    preValidation: emptyBodyIsDefaults,
    handler: async (request, reply) => {
      const graceful = request.body.graceful ?? true;
      const timeoutMs = toMs(request.body.timeoutSeconds);
      request.log.info({ event: 'admin.command', command: 'node shutdown', graceful, timeoutMs, by: request.admin?.label }, `${graceful ? 'graceful' : 'immediate'} node shutdown requested`);
      const plan = await control.shutdownNode({ graceful, ...(graceful && timeoutMs !== undefined ? { timeoutMs } : {}), requestedBy: requester(request) });
      return reply.status(202).send(plan);
    },
  });

  app.post<{ Body: PlanBody }>('/api/v1/node/suspend', {
    schema: {
      tags: ['node'],
      summary: 'Suspend the node in the plan order (intake, protocol daemons, tm), the monitor paused',
      description: 'Each step waits until the one before is drained. Refused (409) while the node shuts down.',
      body: suspendBody,
      response: accepted,
    },
    preValidation: emptyBodyIsDefaults,
    handler: async (request, reply) => {
      const timeoutMs = toMs(request.body.timeoutSeconds);
      request.log.info({ event: 'admin.command', command: 'node suspend', timeoutMs, by: request.admin?.label }, 'node suspend requested');
      return reply.status(202).send(await control.suspendNode({ ...(timeoutMs === undefined ? {} : { timeoutMs }), requestedBy: requester(request) }));
    },
  });

  app.post<{ Body: PlanBody }>('/api/v1/node/resume', {
    schema: {
      tags: ['node'],
      summary: 'Resume the node in reverse order (tm, protocol daemons, intake), then the monitor',
      body: resumeBody,
      response: accepted,
    },
    preValidation: emptyBodyIsDefaults,
    handler: async (request, reply) => {
      request.log.info({ event: 'admin.command', command: 'node resume', by: request.admin?.label }, 'node resume requested');
      return reply.status(202).send(await control.resumeNode({ requestedBy: requester(request) }));
    },
  });

  app.get('/api/v1/node/plan', {
    schema: { tags: ['node'], summary: 'The running node plan, else the last one', response: { 200: ref('NodePlan'), ...errors(401, 404) } },
    handler: async () => {
      const plan = control.nodePlan();
      if (!plan) throw new FerryError('FERRY_ERR_NOT_FOUND', 'no node plan has run since the node started');
      return plan;
    },
  });

  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.end();
  });

  app.get('/api/v1/node/events', {
    schema: {
      tags: ['node'],
      summary: 'Server-Sent Events: the status messages of node plans, as they happen',
      description:
        'text/event-stream; each event is `event: <type>`, `id: <seq>`, `data: <NodePlanMessage as JSON>`. A new subscriber first gets the ' +
        'messages of the current (or last) plan. The stream ends after the end of a shutdown plan, just before the node exits.',
      response: { 200: described('An endless text/event-stream of NodePlanMessage events', { type: 'string' }), ...errors(401) },
    },
    handler: (request, reply) => {
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      streams.add(raw);
      let ended = false;
      const finish = (): void => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        watch.close();
        streams.delete(raw);
        raw.end();
      };
      const send = (message: NodePlanMessage): void => {
        if (ended) return;
        raw.write(`event: ${message.type}\nid: ${message.seq}\ndata: ${JSON.stringify(message)}\n\n`);
        // The node exits right after a shutdown: the stream ends with it rather than being reset.
        if (message.type === 'plan:end' && message.action === 'shutdown') finish();
      };
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
      const watch = control.watchNode(send);
      raw.write(': ferry node events\n\n');
      for (const message of watch.replay) send(message);
      request.raw.on('close', finish);
    },
  });

  app.get<{ Querystring: { limit?: number } }>('/api/v1/node/shutdown-reports', {
    schema: {
      tags: ['node'],
      summary: 'Shutdown reports, newest first',
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 20 } }, additionalProperties: false },
      response: { 200: listOf('ShutdownReport'), ...errors(400, 401, 500) },
    },
    handler: async (request) => store.shutdownReports.list(request.query.limit),
  });

  app.get<{ Params: { id: number } }>('/api/v1/node/shutdown-reports/:id', {
    schema: {
      tags: ['node'],
      summary: 'One shutdown report',
      params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } }, additionalProperties: false },
      response: { 200: ref('ShutdownReport'), ...errors(400, 401, 404, 500) },
    },
    handler: async (request) => {
      const report = await store.shutdownReports.get(request.params.id);
      if (!report) throw new FerryError('FERRY_ERR_NOT_FOUND', `no shutdown report ${request.params.id}`, { details: { id: request.params.id } });
      return report;
    },
  });
}
