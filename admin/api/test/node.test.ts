import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { FerryError, type NodePlan, type NodePlanMessage, type PlanRequester } from '@ferry/core';
import type { NodeShutdownRequest, NodeSuspendRequest, NodeWatch } from '../src/control.js';
import { call, startApi, type RunningApi } from './support/harness.js';
import { FakeNode, type FakeNodeOptions } from './support/fake-node.js';

/**
 * The supervisor's node plan, reduced to what the routes see: a plan document and its messages on
 * a feed. (The plan itself is tested in servers/node with fake components, and end to end.)
 */
class PlanNode extends FakeNode {
  readonly planCalls: unknown[] = [];
  #plan: NodePlan | null = null;
  #seq = 0;
  #replay: NodePlanMessage[] = [];
  readonly #listeners = new Set<(m: NodePlanMessage) => void>();
  refuse: FerryError | undefined;

  constructor(options: FakeNodeOptions) {
    super(options);
  }

  async shutdownNode(request: NodeShutdownRequest): Promise<NodePlan> {
    this.planCalls.push({ shutdown: request });
    if (this.#plan?.action === 'shutdown') return this.#plan;
    return this.#begin('shutdown', request.graceful ? 'graceful' : 'immediate', request.timeoutMs, request.requestedBy);
  }

  async suspendNode(request: NodeSuspendRequest): Promise<NodePlan> {
    this.planCalls.push({ suspend: request });
    if (this.refuse) throw this.refuse;
    return this.#begin('suspend', 'graceful', request.timeoutMs, request.requestedBy);
  }

  async resumeNode(request: { requestedBy: PlanRequester }): Promise<NodePlan> {
    this.planCalls.push({ resume: request });
    return this.#begin('resume', 'graceful', undefined, request.requestedBy);
  }

  nodePlan(): NodePlan | null {
    return this.#plan;
  }

  watchNode(listener: (m: NodePlanMessage) => void): NodeWatch {
    this.#listeners.add(listener);
    return { replay: [...this.#replay], close: () => void this.#listeners.delete(listener) };
  }

  /** Test hook: the plan says something. */
  say(type: NodePlanMessage['type'], message: string, step: string | null = null): void {
    const plan = this.#plan!;
    const m: NodePlanMessage = { seq: ++this.#seq, at: new Date().toISOString(), plan: plan.id, action: plan.action, type, step, component: null, level: 'info', message };
    this.#replay.push(m);
    for (const l of this.#listeners) l(m);
  }

  #begin(action: NodePlan['action'], mode: NodePlan['mode'], timeoutMs: number | undefined, requestedBy: PlanRequester): NodePlan {
    this.#replay = [];
    this.#plan = {
      id: `plan-${this.#seq + 1}`,
      action,
      mode,
      timeoutMs: timeoutMs ?? null,
      requestedAt: new Date().toISOString(),
      requestedBy,
      status: 'running',
      finishedAt: null,
      steps: [{ name: 'pause-monitor', startedAt: new Date().toISOString(), endedAt: new Date().toISOString(), components: [] }],
    };
    this.say('plan:start', `node ${action} requested`);
    return this.#plan;
  }
}

let api: RunningApi;
let node: PlanNode;
beforeEach(async () => {
  api = await startApi({ makeNode: (options) => new PlanNode(options) });
  node = api.node as PlanNode;
});
afterEach(() => api.close());

describe('POST /api/v1/node/shutdown', () => {
  it('starts the graceful plan by default and answers 202 with the plan', async () => {
    const reply = await call(api, 'POST', '/api/v1/node/shutdown');
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ action: 'shutdown', mode: 'graceful', status: 'running', timeoutMs: null, requestedBy: { via: 'api', detail: 'test' } });
    expect(reply.body.steps[0]).toMatchObject({ name: 'pause-monitor', components: [] });
    expect(node.planCalls).toEqual([{ shutdown: { graceful: true, requestedBy: { via: 'api', detail: 'test' } } }]);
  });

  it('passes timeoutSeconds as ms and says the CLI asked; an immediate one carries no timeout', async () => {
    await call(api, 'POST', '/api/v1/node/shutdown', { body: { graceful: true, timeoutSeconds: 60, via: 'cli' } });
    await call(api, 'POST', '/api/v1/node/shutdown', { body: { graceful: false } });
    expect(node.planCalls).toEqual([
      { shutdown: { graceful: true, timeoutMs: 60_000, requestedBy: { via: 'cli', detail: 'test' } } },
      { shutdown: { graceful: false, requestedBy: { via: 'api', detail: 'test' } } },
    ]);
  });

  it('refuses a misspelt or negative field, and a call without a token', async () => {
    expect((await call(api, 'POST', '/api/v1/node/shutdown', { body: { timeout: 5 } })).body.code).toBe('FERRY_ERR_BAD_REQUEST');
    expect((await call(api, 'POST', '/api/v1/node/shutdown', { body: { timeoutSeconds: -1 } })).status).toBe(400);
    expect((await call(api, 'POST', '/api/v1/node/shutdown', { token: null })).status).toBe(401);
    expect(node.planCalls).toEqual([]);
  });
});

describe('suspend and resume', () => {
  it('start their plans; a refusal of the node is a 409 with its code', async () => {
    const suspended = await call(api, 'POST', '/api/v1/node/suspend', { body: { timeoutSeconds: 2 } });
    expect(suspended).toMatchObject({ status: 202, body: { action: 'suspend', timeoutMs: 2000 } });
    const resumed = await call(api, 'POST', '/api/v1/node/resume');
    expect(resumed).toMatchObject({ status: 202, body: { action: 'resume' } });
    expect((await call(api, 'GET', '/api/v1/node/plan')).body).toMatchObject({ action: 'resume' });

    node.refuse = new FerryError('FERRY_ERR_LIFECYCLE_TRANSITION', 'the node is shutting down: it cannot be suspended');
    const refused = await call(api, 'POST', '/api/v1/node/suspend');
    expect(refused).toMatchObject({ status: 409, body: { code: 'FERRY_ERR_LIFECYCLE_TRANSITION', message: expect.stringContaining('shutting down') } });
  });

  it('GET /api/v1/node/plan is 404 before any plan', async () => {
    expect((await call(api, 'GET', '/api/v1/node/plan')).body.code).toBe('FERRY_ERR_NOT_FOUND');
  });
});

/** Reads an SSE stream until it ends (or `max` events), parsing `data:` lines. */
async function readEvents(max = Number.POSITIVE_INFINITY, headers: Record<string, string> = { authorization: `Bearer ${api.token}` }) {
  const res = await request(`${api.url}/api/v1/node/events`, { headers });
  const events: NodePlanMessage[] = [];
  let text = '';
  if (res.statusCode !== 200) return { status: res.statusCode, contentType: res.headers['content-type'], events, body: await res.body.text() };
  for await (const chunk of res.body) {
    text += (chunk as Buffer).toString();
    let cut: number;
    while ((cut = text.indexOf('\n\n')) >= 0) {
      const data = text.slice(0, cut).split('\n').find((l) => l.startsWith('data: '));
      text = text.slice(cut + 2);
      if (data) events.push(JSON.parse(data.slice(6)) as NodePlanMessage);
    }
    if (events.length >= max) {
      res.body.destroy();
      break;
    }
  }
  return { status: res.statusCode, contentType: res.headers['content-type'], events, body: '' };
}

describe('GET /api/v1/node/events', () => {
  it('replays the plan so far, streams what follows, and ends after the end of a shutdown', async () => {
    await call(api, 'POST', '/api/v1/node/shutdown');
    node.say('step:start', 'stop the intake components', 'intake');
    const reading = readEvents();
    await new Promise((r) => setTimeout(r, 100));
    node.say('step:end', 'intake: done', 'intake');
    node.say('plan:end', 'every component stopped: the node exits', 'exit');
    const { status, contentType, events } = await reading;
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/event-stream/);
    expect(events.map((e) => e.type)).toEqual(['plan:start', 'step:start', 'step:end', 'plan:end']);
    expect(events[1]).toMatchObject({ action: 'shutdown', step: 'intake', message: 'stop the intake components' });
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b));
  });

  it('needs a token', async () => {
    const res = await readEvents(1, {});
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'FERRY_ERR_UNAUTHORIZED' });
  });
});

