import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, openStore, type NodePlan, type NodePlanMessage, type Store } from '@ferry/core';
import { NodeCoordinator } from '../src/shutdown-plan.js';
import { FakeMember } from './fake-member.js';

const log = createLogger({ component: 'node', level: 'silent' });
const signal = { via: 'signal', detail: 'SIGTERM' } as const;

class FakeMonitor {
  readonly journal: string[];
  constructor(journal: string[]) {
    this.journal = journal;
  }
  pause(): void {
    this.journal.push('monitor pause');
  }
  resume(): void {
    this.journal.push('monitor resume');
  }
}

interface Node {
  journal: string[];
  members: Record<string, FakeMember>;
  coordinator: NodeCoordinator;
  messages: NodePlanMessage[];
  exited: Promise<NodePlan>;
}

/** A node of fakes: two protocol daemons, the intake pair and tm, each drain taking `drainMs`. */
function node(options: { drainMs?: Record<string, number>; store?: Store } = {}): Node {
  const journal: string[] = [];
  const make = (id: string, kind: 'protocol' | 'intake' | 'tm') => new FakeMember(id, kind, journal, options.drainMs?.[id] ?? 20);
  // Declared out of plan order on purpose: the plan goes by kind, not by position or name.
  const members = {
    tm: make('tm', 'tm'),
    httpd: make('httpd', 'protocol'),
    scheduler: make('scheduler', 'intake'),
    sshd: make('sshd', 'protocol'),
    'folder-monitor': make('folder-monitor', 'intake'),
  };
  const coordinator = new NodeCoordinator({
    members: Object.values(members),
    monitor: new FakeMonitor(journal),
    log,
    ...(options.store ? { reports: options.store.shutdownReports } : {}),
  });
  const messages: NodePlanMessage[] = [];
  coordinator.watch((m) => messages.push(m));
  const exited = new Promise<NodePlan>((resolve) => coordinator.once('exit', resolve));
  return { journal, members, coordinator, messages, exited };
}

const indexOf = (journal: string[], entry: string): number => {
  const i = journal.indexOf(entry);
  expect(i, `${entry} in ${journal.join(' | ')}`).toBeGreaterThanOrEqual(0);
  return i;
};

