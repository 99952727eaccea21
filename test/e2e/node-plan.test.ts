import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { openStore, type NodePlan, type NodePlanComponent, type NodePlanMessage, type ShutdownReport } from '@ferry/core';
import { ROOT, startNode, until, yamlConfig, type RunningNode } from './harness.js';

/**
 * The node plan of DESIGN §3 with real processes: httpd (protocol) and two fixture components that
 * hold every drain for a while, one of kind intake and one of kind tm (the tm one also finishes a
 * job and releases another while it drains, as the transaction manager does).
 */
const FIXTURE = join(ROOT, 'test/fixtures/plan-component.mjs');
const HOLD_MS = 1000;

const config = (dataDir: string): string =>
  yamlConfig(
    dataDir,
    [
      'node:',
      '  killTimeout: 2s',
      '  customComponents:',
      `    intake-fixture: {module: ${FIXTURE}, kind: intake, args: ['--id', 'intake-fixture', '--hold', '${HOLD_MS}']}`,
      `    tm-fixture: {module: ${FIXTURE}, kind: tm, args: ['--id', 'tm-fixture', '--hold', '${HOLD_MS}', '--jobs']}`,
    ].join('\n'),
  );

function slowUpload(url: string, file: string) {
  const child = spawn('curl', ['-sS', '--fail', '-u', 'dave:dave-password', '--limit-rate', '1000K', '-T', file, url]);
  return new Promise<number | null>((done) => child.on('close', done));
}

async function withAccount(node: RunningNode): Promise<{ home: string; base: string }> {
  const home = join(node.dir, 'dave');
  expect((await node.api('POST', '/api/v1/accounts', { name: 'dave', password: 'dave-password', home })).status).toBe(201);
  return { home, base: await node.httpdUrl() };
}

async function allRunning(node: RunningNode): Promise<void> {
  await until(async () => (await node.api<{ state: string }[]>('GET', '/api/v1/components')).body.every((c) => c.state === 'running'), 10_000, 'every component running');
}

/** The stored reports of a node that has exited. */
async function reportsOf(node: RunningNode): Promise<ShutdownReport[]> {
  const store = await openStore({ url: `sqlite:${join(node.dataDir, 'ferry.db')}`, dataDir: node.dataDir });
  try {
    return await store.shutdownReports.list();
  } finally {
    await store.close();
  }
}

const componentOf = (plan: NodePlan, id: string): NodePlanComponent => {
  const found = plan.steps.flatMap((s) => s.components).find((c) => c.id === id);
  if (!found) throw new Error(`${id} not in the plan: ${JSON.stringify(plan.steps)}`);
  return found;
};
const ms = (iso: string | null): number => Date.parse(iso ?? 'invalid');

/** Intake drained before protocol began, protocol before tm: by the steps and by each component's drain. */
function expectPlanOrder(plan: NodePlan): void {
  expect(plan.steps.map((s) => s.name)).toEqual(['pause-monitor', 'intake', 'protocol', 'tm', 'exit']);
  const step = (name: string) => plan.steps.find((s) => s.name === name)!;
  expect(ms(step('intake').endedAt)).toBeLessThanOrEqual(ms(step('protocol').startedAt));
  expect(ms(step('protocol').endedAt)).toBeLessThanOrEqual(ms(step('tm').startedAt));
  const intake = componentOf(plan, 'intake-fixture');
  const httpd = componentOf(plan, 'httpd');
  const tm = componentOf(plan, 'tm-fixture');
  for (const c of [intake, httpd, tm]) expect(c).toMatchObject({ finalState: 'stopped', skipped: null });
  expect(ms(intake.drainEndedAt)).toBeLessThanOrEqual(ms(httpd.requestedAt));
  expect(ms(httpd.drainEndedAt)).toBeLessThanOrEqual(ms(tm.requestedAt));
  expect(ms(intake.drainEndedAt) - ms(intake.drainStartedAt)).toBeGreaterThanOrEqual(HOLD_MS - 100);
}

/** Collects the node's SSE stream until the node ends it. */
function eventsOf(node: RunningNode): { ready: Promise<void>; done: Promise<NodePlanMessage[]> } {
  let ready: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (ready = resolve));
  const done = (async () => {
    const res = await request(`${node.adminUrl}/api/v1/node/events`, { headers: { authorization: `Bearer ${node.token}` }, bodyTimeout: 0 });
    ready();
    const events: NodePlanMessage[] = [];
    let text = '';
    for await (const chunk of res.body) {
      text += (chunk as Buffer).toString();
      let cut: number;
      while ((cut = text.indexOf('\n\n')) >= 0) {
        const data = text.slice(0, cut).split('\n').find((l) => l.startsWith('data: '));
        text = text.slice(cut + 2);
        if (data) events.push(JSON.parse(data.slice(6)) as NodePlanMessage);
      }
    }
    return events;
  })();
  return { ready: opened, done };
}

