import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '../src/errors.js';
import { openStore, type Store } from '../src/store/index.js';
import { forEachEngine, type Target } from './store-targets.js';

/** The durable job queue on both engines: claims, leases, retries, release, recovery, dedupe. */
function jobsSuite(engine: string, makeTarget: () => Promise<Target>): void {
  describe(`job queue on ${engine}`, () => {
    let target: Target;
    let store: Store;
    let url: string;
    let dataDir: string;

    beforeAll(async () => {
      target = await makeTarget();
      ({ url, dataDir } = await target.fresh());
      store = await openStore({ url, dataDir });
    });

    afterAll(async () => {
      await store?.close();
      await target?.cleanup();
    });

    async function drain(): Promise<void> {
      for (let job = await store.jobs.claim({ worker: 'sweep', leaseMs: 60_000 }); job; job = await store.jobs.claim({ worker: 'sweep', leaseMs: 60_000 })) {
        await store.jobs.complete(job.id, 'sweep');
      }
    }

    it('enqueues once per dedupe key and claims the oldest due job first', async () => {
      await drain();
      const a = await store.jobs.enqueue({ kind: 'route', payload: { n: 1 }, dedupeKey: 'route:t-1' });
      const again = await store.jobs.enqueue({ kind: 'route', payload: { n: 99 }, dedupeKey: 'route:t-1' });
      expect(a.created).toBe(true);
      expect(again).toMatchObject({ created: false, job: { id: a.job.id, payload: { n: 1 } } });
      const later = await store.jobs.enqueue({ kind: 'push', payload: {}, runAfter: new Date(Date.now() + 60_000).toISOString() });
      const b = await store.jobs.enqueue({ kind: 'push', payload: { n: 2 } });

      const first = await store.jobs.claim({ worker: 'w1', leaseMs: 30_000 });
      expect(first).toMatchObject({ id: a.job.id, status: 'running', claimedBy: 'w1', attempts: 1 });
      expect((await store.jobs.claim({ worker: 'w1', leaseMs: 30_000 }))?.id).toBe(b.job.id);
      expect(await store.jobs.claim({ worker: 'w1', leaseMs: 30_000 })).toBeUndefined();
      expect(await store.jobs.counts()).toMatchObject({ running: 2, queued: 1 });

      expect(await store.jobs.complete(a.job.id, 'w1', { ok: true })).toBe(true);
      // Only the holder may settle a job.
      expect(await store.jobs.complete(b.job.id, 'w2')).toBe(false);
      expect(await store.jobs.get(a.job.id)).toMatchObject({ status: 'done', result: { ok: true } });
      await store.jobs.complete(b.job.id, 'w1');
      expect((await store.jobs.get(later.job.id))!.status).toBe('queued');
    });

    it('retries with a run-after, fails for good, requeues; release does not count the attempt', async () => {
      await drain();
      const { job } = await store.jobs.enqueue({ kind: 'pull', payload: {}, maxAttempts: 2 });
      await store.jobs.claim({ worker: 'w', leaseMs: 30_000 });
      const soon = new Date(Date.now() + 200).toISOString();
      expect(await store.jobs.retry(job.id, 'w', 'remote said no', soon)).toBe(true);
      expect(await store.jobs.claim({ worker: 'w', leaseMs: 30_000 })).toBeUndefined();
      await new Promise((r) => setTimeout(r, 250));
      expect(await store.jobs.claim({ worker: 'w', leaseMs: 30_000 })).toMatchObject({ id: job.id, attempts: 2, lastError: 'remote said no' });

      expect(await store.jobs.release(job.id, 'w', 'cut: drain deadline reached')).toBe(true);
      expect(await store.jobs.get(job.id)).toMatchObject({ status: 'queued', attempts: 1, claimedBy: null });

      await store.jobs.claim({ worker: 'w', leaseMs: 30_000 });
      expect(await store.jobs.fail(job.id, 'w', 'gave up')).toBe(true);
      expect(await store.jobs.get(job.id)).toMatchObject({ status: 'failed', lastError: 'gave up' });
      expect(await store.jobs.list({ status: 'failed' })).toEqual([expect.objectContaining({ id: job.id })]);
      expect(await store.jobs.requeue(job.id)).toMatchObject({ status: 'queued', attempts: 0 });
      await drain();
    });

    it("recovers a dead worker's jobs at once, and anyone's once the lease ran out", async () => {
      await drain();
      const { job: a } = await store.jobs.enqueue({ kind: 'route', payload: {} });
      const { job: b } = await store.jobs.enqueue({ kind: 'route', payload: {} });
      await store.jobs.claim({ worker: 'node-a', leaseMs: 3_600_000 });
      await store.jobs.claim({ worker: 'node-b', leaseMs: 100 });
      expect(await store.jobs.recover('node-a')).toBe(1);
      expect((await store.jobs.get(a.id))!.status).toBe('queued');
      await new Promise((r) => setTimeout(r, 150));
      const taken = [await store.jobs.claim({ worker: 'node-c', leaseMs: 30_000 }), await store.jobs.claim({ worker: 'node-c', leaseMs: 30_000 })];
      expect(taken.map((j) => j?.id).sort()).toEqual([a.id, b.id].sort());
      // node-b's lease was taken over: it can no longer complete the job.
      expect(await store.jobs.complete(b.id, 'node-b')).toBe(false);
      expect(await store.jobs.extend(b.id, 'node-c', 30_000)).toBe(true);
      await drain();
      for (const job of taken) await store.jobs.complete(job!.id, 'node-c');
    });

    it('several processes claiming at once take each job exactly once', async () => {
      await drain();
      const total = 200;
      for (let i = 0; i < total; i++) await store.jobs.enqueue({ kind: 'route', payload: { i } });
      // Four independent connections (as four nodes would have), each claiming as fast as it can.
      const stores = await Promise.all([0, 1, 2, 3].map(() => openStore({ url, dataDir })));
      try {
        const claimed = await Promise.all(
          stores.map(async (s, n) => {
            const ids: number[] = [];
            for (let job = await s.jobs.claim({ worker: `n${n}`, leaseMs: 60_000 }); job; job = await s.jobs.claim({ worker: `n${n}`, leaseMs: 60_000 })) {
              ids.push(job.id);
              await s.jobs.complete(job.id, `n${n}`);
            }
            return ids;
          }),
        );
        const all = claimed.flat();
        expect(all).toHaveLength(total);
        expect(new Set(all).size).toBe(total);
        expect((await store.jobs.counts()).running).toBe(0);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('completes a job and enqueues what it leads to in one step; a lost claim enqueues nothing', async () => {
      await drain();
      await store.jobs.enqueue({ kind: 'route', payload: { n: 1 } });
      await store.jobs.enqueue({ kind: 'route', payload: { n: 2 } });
      const [first, second] = await store.jobs.claimMany({ worker: 'w', leaseMs: 30_000, limit: 5 });
      expect([first?.payload, second?.payload]).toEqual([{ n: 1 }, { n: 2 }]);
      const next = [{ kind: 'step', payload: { of: 1 }, dedupeKey: `step:${first!.id}:r:0`, parentId: first!.id }];
      expect(await store.jobs.complete(first!.id, 'w', { matched: ['r'] }, next)).toBe(true);
      // A second completion (say, after the lease was taken over) changes nothing and adds nothing.
      expect(await store.jobs.complete(first!.id, 'w', {}, [{ kind: 'step', payload: { of: 'again' }, dedupeKey: 'other' }])).toBe(false);
      const queued = await store.jobs.list({ status: 'queued', kind: 'step' });
      expect(queued.map((j) => [j.payload, j.parentId])).toEqual([[{ of: 1 }, first!.id]]);
      await store.jobs.complete(second!.id, 'w');
      await drain();
    });

    it('refuses a bad job with a clear error', async () => {
      await expect(store.jobs.enqueue({ kind: '', payload: {} })).rejects.toBeInstanceOf(FerryError);
      await expect(store.jobs.enqueue({ kind: 'route', payload: {}, maxAttempts: 0 })).rejects.toThrow(/maxAttempts must be an integer/);
      await expect(store.jobs.list({ status: 'lost' as never })).rejects.toThrow(/status must be one of queued, running, done, failed/);
    });
  });
}

await forEachEngine('job queue', jobsSuite);
