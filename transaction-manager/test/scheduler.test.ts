import { ComponentRuntime, createLogger, FerryError, loadConfig, openStore, type Job, type Store } from '@ferry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createScheduler, describeSchedules, MAX_CATCH_UP, schedulerSection, type SchedulerConfig } from '../src/scheduler/index.js';
import { parseCron, planFires } from '../src/scheduler/cron.js';
import { forEachEngine, type Target } from '../../servers/core/test/store-targets.js';
import { eventually, intakeHarness, sleep } from './support-intake.js';

const EVERY_SECOND = '* * * * * *';
const POLICIES = ['skip', 'once', 'all'] as const;

function config(schedules: unknown[]): SchedulerConfig {
  return schedulerSection.schema.parse({ schedules });
}

/** The fire time a scheduled job was enqueued for, from its dedupe key. */
function fireTime(job: Job): number {
  const match = /^schedule:[^:]+:(.+)$/.exec(job.dedupeKey ?? '');
  if (!match?.[1]) throw new Error(`not a scheduled job: ${job.dedupeKey}`);
  return Date.parse(match[1]);
}

function firesOf(jobs: Job[], name: string): number[] {
  return jobs.filter((job) => job.dedupeKey?.startsWith(`schedule:${name}:`)).map(fireTime);
}

function everyPolicy(jobs: Job[], check: (fires: number[]) => boolean): boolean {
  return POLICIES.every((policy) => check(firesOf(jobs, policy)));
}

/** Waits until the wall clock is `offset` ms into a second, away from the every-second fire times. */
async function midSecond(offset = 400): Promise<void> {
  const into = Date.now() % 1000;
  await sleep((offset - into + 1000) % 1000);
}

/** Whole seconds in (after, until]. */
function secondsBetween(after: number, until: number): number[] {
  const times: number[] = [];
  for (let t = Math.floor(after / 1000) * 1000 + 1000; t <= until; t += 1000) times.push(t);
  return times;
}

