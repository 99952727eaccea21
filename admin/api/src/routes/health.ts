import { isDrainingState, type LifecycleState } from '@ferry/core';
import type { FastifyInstance } from 'fastify';
import type { NodeControl } from '../control.js';

/** States in which a balancer must stop sending new sessions to this node. */
function refusesNewWork(state: LifecycleState): boolean {
  return isDrainingState(state) || state === 'stopping';
}

const liveBody = { type: 'object', required: ['alive'], properties: { alive: { type: 'boolean' } } };
const readyBody = { type: 'object', required: ['ready'], properties: { ready: { type: 'boolean' } } };

/**
 * Probes for load balancers: open (no token), and they say nothing but yes or no. Readiness turns
 * 503 the moment anything drains, so that the balancer stops sending sessions before they would
 * be refused (seed 000: answer the advisor with errors while quiescing).
 */
export function healthRoutes(app: FastifyInstance, control: NodeControl): void {
  app.get('/healthz', {
    config: { public: true },
    schema: {
      tags: ['probes'],
      summary: 'Liveness: 200 while the node process lives',
      security: [],
      response: { 200: liveBody },
    },
    handler: async () => ({ alive: true }),
  });

  app.get('/readyz', {
    config: { public: true },
    schema: {
      tags: ['probes'],
      summary: 'Readiness: 503 while the node or any component is draining, drained or stopping',
      security: [],
      response: { 200: readyBody, 503: readyBody },
    },
    handler: async (_request, reply) => {
      const ready = control.node().state === 'running' && !(await control.components()).some((c) => refusesNewWork(c.state));
      return reply.status(ready ? 200 : 503).send({ ready });
    },
  });
}
