import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ComponentRuntime,
  createLogger,
  isFerryError,
  openStore,
  type Component,
  type ComponentContext,
  type Store,
  type Transfer,
} from '@ferry/core';

/**
 * A minimal daemon for the runtime: it has sessions and "transfers" that tick until done or cut,
 * the way a protocol daemon's would, so the core's drain decisions can be checked in isolation.
 */
class TickingDaemon implements Component {
  readonly id = 'tickd';
  ctx!: ComponentContext;
  stops: string[] = [];
  closedSessions: string[] = [];

  async start(ctx: ComponentContext): Promise<void> {
    this.ctx = ctx;
  }

  openSession(): string {
    const session = this.ctx.sessions.open({
      protocol: 'tick',
      remoteAddress: '127.0.0.1',
      closePolitely: () => {
        this.closedSessions.push(session.id);
        this.ctx.sessions.close(session.id);
      },
    });
    return session.id;
  }

  /** A transfer of `chunks` chunks, one every `everyMs`. Resolves with how it ended. */
  transfer(sessionId: string, chunks: number, everyMs: number): { transfer: Transfer; done: Promise<string> } {
    this.ctx.gate.check('upload');
    const transfer = this.ctx.transfers.begin({
      protocol: 'tick',
      account: 'alice',
      remoteAddress: '127.0.0.1',
      path: '/f.bin',
      direction: 'upload',
      size: chunks,
      sessionId,
    });
    const done = new Promise<string>((resolve) => {
      let sent = 0;
      const timer = setInterval(() => {
        transfer.progress(1);
        if (++sent === chunks) {
          clearInterval(timer);
          transfer.end('completed');
          resolve('completed');
        }
      }, everyMs);
      transfer.signal.addEventListener('abort', () => {
        clearInterval(timer);
        transfer.end('interrupted', String((transfer.signal.reason as Error).message));
        resolve('interrupted');
      });
    });
    return { transfer, done };
  }

  async stop(mode: string): Promise<void> {
    this.stops.push(mode);
  }
}

const silent = createLogger({ component: 'tickd', level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) as never });

