import { FerryError, JOB_STATUSES, type JobQuery, type NewJob, type Store } from '@ferry/core';
import type { FastifyInstance } from 'fastify';
import { described, errors } from '../schemas.js';

/**
 * What the node knows about job payloads: the kinds its transaction manager runs and a check of a
 * payload (the node passes the tm's own, so the API refuses what tm would fail on).
 */
export interface JobRules {
  kinds: readonly string[];
  /** Throws FERRY_ERR_BAD_REQUEST naming what does not fit. */
  check(kind: string, payload: unknown): void;
}

const isoTime = { type: 'string', format: 'date-time' };
const nullableText = { type: ['string', 'null'] };

const Job = {
  type: 'object',
  required: ['id', 'kind', 'payload', 'status', 'attempts', 'maxAttempts', 'runAfter', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string' },
    payload: { type: 'object', additionalProperties: true },
    status: { type: 'string', enum: JOB_STATUSES },
    dedupeKey: nullableText,
    attempts: { type: 'integer' },
    maxAttempts: { type: 'integer' },
    runAfter: isoTime,
    claimedBy: nullableText,
    claimedUntil: nullableText,
    lastError: nullableText,
    result: { type: ['object', 'null'], additionalProperties: true },
    parentId: { type: ['integer', 'null'] },
    createdAt: isoTime,
    updatedAt: isoTime,
    finishedAt: nullableText,
  },
};

const jobIdParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } }, additionalProperties: false };

/** The transaction manager's queue: what waits, runs, finished or failed; enqueue and retry. */
export function jobRoutes(app: FastifyInstance, store: Store, rules: JobRules): void {
  app.get<{ Querystring: JobQuery }>('/api/v1/jobs', {
    schema: {
      tags: ['jobs'],
      summary: 'Jobs, newest first, with the count per status',
      querystring: {
        type: 'object',
        properties: { status: { type: 'string', enum: JOB_STATUSES }, kind: { type: 'string', minLength: 1 }, limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 } },
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          required: ['counts', 'jobs'],
          properties: {
            counts: { type: 'object', properties: Object.fromEntries(JOB_STATUSES.map((s) => [s, { type: 'integer' }])) },
            jobs: { type: 'array', items: Job },
          },
        },
        ...errors(400, 401, 500),
      },
    },
    handler: async (request) => ({ counts: await store.jobs.counts(), jobs: await store.jobs.list(request.query) }),
  });

  app.get<{ Params: { id: number } }>('/api/v1/jobs/:id', {
    schema: { tags: ['jobs'], summary: 'One job', params: jobIdParams, response: { 200: Job, ...errors(401, 404, 500) } },
    handler: async (request) => {
      const job = await store.jobs.get(request.params.id);
      if (!job) throw new FerryError('FERRY_ERR_NOT_FOUND', `no job ${request.params.id}`, { details: { id: request.params.id } });
      return job;
    },
  });

  app.post<{ Body: { kind: string; payload: Record<string, unknown>; runAfter?: string; dedupeKey?: string; maxAttempts?: number } }>('/api/v1/jobs', {
    schema: {
      tags: ['jobs'],
      summary: 'Enqueue a job (push, pull, run, webhook, route); its payload is checked now',
      body: {
        type: 'object',
        required: ['kind', 'payload'],
        properties: {
          kind: { type: 'string', enum: [...rules.kinds] },
          payload: { type: 'object', additionalProperties: true },
          runAfter: isoTime,
          dedupeKey: { type: 'string', minLength: 1, maxLength: 4096, description: 'A second job with the same key is not added: the first is returned (200).' },
          maxAttempts: { type: 'integer', minimum: 1, maximum: 1000 },
        },
        additionalProperties: false,
      },
      response: { 201: described('Enqueued', Job), 200: described('A job with this dedupeKey exists already', Job), ...errors(400, 401, 500) },
    },
    handler: async (request, reply) => {
      const { kind, payload, ...rest } = request.body;
      rules.check(kind, payload);
      const job: NewJob = { kind, payload, ...rest };
      const { job: queued, created } = await store.jobs.enqueue(job);
      request.log.info({ event: 'audit.job.enqueue', jobId: queued.id, kind, created }, `job ${queued.id} (${kind}) enqueued through the API`);
      return reply.code(created ? 201 : 200).send(queued);
    },
  });

  app.post<{ Params: { id: number } }>('/api/v1/jobs/:id/retry', {
    schema: {
      tags: ['jobs'],
      summary: 'Put a failed job back in the queue with fresh attempts',
      params: jobIdParams,
      response: { 200: Job, ...errors(401, 404, 409, 500) },
    },
    handler: async (request) => {
      const job = await store.jobs.requeue(request.params.id);
      if (job) {
        request.log.info({ event: 'audit.job.retry', jobId: job.id }, `job ${job.id} requeued through the API`);
        return job;
      }
      const existing = await store.jobs.get(request.params.id);
      if (!existing) throw new FerryError('FERRY_ERR_NOT_FOUND', `no job ${request.params.id}`, { details: { id: request.params.id } });
      throw new FerryError('FERRY_ERR_LIFECYCLE_TRANSITION', `job ${existing.id} is ${existing.status}: only a failed job can be retried`, {
        details: { id: existing.id, status: existing.status },
      });
    },
  });
}