describe('scheduler', () => {
  // The runs below each span seconds of wall clock; they use separate stores and overlap.
  it.concurrent('enqueues a job at each fire time, keyed by schedule and fire time', async () => {
    const h = await intakeHarness<SchedulerConfig>('scheduler');
    onTestFinished(() => h.close());
    const runtime = h.host(createScheduler(), config([{ name: 'hourly-pull', cron: EVERY_SECOND, job: { kind: 'pull', payload: { site: 'partner' } } }]));
    await runtime.start();
    await eventually(async () => (await h.jobs()).length >= 2, 4000);
    await runtime.gracefulStop();
    expect(runtime.state).toBe('stopped');

    const jobs = await h.jobs();
    const times = jobs.map(fireTime);
    for (const [i, job] of jobs.entries()) {
      expect(job.dedupeKey).toBe(`schedule:hourly-pull:${new Date(times[i] ?? 0).toISOString()}`);
      expect(job.kind).toBe('pull');
      expect(job.payload).toEqual({ site: 'partner' });
      expect((times[i] ?? 1) % 1000).toBe(0);
      if (i > 0) expect(times[i]).toBe((times[i - 1] ?? 0) + 1000);
    }
    const state = await h.store.schedules.get('hourly-pull');
    expect(state?.lastFireAt).toBe(new Date(times.at(-1) ?? 0).toISOString());
    expect(h.lines.some((line) => line.event === 'schedule.fire')).toBe(true);
  });

  it.concurrent('a suspension: missed fires follow each policy on resume, nothing is enqueued while drained', async () => {
    const h = await intakeHarness<SchedulerConfig>('scheduler-suspend');
    try {
      const runtime = h.host(createScheduler(), config(POLICIES.map((misfire) => ({ name: misfire, cron: EVERY_SECOND, misfire, job: { kind: 'run', payload: {} } }))));
      await runtime.start();
      await eventually(async () => everyPolicy(await h.jobs(), (fires) => fires.length > 0), 4000);

      await midSecond();
      await runtime.suspend();
      expect(runtime.state).toBe('drained');
      const before = await h.jobs();
      await sleep(2500);
      await midSecond();
      expect(await h.jobs()).toHaveLength(before.length);

      runtime.resume();
      const resumedAt = Date.now();
      // The first regular fire after the resume comes after the catch-up.
      await eventually(async () => everyPolicy(await h.jobs(), (fires) => fires.some((t) => t > resumedAt)), 4000);
      await runtime.gracefulStop();

      const after = await h.jobs();
      for (const policy of POLICIES) {
        const lastBefore = Math.max(...firesOf(before, policy));
        const missed = secondsBetween(lastBefore, resumedAt);
        expect(missed.length).toBeGreaterThanOrEqual(2);
        const caughtUp = firesOf(after, policy).filter((t) => t > lastBefore && t <= resumedAt);
        const expected = { skip: [], once: missed.slice(-1), all: missed }[policy];
        expect(caughtUp, policy).toEqual(expected);
      }
      const decisions = h.lines.filter((line) => line.event === 'schedule.misfire').map((line) => line['misfire']);
      expect(decisions.sort()).toEqual(['all', 'once', 'skip']);
    } finally {
      await h.close();
    }
  });

  it.concurrent('a stop and a later start: missed fires follow each policy', async () => {
    const h = await intakeHarness<SchedulerConfig>('scheduler-restart');
    try {
      const section = config(POLICIES.map((misfire) => ({ name: misfire, cron: EVERY_SECOND, misfire, job: { kind: 'webhook', payload: { url: 'https://example.test/hook' } } })));
      const first = h.host(createScheduler(), section);
      await first.start();
      await eventually(async () => everyPolicy(await h.jobs(), (fires) => fires.length > 0), 4000);
      await midSecond();
      await first.gracefulStop();
      expect(first.state).toBe('stopped');
      const before = await h.jobs();
      await sleep(2500);
      await midSecond();
      expect(await h.jobs()).toHaveLength(before.length);

      // As after a process restart: a new component and runtime over the same store.
      const second = h.host(createScheduler(), section);
      const startedAt = Date.now();
      await second.start();
      await eventually(async () => everyPolicy(await h.jobs(), (fires) => fires.some((t) => t > startedAt)), 4000);
      await second.gracefulStop();

      const after = await h.jobs();
      for (const policy of POLICIES) {
        const lastBefore = Math.max(...firesOf(before, policy));
        const missed = secondsBetween(lastBefore, startedAt);
        expect(missed.length).toBeGreaterThanOrEqual(2);
        const caughtUp = firesOf(after, policy).filter((t) => t > lastBefore && t <= startedAt);
        expect(caughtUp, policy).toEqual({ skip: [], once: missed.slice(-1), all: missed }[policy]);
        // Each fire time once, whatever happened in between.
        expect(new Set(firesOf(after, policy)).size).toBe(firesOf(after, policy).length);
      }
    } finally {
      await h.close();
    }
  });

  it('bounds the catch-up of policy all and finds the latest fires quickly', () => {
    const cron = parseCron(EVERY_SECOND);
    const now = new Date('2025-03-01T12:00:00.500Z');
    const yearAgo = new Date('2024-03-01T12:00:00.000Z');
    const started = performance.now();
    const all = planFires(cron, 'all', yearAgo, now, false);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(all.caughtUp).toHaveLength(MAX_CATCH_UP);
    expect(all).toMatchObject({ overflow: true, onTime: [] });
    expect(all.caughtUp.at(-1)?.toISOString()).toBe('2025-03-01T12:00:00.000Z');
    expect(all.caughtUp[0]?.toISOString()).toBe(new Date(Date.parse('2025-03-01T12:00:00.000Z') - (MAX_CATCH_UP - 1) * 1000).toISOString());

    expect(planFires(cron, 'once', yearAgo, now, false).caughtUp.map((d) => d.toISOString())).toEqual(['2025-03-01T12:00:00.000Z']);
    expect(planFires(cron, 'skip', yearAgo, now, false).caughtUp).toEqual([]);
    // A timer tick: fires at most a minute late are on time whatever the policy, older ones were missed.
    const tick = planFires(cron, 'skip', new Date('2025-03-01T11:59:57.400Z'), now, true);
    expect(tick).toMatchObject({ missed: 0, caughtUp: [] });
    expect(tick.onTime.map((d) => d.toISOString())).toEqual(['2025-03-01T11:59:58.000Z', '2025-03-01T11:59:59.000Z', '2025-03-01T12:00:00.000Z']);
    const slept = planFires(parseCron('0 * * * *'), 'once', new Date('2025-03-01T08:00:00.000Z'), new Date('2025-03-01T12:00:30.000Z'), true);
    expect(slept).toMatchObject({ missed: 3, overflow: false });
    expect(slept.caughtUp.map((d) => d.toISOString())).toEqual(['2025-03-01T11:00:00.000Z']);
    expect(slept.onTime.map((d) => d.toISOString())).toEqual(['2025-03-01T12:00:00.000Z']);
  });

  it('describes the schedules with their next fire time', () => {
    const section = config([
      { name: 'nightly', cron: '30 2 * * *', timezone: 'UTC', job: { kind: 'push', payload: { site: 'bank' } } },
      { name: 'quarterly', cron: '0 0 1 */3 *', timezone: 'Europe/Paris', misfire: 'skip', job: { kind: 'route' } },
    ]);
    expect(describeSchedules(section, new Date('2025-03-01T12:00:00Z'))).toEqual([
      { name: 'nightly', cron: '30 2 * * *', timezone: 'UTC', misfire: 'once', kind: 'push', nextFire: '2025-03-02T02:30:00.000Z' },
      { name: 'quarterly', cron: '0 0 1 */3 *', timezone: 'Europe/Paris', misfire: 'skip', kind: 'route', nextFire: '2025-03-31T22:00:00.000Z' },
    ]);
  });
});