describe('ComponentRuntime', () => {
  let dir: string;
  let store: Store;
  let daemon: TickingDaemon;
  let runtime: ComponentRuntime;
  const states: string[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-runtime-'));
    store = await openStore({ url: `sqlite:${join(dir, 't.db')}`, dataDir: dir });
    daemon = new TickingDaemon();
    runtime = new ComponentRuntime({
      component: daemon,
      config: { gracefulShutdownTimeout: 30_000 },
      dataDir: dir,
      store,
      log: silent,
      loggingIntervalMs: 60_000,
      abortGraceMs: 200,
    });
    states.length = 0;
    runtime.on('state', (s) => states.push(s));
    await runtime.start();
  });

  afterEach(async () => {
    await runtime.stopNow();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('drains the moment the last transfer ends, refusing new work meanwhile, and closes idle sessions', async () => {
    const busy = daemon.openSession();
    const idle = daemon.openSession();
    const { done } = daemon.transfer(busy, 5, 40);
    const t0 = Date.now();
    const stopped = runtime.gracefulStop(Date.now() + 10_000);
    expect(runtime.state).toBe('draining');
    expect(daemon.closedSessions).toEqual([idle]);
    expect(() => daemon.ctx.gate.check('list')).toThrowError(/shutting down/);
    try {
      daemon.ctx.gate.check('upload');
    } catch (err) {
      expect(isFerryError(err, 'FERRY_ERR_DRAINING')).toBe(true);
      expect((err as { details: { retryAfterSeconds: number } }).details.retryAfterSeconds).toBeGreaterThan(0);
    }
    expect(await done).toBe('completed');
    await stopped;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(daemon.closedSessions).toEqual([idle, busy]);
    expect(states).toEqual(['starting', 'running', 'draining', 'drained', 'stopping', 'stopped']);
    expect(daemon.stops).toEqual(['graceful']);
    const [record] = await store.history.list({ limit: 1 });
    expect(record).toMatchObject({ outcome: 'completed', bytes: 5, path: '/f.bin', direction: 'upload' });
  });

  it('cuts what is left at the deadline and records it interrupted', async () => {
    const { done } = daemon.transfer(daemon.openSession(), 1000, 20);
    const t0 = Date.now();
    await runtime.gracefulStop(Date.now() + 300);
    expect(await done).toBe('interrupted');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(1500);
    const [record] = await store.history.list({ limit: 1 });
    expect(record).toMatchObject({ outcome: 'interrupted', reason: 'drain deadline reached' });
    expect(runtime.transfers.size).toBe(0);
  });

  it('ends transfers that a daemon fails to end after the abort grace', async () => {
    const session = daemon.openSession();
    daemon.ctx.transfers.begin({ protocol: 'tick', account: null, remoteAddress: null, path: '/stuck', direction: 'download', sessionId: session });
    await runtime.gracefulStop(Date.now() + 100);
    expect(runtime.state).toBe('stopped');
    expect(runtime.transfers.size).toBe(0);
  });

  it('suspend holds drained until resume; resume reopens the gate', async () => {
    await runtime.suspend();
    expect(runtime.state).toBe('drained');
    expect(() => daemon.ctx.gate.check('login')).toThrowError(/suspended/);
    runtime.resume();
    expect(runtime.state).toBe('running');
    expect(() => daemon.ctx.gate.check('login')).not.toThrow();
    expect(daemon.stops).toEqual([]);
  });

  it('resume cancels a graceful stop that is still draining', async () => {
    const { done } = daemon.transfer(daemon.openSession(), 10, 20);
    void runtime.gracefulStop(Date.now() + 10_000);
    runtime.resume();
    expect(runtime.state).toBe('running');
    expect(await done).toBe('completed');
    expect(runtime.state).toBe('running');
  });

  it('a second stop shortens the deadline; an immediate stop escalates', async () => {
    const { done } = daemon.transfer(daemon.openSession(), 1000, 20);
    void runtime.gracefulStop(Date.now() + 60_000);
    const t0 = Date.now();
    await runtime.gracefulStop(Date.now() + 200);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(await done).toBe('interrupted');

    await runtime.start();
    const second = daemon.transfer(daemon.openSession(), 1000, 20);
    void runtime.gracefulStop(Date.now() + 60_000);
    await runtime.stopNow();
    expect(await second.done).toBe('interrupted');
    expect(runtime.state).toBe('stopped');
    // Stopping a stopped component is a no-op, never an error.
    await runtime.stopNow();
    await runtime.gracefulStop();
  });

  it('a suspension turns into a stop when a stop is requested while drained', async () => {
    await runtime.suspend();
    await runtime.gracefulStop();
    expect(runtime.state).toBe('stopped');
  });

  it('counts short operations admitted before the drain', async () => {
    let finish!: () => void;
    const op = daemon.ctx.gate.run('rename', () => new Promise<void>((r) => (finish = r)));
    const stopped = runtime.gracefulStop(Date.now() + 10_000);
    expect(runtime.state).toBe('draining');
    finish();
    await op;
    await stopped;
    expect(runtime.state).toBe('stopped');
  });
});

describe('ComponentRuntime recording ended transfers', () => {
  it('forgets a transfer at once, records it shortly after, and logs it before the state change that follows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-runtime-'));
    const store = await openStore({ url: `sqlite:${join(dir, 't.db')}`, dataDir: dir });
    const lines: { event?: string; state?: string; transfer?: { path: string } }[] = [];
    const destination = new Writable({
      write: (chunk: Buffer, _e, cb) => {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
        cb();
      },
    });
    const log = createLogger({ component: 'tickd', destination: destination as never });
    const daemon = new TickingDaemon();
    const runtime = new ComponentRuntime({ component: daemon, config: { gracefulShutdownTimeout: 30_000 }, dataDir: dir, store, log, loggingIntervalMs: 60_000 });
    try {
      await runtime.start();
      const begin = (path: string) => daemon.ctx.transfers.begin({ protocol: 'tick', account: 'alice', remoteAddress: null, path, direction: 'upload' });
      begin('/first.bin').end('completed');
      // Gone from the registry (drains see it) before anything is written about it.
      expect(runtime.transfers.size).toBe(0);
      expect(lines.some((l) => l.event === 'transfer.end')).toBe(false);
      await expect.poll(async () => (await store.history.list()).map((r) => r.path), { timeout: 2000 }).toEqual(['/first.bin']);
      expect(lines.filter((l) => l.event === 'transfer.end').map((l) => l.transfer?.path)).toEqual(['/first.bin']);

      begin('/last.bin').end('completed');
      await runtime.gracefulStop();
      const order = lines.filter((l) => l.event === 'transfer.end' || l.event === 'state').map((l) => l.transfer?.path ?? l.state);
      expect(order.slice(order.indexOf('/last.bin'))).toEqual(['/last.bin', 'draining', 'drained', 'stopping', 'stopped']);
      await runtime.writesSettled();
      expect((await store.history.list()).map((r) => r.path).sort()).toEqual(['/first.bin', '/last.bin']);
    } finally {
      await runtime.stopNow();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ComponentRuntime while starting', () => {
  it('a stop that arrives before the component serves stops it, and start does not revive it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-runtime-'));
    const store = await openStore({ url: `sqlite:${join(dir, 't.db')}`, dataDir: dir });
    let release!: () => void;
    const slow: Component = {
      id: 'slowd',
      start: () => new Promise<void>((r) => (release = r)),
      stop: async () => undefined,
    };
    const runtime = new ComponentRuntime({ component: slow, config: { gracefulShutdownTimeout: 1000 }, dataDir: dir, store, log: silent, loggingIntervalMs: 60_000 });
    const started = runtime.start();
    expect(runtime.state).toBe('starting');
    const stopped = runtime.gracefulStop();
    release();
    await started;
    await stopped;
    expect(runtime.state).toBe('stopped');
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
});