describe('shutdown reports', () => {
  const plan = (id: string, requestedAt: string): NodePlan => ({
    id,
    action: 'shutdown',
    mode: 'graceful',
    timeoutMs: null,
    requestedAt,
    requestedBy: { via: 'signal', detail: 'SIGTERM' },
    status: 'done',
    finishedAt: requestedAt,
    steps: [
      {
        name: 'protocol',
        startedAt: requestedAt,
        endedAt: requestedAt,
        components: [
          {
            id: 'httpd',
            kind: 'protocol',
            skipped: null,
            requestedAt,
            drainStartedAt: requestedAt,
            drainEndedAt: requestedAt,
            finalState: 'stopped',
            transfers: { completed: [{ id: 't1', path: '/in/a', account: 'alice', outcome: 'completed', endedAt: requestedAt }], cut: [] },
            jobs: null,
          },
        ],
      },
    ],
  });

  it('lists them newest first and shows one by id; 404 for an unknown id', async () => {
    const first = await api.store.shutdownReports.save(plan('p1', '2030-01-01T00:00:00.000Z'), []);
    const second = await api.store.shutdownReports.save(plan('p2', '2030-01-02T00:00:00.000Z'), []);
    const list = await call(api, 'GET', '/api/v1/node/shutdown-reports');
    expect(list.status).toBe(200);
    expect(list.body.map((r: { id: number }) => r.id)).toEqual([second, first]);
    const one = await call(api, 'GET', `/api/v1/node/shutdown-reports/${first}`);
    expect(one.body.plan.steps[0].components[0]).toMatchObject({ id: 'httpd', transfers: { completed: [{ id: 't1', path: '/in/a', outcome: 'completed' }] }, jobs: null });
    expect((await call(api, 'GET', '/api/v1/node/shutdown-reports/999')).body.code).toBe('FERRY_ERR_NOT_FOUND');
    expect((await call(api, 'GET', '/api/v1/node/shutdown-reports/abc')).status).toBe(400);
  });

  it('are documented in the OpenAPI document', async () => {
    const doc = (await call(api, 'GET', '/docs/json', { token: null })).body;
    for (const path of ['/api/v1/node/shutdown', '/api/v1/node/suspend', '/api/v1/node/resume', '/api/v1/node/events', '/api/v1/node/shutdown-reports/{id}']) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['NodePlan', 'NodePlanMessage', 'ShutdownReport']));
  });
});