describe('node shutdown plan', () => {
  it('pauses the monitor, then stops intake, then every protocol daemon in parallel, then tm; each step after the one before', async () => {
    const n = node({ drainMs: { scheduler: 60, httpd: 80, sshd: 20 } });
    n.coordinator.shutdown({ graceful: true, requestedBy: signal });
    const plan = await n.exited;
    const j = n.journal;

    expect(j[0]).toBe('monitor pause');
    const lastIntake = Math.max(indexOf(j, 'scheduler stopped'), indexOf(j, 'folder-monitor stopped'));
    const firstProtocol = Math.min(indexOf(j, 'httpd stop graceful'), indexOf(j, 'sshd stop graceful'));
    expect(lastIntake).toBeLessThan(firstProtocol);
    // In parallel: sshd is asked before httpd (the slower one) has stopped, and stops first.
    expect(indexOf(j, 'sshd stop graceful')).toBeLessThan(indexOf(j, 'httpd stopped'));
    expect(indexOf(j, 'sshd stopped')).toBeLessThan(indexOf(j, 'httpd stopped'));
    expect(Math.max(indexOf(j, 'httpd stopped'), indexOf(j, 'sshd stopped'))).toBeLessThan(indexOf(j, 'tm stop graceful'));

    expect(plan).toMatchObject({ action: 'shutdown', mode: 'graceful', status: 'done', requestedBy: signal });
    expect(plan.steps.map((s) => s.name)).toEqual(['pause-monitor', 'intake', 'protocol', 'tm', 'exit']);
    const [, intake, protocol, tm] = plan.steps;
    expect(Date.parse(intake!.endedAt!)).toBeLessThanOrEqual(Date.parse(protocol!.startedAt!));
    expect(Date.parse(protocol!.endedAt!)).toBeLessThanOrEqual(Date.parse(tm!.startedAt!));
    expect(protocol!.components.map((c) => c.id).sort()).toEqual(['httpd', 'sshd']);
    for (const c of protocol!.components) {
      expect(c).toMatchObject({ kind: 'protocol', finalState: 'stopped', skipped: null });
      expect(Date.parse(c.drainEndedAt!)).toBeGreaterThanOrEqual(Date.parse(c.drainStartedAt!));
    }
    expect(n.messages.map((m) => m.type)).toContain('plan:end');
    expect(n.messages.at(-1)).toMatchObject({ type: 'plan:end', message: 'every component stopped: the node exits' });
  });

  it("gives each component its own timeout, or the request's", async () => {
    const n = node();
    n.members.httpd.gracefulShutdownTimeout = 30_000;
    n.members.sshd.gracefulShutdownTimeout = 86_400_000;
    n.coordinator.shutdown({ graceful: true, requestedBy: signal });
    await n.exited;
    expect(n.members.httpd.requests).toEqual(['graceful 30000']);
    expect(n.members.sshd.requests).toEqual(['graceful 86400000']);

    const m = node();
    m.coordinator.shutdown({ graceful: true, timeoutMs: 5000, requestedBy: signal });
    await m.exited;
    expect(Object.values(m.members).map((c) => c.requests)).toEqual(Array(5).fill(['graceful 5000']));
  });

  it('skips a component that is already stopped, with a message', async () => {
    const n = node();
    n.members.sshd.crash();
    n.coordinator.shutdown({ graceful: true, requestedBy: signal });
    const plan = await n.exited;
    expect(n.members.sshd.requests).toEqual([]);
    expect(plan.steps[2]!.components.find((c) => c.id === 'sshd')).toMatchObject({ skipped: 'already failed', finalState: 'failed' });
    expect(n.messages).toContainEqual(expect.objectContaining({ type: 'component:skip', component: 'sshd', message: 'sshd: already failed, skipped' }));
  });

  it('a second, immediate request stops everything still up at once', async () => {
    const n = node({ drainMs: { scheduler: 10_000, 'folder-monitor': 10_000 } });
    const first = n.coordinator.shutdown({ graceful: true, requestedBy: signal });
    await new Promise((r) => setTimeout(r, 30));
    const second = n.coordinator.shutdown({ graceful: false, requestedBy: signal });
    expect(second.id).toBe(first.id);
    const started = Date.now();
    const plan = await n.exited;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(plan.mode).toBe('immediate');
    expect(n.members.tm.requests).toEqual(['immediate']);
    expect(n.members.scheduler.requests).toEqual(['graceful 30000', 'immediate']);
    expect(n.messages).toContainEqual(expect.objectContaining({ type: 'plan:escalate' }));
    // The steps still ran in order, and found the later components stopped.
    expect(plan.steps.map((s) => s.name)).toEqual(['pause-monitor', 'intake', 'protocol', 'tm', 'exit']);
    expect(plan.steps[3]!.components[0]).toMatchObject({ id: 'tm', skipped: 'already stopped' });
  });

  it('a second request with a shorter timeout brings the deadlines closer', async () => {
    const n = node({ drainMs: { scheduler: 10_000, 'folder-monitor': 10_000 } });
    n.coordinator.shutdown({ graceful: true, requestedBy: signal });
    await new Promise((r) => setTimeout(r, 20));
    n.coordinator.shutdown({ graceful: true, timeoutMs: 50, requestedBy: signal });
    const plan = await n.exited;
    expect(plan.timeoutMs).toBe(50);
    expect(n.members.scheduler.requests).toEqual(['graceful 30000', 'graceful 50']);
    expect(n.members.httpd.requests).toEqual(['graceful 50']);
  });

  it('an immediate shutdown stops every component in parallel', async () => {
    const n = node();
    n.coordinator.shutdown({ graceful: false, requestedBy: { via: 'api', detail: 'test' } });
    const plan = await n.exited;
    expect(plan.steps.map((s) => s.name)).toEqual(['pause-monitor', 'immediate', 'exit']);
    expect(n.journal.filter((e) => e.endsWith('stop immediate'))).toHaveLength(5);
  });

  it('refuses suspend and resume while it shuts down', async () => {
    const n = node();
    n.coordinator.shutdown({ graceful: true, requestedBy: signal });
    expect(() => n.coordinator.suspend({ requestedBy: signal })).toThrow(expect.objectContaining({ code: 'FERRY_ERR_LIFECYCLE_TRANSITION' }));
    expect(() => n.coordinator.resume({ requestedBy: signal })).toThrow(/shutting down/);
    await n.exited;
  });
});