describe('node plan with real processes', () => {
  it('SIGTERM runs the plan in order; the running upload completes byte-identical; the report says what happened', async () => {
    const node = await startNode({ config });
    try {
      const { home, base } = await withAccount(node);
      await allRunning(node);
      const payload = randomBytes(3 * 1024 * 1024);
      await writeFile(join(node.dir, 'p.bin'), payload);
      const upload = slowUpload(`${base}/files/p.bin`, join(node.dir, 'p.bin'));
      await until(async () => (await node.api<unknown[]>('GET', '/api/v1/transfers')).body.length === 1, 5000, 'upload active');

      node.process.kill('SIGTERM');
      // The upload outlives the intake step: httpd is asked to drain only after intake has stopped.
      await node.waitForLog((l) => l.event === 'node.plan' && l.type === 'step:start' && l.step === 'protocol');
      expect(await upload).toBe(0);
      expect(await node.exited).toBe(0);
      expect((await readFile(join(home, 'p.bin'))).equals(payload)).toBe(true);

      const [report] = await reportsOf(node);
      expect(report!.plan).toMatchObject({ action: 'shutdown', mode: 'graceful', status: 'done', requestedBy: { via: 'signal', detail: 'SIGTERM' } });
      expectPlanOrder(report!.plan);
      const httpd = componentOf(report!.plan, 'httpd');
      expect(httpd.transfers.completed).toEqual([expect.objectContaining({ path: '/p.bin', account: 'dave', outcome: 'completed' })]);
      expect(httpd.transfers.cut).toEqual([]);
      const tm = componentOf(report!.plan, 'tm-fixture');
      expect(tm.jobs!.completed).toEqual([expect.objectContaining({ kind: 'routing', outcome: 'done' })]);
      expect(tm.jobs!.released).toEqual([expect.objectContaining({ kind: 'routing', outcome: 'released' })]);
      // The node logged every step as it went.
      const steps = node.logs.filter((l) => l.event === 'node.plan' && l.type === 'step:start').map((l) => l.step);
      expect(steps).toEqual(['pause-monitor', 'intake', 'protocol', 'tm']);
    } finally {
      await node.stop();
    }
  });

  it('refuses stop_tm -g while others run; suspends and resumes in order; shuts down by API with the CLI following', async () => {
    const node = await startNode({ config });
    try {
      await allRunning(node);

      // A graceful stop of tm alone: refused, naming every component that still runs.
      const refused = await node.cli(['stop', 'tm-fixture', '-g']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('a graceful stop of tm-fixture alone is refused while');
      expect(refused.stderr).toMatch(/httpd \(protocol, running\)/);
      expect(refused.stderr).toMatch(/intake-fixture \(intake, running\)/);
      expect(refused.stderr).toContain('ferry node shutdown -g');
      const byApi = await node.api<{ code: string; details: { blockers: { id: string }[] } }>('POST', '/api/v1/components/tm-fixture/stop', { graceful: true });
      expect(byApi.status).toBe(409);
      expect(byApi.body.code).toBe('FERRY_ERR_LIFECYCLE_TRANSITION');
      expect(byApi.body.details.blockers.map((b) => b.id).sort()).toEqual(['httpd', 'intake-fixture']);
      expect((await node.api<{ state: string }>('GET', '/api/v1/components/tm-fixture')).body.state).toBe('running');

      // Suspend: intake, then protocol, then tm, each drained before the next.
      const suspended = await node.cli(['node', 'suspend']);
      expect(suspended.stderr).toBe('');
      expect(suspended.code).toBe(0);
      const lines = suspended.stdout.split('\n');
      const at = (text: string) => lines.findIndex((l) => l.includes(text));
      expect(at('intake-fixture: suspended')).toBeGreaterThan(0);
      expect(at('intake-fixture: suspended')).toBeLessThan(at('httpd: suspend'));
      expect(at('httpd: suspended')).toBeLessThan(at('tm-fixture: suspend'));
      expect(suspended.stdout).toContain('the node is suspended');
      const states = async () => Object.fromEntries((await node.api<{ id: string; state: string }[]>('GET', '/api/v1/components')).body.map((c) => [c.id, c.state]));
      expect(await states()).toEqual({ httpd: 'drained', 'intake-fixture': 'drained', 'tm-fixture': 'drained' });

      // Resume: consumers first.
      const resumed = await node.cli(['node', 'resume']);
      expect(resumed.code).toBe(0);
      const order = resumed.stdout.split('\n').filter((l) => l.endsWith(': resume')).map((l) => l.replace(/^\[\w+\] /, ''));
      expect(order).toEqual(['tm-fixture: resume', 'httpd: resume', 'intake-fixture: resume']);
      expect(await states()).toEqual({ httpd: 'running', 'intake-fixture': 'running', 'tm-fixture': 'running' });

      // Shutdown by the API, followed on the event stream and by the CLI.
      const stream = eventsOf(node);
      await stream.ready;
      const started = await node.api<NodePlan>('POST', '/api/v1/node/shutdown', { graceful: true, timeoutSeconds: 20 });
      expect(started.status).toBe(202);
      const following = await node.cli(['node', 'shutdown', '-g']);
      expect(following.code).toBe(0);
      expect(following.stdout).toContain('[intake] stop the intake components');
      expect(following.stdout.trimEnd().split('\n').at(-1)).toBe('the node is down');
      expect(await node.exited).toBe(0);

      const events = (await stream.done).filter((e) => e.plan === started.body.id);
      expect(events.filter((e) => e.type === 'step:start').map((e) => e.step)).toEqual(['pause-monitor', 'intake', 'protocol', 'tm']);
      expect(events.at(-1)).toMatchObject({ type: 'plan:end', action: 'shutdown' });
      const [report] = await reportsOf(node);
      expect(report!.plan).toMatchObject({ id: started.body.id, timeoutMs: 20_000, requestedBy: { via: 'api' } });
      expectPlanOrder(report!.plan);
    } finally {
      await node.stop();
    }
  });
});
