import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodePlan, NodePlanMessage, PlanRequester } from '@ferry/core';
import { startApi, type RunningApi } from '../../api/test/support/harness.js';
import { FakeNode, type FakeNodeOptions } from '../../api/test/support/fake-node.js';
import { asRunningNode, cli } from './support/cli.js';

type Script = [NodePlanMessage['type'], string, NodePlanMessage['level']?][];

/**
 * The node plan as the CLI sees it over HTTP: each command plays a short script of messages on the
 * event stream; a shutdown then closes the API, as the node exits.
 */
class ScriptedNode extends FakeNode {
  readonly planCalls: unknown[] = [];
  scripts: Partial<Record<NodePlan['action'], Script>> = {};
  onShutdownEnd: () => void = () => undefined;
  #plan: NodePlan | null = null;
  #seq = 0;
  #replay: NodePlanMessage[] = [];
  readonly #listeners = new Set<(m: NodePlanMessage) => void>();

  constructor(options: FakeNodeOptions) {
    super(options);
  }

  async shutdownNode(request: { graceful: boolean; timeoutMs?: number; requestedBy: PlanRequester }): Promise<NodePlan> {
    this.planCalls.push({ shutdown: request });
    return this.#play('shutdown', request.requestedBy);
  }

  async suspendNode(request: { timeoutMs?: number; requestedBy: PlanRequester }): Promise<NodePlan> {
    this.planCalls.push({ suspend: request });
    return this.#play('suspend', request.requestedBy);
  }

  async resumeNode(request: { requestedBy: PlanRequester }): Promise<NodePlan> {
    this.planCalls.push({ resume: request });
    return this.#play('resume', request.requestedBy);
  }

  nodePlan(): NodePlan | null {
    return this.#plan;
  }