describe('scheduler config', () => {
  const load = (yaml: string) => loadConfig({ env: {}, text: yaml, sections: [schedulerSection] });
  const refusal = (yaml: string): FerryError => {
    try {
      load(yaml);
    } catch (err) {
      if (err instanceof FerryError) return err;
      throw err;
    }
    throw new Error('the config was accepted');
  };

  it('loads schedules with their defaults', () => {
    const loaded = load(`scheduler:\n  schedules:\n    - {name: pull-bank, cron: "0 * * * *", job: {kind: pull, payload: {site: bank}}}\n`);
    expect(loaded.scheduler.schedules).toEqual([{ name: 'pull-bank', cron: '0 * * * *', misfire: 'once', job: { kind: 'pull', payload: { site: 'bank' } } }]);
    expect(loaded.scheduler.gracefulShutdownTimeout).toBe(30_000);
  });

  it('refuses a cron that does not parse, naming the key and the value', () => {
    const err = refusal(`scheduler:\n  schedules:\n    - {name: a, cron: "0 * * * *", job: {kind: run}}\n    - {name: b, cron: "61 * * * *", job: {kind: run}}\n`);
    expect(err.code).toBe('FERRY_ERR_CONFIG_INVALID');
    expect(err.message).toContain('scheduler.schedules[1].cron: Invalid value for minute: 61, got "61 * * * *"; allowed: a cron expression of 5 fields');
    expect(err.details['key']).toBe('scheduler.schedules[1].cron');
    expect(refusal(`scheduler:\n  schedules:\n    - {name: a, cron: "every hour", job: {kind: run}}\n`).message).toContain('scheduler.schedules[0].cron:');
  });

  it('refuses a name given twice, naming the later entry', () => {
    const err = refusal(`scheduler:\n  schedules:\n    - {name: a, cron: "0 * * * *", job: {kind: run}}\n    - {name: a, cron: "5 * * * *", job: {kind: run}}\n`);
    expect(err.details['key']).toBe('scheduler.schedules[1].name');
    expect(err.message).toContain('the schedule name "a" is already used by entry [0]');
  });

  it('refuses an unknown time zone, job kind or misfire policy, and a payload that is not a mapping', () => {
    const err = refusal(
      `scheduler:\n  schedules:\n    - {name: a, cron: "0 * * * *", timezone: Mars/Olympus, misfire: twice, job: {kind: transfer, payload: [1]}}\n`,
    );
    const keys = (err.details['issues'] as { key: string }[]).map((issue) => issue.key).sort();
    expect(keys).toEqual(['scheduler.schedules[0].job.kind', 'scheduler.schedules[0].job.payload', 'scheduler.schedules[0].misfire', 'scheduler.schedules[0].timezone']);
  });
});