describe('ComponentRuntime and the transaction manager', () => {
  let dir: string;
  let store: Store;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-runtime-'));
    store = await openStore({ url: `sqlite:${join(dir, 't.db')}`, dataDir: dir });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const host = (daemon: Component, routeUploads: boolean) =>
    new ComponentRuntime({ component: daemon, config: { gracefulShutdownTimeout: 30_000 }, dataDir: dir, store, log: silent, loggingIntervalMs: 60_000, abortGraceMs: 200, routeUploads });

  it('a completed upload enqueues its routing once, where it is stored; other transfers do not', async () => {
    const daemon = new TickingDaemon();
    const runtime = host(daemon, true);
    await runtime.start();
    const session = daemon.openSession();
    await daemon.transfer(session, 2, 5).done;
    const elsewhere = daemon.ctx.transfers.begin({ protocol: 'as2', account: 'PARTNER', remoteAddress: null, path: '/x.edi', storedAs: { account: null, path: '/srv/as2/x.edi' }, direction: 'upload' });
    elsewhere.end('completed');
    daemon.ctx.transfers.begin({ protocol: 'tick', account: 'alice', remoteAddress: null, path: '/cut', direction: 'upload' }).end('interrupted', 'cut');
    daemon.ctx.transfers.begin({ protocol: 'tick', account: 'alice', remoteAddress: null, path: '/down', direction: 'download' }).end('completed');
    await runtime.stopNow();
    await runtime.writesSettled();
    const jobs = await store.jobs.list();
    expect(jobs.map((j) => [j.kind, j.payload.file, j.payload.source]).reverse()).toEqual([
      ['route', { account: 'alice', path: '/f.bin' }, 'tickd'],
      ['route', { account: null, path: '/srv/as2/x.edi' }, 'tickd'],
    ]);
    expect(jobs.every((j) => j.dedupeKey?.startsWith('route:'))).toBe(true);
  });

  it('does not enqueue routing unless the node runs a tm with routes', async () => {
    const daemon = new TickingDaemon();
    const runtime = host(daemon, false);
    await runtime.start();
    await daemon.transfer(daemon.openSession(), 1, 5).done;
    await runtime.stopNow();
    await runtime.writesSettled();
    expect(await store.jobs.list()).toEqual([]);
  });

  it('a running job holds the drain; at the deadline it is cut through its signal', async () => {
    const daemon = new TickingDaemon();
    const runtime = host(daemon, false);
    await runtime.start();
    const finishing = daemon.ctx.jobs.begin({ jobId: 1, kind: 'step', label: 'finishes' });
    const stuck = daemon.ctx.jobs.begin({ jobId: 2, kind: 'push', label: 'never finishes by itself' });
    stuck.signal.addEventListener('abort', () => stuck.end('released', 'cut'));
    const stopped = runtime.gracefulStop(Date.now() + 300);
    expect(runtime.status().jobs.map((j) => j.jobId)).toEqual([1, 2]);
    finishing.end('completed');
    await new Promise((r) => setTimeout(r, 50));
    expect(runtime.state).toBe('draining');
    await stopped;
    expect(stuck.signal.aborted).toBe(true);
    expect(runtime.state).toBe('stopped');
  });
});