  watchNode(listener: (m: NodePlanMessage) => void) {
    this.#listeners.add(listener);
    return { replay: [...this.#replay], close: () => void this.#listeners.delete(listener) };
  }

  #play(action: NodePlan['action'], requestedBy: PlanRequester): NodePlan {
    const plan: NodePlan = {
      id: `plan-${action}`,
      action,
      mode: 'graceful',
      timeoutMs: null,
      requestedAt: new Date().toISOString(),
      requestedBy,
      status: 'running',
      finishedAt: null,
      steps: [],
    };
    this.#plan = plan;
    this.#replay = [];
    const script = this.scripts[action] ?? [];
    // One message at a time, so that the CLI subscribes mid-plan and gets the rest live.
    script.forEach(([type, message, level], i) =>
      setTimeout(() => {
        const m: NodePlanMessage = { seq: ++this.#seq, at: new Date().toISOString(), plan: plan.id, action, type, step: type.startsWith('plan') ? null : 'intake', component: null, level: level ?? 'info', message };
        this.#replay.push(m);
        for (const l of this.#listeners) l(m);
        if (type === 'plan:end' && action === 'shutdown') setTimeout(() => this.onShutdownEnd(), 20);
      }, 40 * (i + 1)),
    );
    return plan;
  }
}

let api: RunningApi;
let node: ScriptedNode;
let env: Record<string, string>;

beforeEach(async () => {
  api = await startApi({ makeNode: (options) => new ScriptedNode(options) });
  node = api.node as ScriptedNode;
  env = await asRunningNode(api);
});
afterEach(() => api.close());

const SHUTDOWN: Script = [
  ['plan:start', 'node shutdown (graceful) requested by cli'],
  ['step:start', 'stop the intake components: scheduler'],
  ['step:end', 'intake: done'],
  ['plan:end', 'every component stopped: the node exits'],
];

describe('ferry node shutdown', () => {
  it('-g -timeout 60 runs the plan, prints each step, and exits 0 once the node is down', async () => {
    node.scripts.shutdown = SHUTDOWN;
    node.onShutdownEnd = () => void api.app.close();
    const run = await cli(['node', 'shutdown', '-g', '-timeout', '60'], { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(node.planCalls).toEqual([{ shutdown: { graceful: true, timeoutMs: 60_000, requestedBy: { via: 'cli', detail: 'test' } } }]);
    expect(run.stdout.split('\n')).toEqual([
      'node shutdown (graceful, timeout 1m00s) under way (Ctrl-C stops watching; the node carries on)',
      '[shutdown] node shutdown (graceful) requested by cli',
      '[intake] stop the intake components: scheduler',
      '[intake] intake: done',
      '[shutdown] every component stopped: the node exits',
      'the node is down',
      '',
    ]);
  });

  it('without -g is immediate, and -timeout without -g is a usage error', async () => {
    node.scripts.shutdown = SHUTDOWN;
    node.onShutdownEnd = () => void api.app.close();
    const bad = await cli(['node', 'shutdown', '-timeout', '5'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('-timeout applies to a graceful shutdown');
    const run = await cli(['node', 'shutdown'], { env });
    expect(run.code).toBe(0);
    expect(node.planCalls).toEqual([{ shutdown: { graceful: false, requestedBy: { via: 'cli', detail: 'test' } } }]);
    expect(run.stdout).toContain('node shutdown (immediate) under way');
  });
});

describe('ferry node suspend / resume', () => {
  it('follow their plan and exit 0 when it ends well, 1 when a component did not follow', async () => {
    node.scripts.suspend = [
      ['plan:start', 'node suspend requested by cli'],
      ['plan:end', 'the node is suspended: new work is refused until "ferry node resume"'],
    ];
    const suspended = await cli(['node', 'suspend', '-timeout', '30'], { env });
    expect(suspended.code).toBe(0);
    expect(suspended.stdout).toContain('[suspend] the node is suspended');
    expect(node.planCalls).toEqual([{ suspend: { timeoutMs: 30_000, requestedBy: { via: 'cli', detail: 'test' } } }]);

    node.scripts.resume = [['plan:end', 'the node is resumed, but not every component followed (see above)', 'warn']];
    const resumed = await cli(['node', 'resume'], { env });
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toContain('not every component followed');
  });
});

describe('ferry node report', () => {
  const at = '2030-01-01T00:00:00.000Z';
  const plan: NodePlan = {
    id: 'p1',
    action: 'shutdown',
    mode: 'graceful',
    timeoutMs: 60_000,
    requestedAt: at,
    requestedBy: { via: 'signal', detail: 'SIGTERM' },
    status: 'done',
    finishedAt: at,
    steps: [
      {
        name: 'protocol',
        startedAt: at,
        endedAt: at,
        components: [
          {
            id: 'httpd',
            kind: 'protocol',
            skipped: null,
            requestedAt: at,
            drainStartedAt: at,
            drainEndedAt: at,
            finalState: 'stopped',
            transfers: { completed: [{ id: 'tx-1', path: '/in/a.csv', account: 'alice', outcome: 'completed', endedAt: at }], cut: [] },
            jobs: null,
          },
        ],
      },
      {
        name: 'tm',
        startedAt: at,
        endedAt: at,
        components: [
          {
            id: 'tm',
            kind: 'tm',
            skipped: null,
            requestedAt: at,
            drainStartedAt: at,
            drainEndedAt: at,
            finalState: 'stopped',
            transfers: { completed: [], cut: [] },
            jobs: { completed: [{ id: 7, kind: 'routing', outcome: 'done', at }], released: [{ id: 8, kind: 'sit-push', outcome: 'released', at }] },
          },
        ],
      },
    ],
  };

  it('prints the latest by default, one by id, and --json', async () => {
    const id = await api.store.shutdownReports.save(plan, []);
    const latest = await cli(['node', 'report'], { env });
    expect(latest.code).toBe(0);
    expect(latest.stdout).toContain(`shutdown report ${id}: graceful, timeout 1m00s, requested 2030-01-01 00:00:00.000 by signal (SIGTERM)`);
    expect(latest.stdout).toContain('  httpd (protocol): stopped; drain 2030-01-01 00:00:00.000 → 2030-01-01 00:00:00.000');
    expect(latest.stdout).toContain('      completed   /in/a.csv  alice  tx-1');
    expect(latest.stdout).toContain('    jobs: 1 finished, 1 back in the queue');
    expect(latest.stdout).toContain('      released    job 8 (sit-push)');
    const byId = await cli(['node', 'report', String(id), '--json'], { env });
    expect(JSON.parse(byId.stdout)).toMatchObject({ id, plan: { id: 'p1' } });
  });

  it('fails when there is none, and refuses an id that is not one', async () => {
    expect(await cli(['node', 'report'], { env })).toMatchObject({ code: 1, stderr: expect.stringContaining('no shutdown report yet') });
    expect(await cli(['node', 'report', '42'], { env })).toMatchObject({ code: 1, stderr: expect.stringContaining('no shutdown report 42') });
    expect((await cli(['node', 'report', 'x'], { env })).code).toBe(2);
    expect((await cli(['node', 'report', '1', '2'], { env })).stderr).toContain('node report: unexpected "2"');
  });
});