await forEachEngine('scheduler store', (engine, target) => {
  describe(`schedules in the store (${engine})`, () => {
    // One database for the suite: creating a PostgreSQL database costs about a second.
    let targets: Target | undefined;
    let db = { url: '', dataDir: '' };
    const stores: Store[] = [];
    const open = async (): Promise<Store> => {
      const store = await openStore(db);
      stores.push(store);
      return store;
    };
    beforeAll(async () => {
      targets = await target();
      db = await targets.fresh();
    });
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
    });
    afterAll(() => targets?.cleanup());

    it('starts a schedule at its first start and never moves it back', async () => {
      const store = await open();
      const first = await store.schedules.track('nightly', '2025-03-01T12:00:00.000Z');
      expect(first).toMatchObject({ name: 'nightly', coveredUntil: '2025-03-01T12:00:00.000Z', lastFireAt: null });
      expect((await store.schedules.track('nightly', '2025-03-02T00:00:00.000Z')).coveredUntil).toBe('2025-03-01T12:00:00.000Z');

      await store.schedules.advance('nightly', '2025-03-02T02:30:00.500Z', '2025-03-02T02:30:00.000Z');
      // A slower node reporting an older fire changes nothing.
      await store.schedules.advance('nightly', '2025-03-02T02:29:00.000Z', '2025-03-01T02:30:00.000Z');
      await store.schedules.advance('nightly', '2025-03-02T02:31:00.000Z', null);
      expect(await store.schedules.get('nightly')).toMatchObject({ coveredUntil: '2025-03-02T02:31:00.000Z', lastFireAt: '2025-03-02T02:30:00.000Z' });
      expect((await store.schedules.list()).map((state) => state.name)).toEqual(['nightly']);
      await expect(store.schedules.advance('nightly', 'yesterday', null)).rejects.toMatchObject({ code: 'FERRY_ERR_BAD_REQUEST' });
    });

    it('two nodes sharing the store fire each schedule once per fire time', async () => {
      const section = config([{ name: 'shared', cron: EVERY_SECOND, job: { kind: 'route', payload: {} } }]);
      const lines: string[] = [];
      const nodes = await Promise.all(
        ['node-a', 'node-b'].map(async () => {
          const store = await open();
          const log = createLogger({ component: 'scheduler', destination: { write: (line: string) => void lines.push(line) } });
          return new ComponentRuntime({ component: createScheduler(), config: section, dataDir: db.dataDir, store, log, loggingIntervalMs: 60_000 });
        }),
      );
      await Promise.all(nodes.map((node) => node.start()));
      const store = stores[0];
      if (!store) throw new Error('no store');
      await eventually(async () => (await store.jobs.list()).length >= 2, 4000);
      await sleep(300);
      await Promise.all(nodes.map((node) => node.gracefulStop()));
      const jobs = await store.jobs.list({ limit: 1000 });
      const times = jobs.map(fireTime);
      expect(new Set(times).size).toBe(times.length);
      // Both nodes fired; the second enqueue of each fire time found the first node's job.
      const fires = lines.map((line) => JSON.parse(line) as { event?: string; created?: boolean }).filter((line) => line.event === 'schedule.fire');
      expect(fires.filter((line) => line.created === true)).toHaveLength(jobs.length);
      expect(fires.some((line) => line.created === false)).toBe(true);
    });
  });
});