describe('node suspend and resume', () => {
  const finished = (n: Node, action: string) =>
    new Promise<void>((resolve) => n.coordinator.watch((m) => m.type === 'plan:end' && m.action === action && resolve()));

  it('suspends intake, then protocol, then tm, each step drained first; resumes tm, protocol, intake, then the monitor', async () => {
    const n = node({ drainMs: { scheduler: 50, httpd: 40 } });
    const suspended = finished(n, 'suspend');
    const plan = n.coordinator.suspend({ requestedBy: { via: 'cli', detail: null } });
    await suspended;
    expect(n.coordinator.current()).toMatchObject({ id: plan.id, status: 'done' });
    const j = n.journal;
    expect(j[0]).toBe('monitor pause');
    expect(Math.max(indexOf(j, 'scheduler drained'), indexOf(j, 'folder-monitor drained'))).toBeLessThan(Math.min(indexOf(j, 'httpd suspend'), indexOf(j, 'sshd suspend')));
    expect(Math.max(indexOf(j, 'httpd drained'), indexOf(j, 'sshd drained'))).toBeLessThan(indexOf(j, 'tm suspend'));
    expect(Object.values(n.members).map((m) => m.state)).toEqual(Array(5).fill('drained'));

    j.length = 0;
    const resumed = finished(n, 'resume');
    n.coordinator.resume({ requestedBy: { via: 'cli', detail: null } });
    await resumed;
    expect(j.filter((e) => e.endsWith(' resume'))).toEqual(['tm resume', 'httpd resume', 'sshd resume', 'scheduler resume', 'folder-monitor resume', 'monitor resume']);
    expect(Object.values(n.members).map((m) => m.state)).toEqual(Array(5).fill('running'));
  });

  it('a shutdown supersedes a suspension under way, and stops the suspended components', async () => {
    const n = node({ drainMs: { scheduler: 10_000 } });
    const suspend = n.coordinator.suspend({ requestedBy: signal });
    await new Promise((r) => setTimeout(r, 30));
    n.coordinator.shutdown({ graceful: true, timeoutMs: 100, requestedBy: signal });
    const plan = await n.exited;
    expect(plan.status).toBe('done');
    expect(n.messages).toContainEqual(expect.objectContaining({ plan: suspend.id, type: 'plan:end', message: expect.stringContaining('superseded') }));
    expect(Object.values(n.members).every((m) => m.state === 'stopped')).toBe(true);
  });
});

describe('shutdown report', () => {
  let dir: string | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    store = undefined;
    dir = undefined;
  });

  it('is stored as the plan goes and holds the transfers and jobs of each drain window', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-plan-'));
    store = await openStore({ url: `sqlite:${join(dir, 't.db')}`, dataDir: dir });
    const s = store;
    const n = node({ store: s, drainMs: { httpd: 80, tm: 80 } });
    // While httpd drains: one upload completes, one is cut. Before the plan: one that must not show.
    const old = new Date(Date.now() - 60_000).toISOString();
    await s.history.record(transfer('t0', 'completed', old));
    n.members.httpd.on('state', (state) => {
      if (state !== 'draining') return;
      const at = new Date().toISOString();
      void s.history.record(transfer('t1', 'completed', at));
      void s.history.record(transfer('t2', 'interrupted', at));
    });
    n.members.tm.on('state', (state) => {
      if (state !== 'draining') return;
      void (async () => {
        for (const key of ['a', 'b']) await s.jobs.enqueue({ kind: 'routing', payload: {}, dedupeKey: key });
        const a = await s.jobs.claim({ worker: 'w', leaseMs: 10_000 });
        const b = await s.jobs.claim({ worker: 'w', leaseMs: 10_000 });
        await s.jobs.complete(a!.id, 'w');
        await s.jobs.release(b!.id, 'w', 'drain deadline');
        await s.events.record({ component: 'tm', event: 'job:released', detail: { jobId: b!.id, kind: b!.kind } });
      })();
    });

    const plan = n.coordinator.shutdown({ graceful: true, requestedBy: { via: 'cli', detail: 'admin' } });
    // Saved from the first message on: a node killed now leaves a partial report.
    await new Promise((r) => setTimeout(r, 30));
    const partial = await s.shutdownReports.list();
    expect(partial).toHaveLength(1);
    expect(partial[0]!.plan).toMatchObject({ id: plan.id, status: 'running' });

    await n.exited;
    const [report] = await s.shutdownReports.list();
    expect(report!.plan).toMatchObject({ status: 'done', requestedBy: { via: 'cli', detail: 'admin' }, finishedAt: expect.any(String) });
    expect(await s.shutdownReports.get(report!.id)).toEqual(report);
    const httpd = report!.plan.steps.flatMap((st) => st.components).find((c) => c.id === 'httpd')!;
    expect(httpd.transfers.completed.map((t) => t.id)).toEqual(['t1']);
    expect(httpd.transfers.cut).toEqual([expect.objectContaining({ id: 't2', path: '/in/t2', account: 'alice', outcome: 'interrupted' })]);
    const tm = report!.plan.steps.flatMap((st) => st.components).find((c) => c.id === 'tm')!;
    expect(tm.jobs!.completed).toEqual([expect.objectContaining({ kind: 'routing', outcome: 'done' })]);
    expect(tm.jobs!.released).toEqual([expect.objectContaining({ kind: 'routing', outcome: 'released' })]);
    expect(report!.messages.at(-1)).toMatchObject({ type: 'plan:end' });
  });
});

function transfer(id: string, outcome: 'completed' | 'interrupted', endedAt: string) {
  return {
    id,
    component: 'httpd',
    protocol: 'http',
    account: 'alice',
    remoteAddress: '192.0.2.1',
    path: `/in/${id}`,
    direction: 'upload' as const,
    bytes: 10,
    size: 10,
    outcome,
    reason: null,
    startedAt: endedAt,
    endedAt,
  };
}
