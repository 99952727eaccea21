import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store, type TransferRecord } from '../src/store/index.js';
import { forEachEngine, type Target } from './store-targets.js';

function transfer(id: string, component: string, overrides: Partial<TransferRecord> = {}): TransferRecord {
  return {
    id,
    component,
    protocol: 'sftp',
    account: 'alice',
    remoteAddress: '192.0.2.10',
    path: `/in/${id}.bin`,
    direction: 'upload',
    bytes: 65536,
    size: null,
    outcome: 'completed',
    reason: null,
    startedAt: '2025-06-01T10:00:00.000Z',
    endedAt: '2025-06-01T10:00:01.000Z',
    ...overrides,
  };
}

/** History rows recorded in the same turn of the event loop share one INSERT. */
function historySuite(engine: string, makeTarget: () => Promise<Target>): void {
  describe(`transfer history batches on ${engine}`, () => {
    let target: Target;
    let store: Store;

    beforeAll(async () => {
      target = await makeTarget();
      const { url, dataDir } = await target.fresh();
      store = await openStore({ url, dataDir });
    });

    afterAll(async () => {
      await store?.close();
      await target?.cleanup();
    });

    it('writes every row recorded in one turn, each promise settling once its row is stored', async () => {
      const component = 'batch-many';
      // More than one INSERT's worth (500 rows), all in the same turn.
      const ids = Array.from({ length: 1200 }, (_, i) => `t-${String(i).padStart(4, '0')}`);
      await Promise.all(ids.map((id) => store.history.record(transfer(id, component))));
      const listed = await store.history.list({ component, limit: 2000 });
      expect(listed.map((r) => r.id).sort()).toEqual(ids);
    });

    it('stores every field of every row when batches of the same size reuse one statement', async () => {
      const component = 'batch-same-size';
      const batches = [0, 1, 2].map((b) => [
        transfer(`s-${b}-a`, component, { account: null, remoteAddress: null, size: 10 + b, bytes: b, reason: null }),
        transfer(`s-${b}-b`, component, { direction: 'download', outcome: 'interrupted', reason: `cut ${b}`, path: `/out/${b}/b.bin` }),
      ]);
      for (const batch of batches) await Promise.all(batch.map((entry) => store.history.record(entry)));
      const listed = await store.history.list({ component, limit: 10 });
      const byId = (records: TransferRecord[]) => [...records].sort((x, y) => x.id.localeCompare(y.id));
      expect(byId(listed)).toEqual(byId(batches.flat()));
    });

    it('a bad entry fails alone; the rows recorded beside it are written', async () => {
      const component = 'batch-bad';
      const results = await Promise.allSettled([
        store.history.record(transfer('good-1', component)),
        store.history.record(transfer('bad', component, { bytes: -1 })),
        store.history.record(transfer('good-2', component)),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'FERRY_ERR_BAD_REQUEST' });
      expect((await store.history.list({ component })).map((r) => r.id).sort()).toEqual(['good-1', 'good-2']);
    });

    it('lists a row recorded just before, without waiting for its promise', async () => {
      const component = 'batch-read-own';
      const recorded = store.history.record(transfer('fresh', component));
      expect((await store.history.list({ component })).map((r) => r.id)).toEqual(['fresh']);
      await recorded;
    });
  });
}

await forEachEngine('transfer history', historySuite);

describe('SQLite statements kept by the store connection', () => {
  it('prepares one SQL text once, and a fresh statement while the kept one is still being iterated', async () => {
    const { default: Sqlite } = await import('better-sqlite3');
    const { keepingStatements } = await import('../src/store/sqlite.js');
    const raw = new Sqlite(':memory:');
    try {
      raw.exec('CREATE TABLE t (n INTEGER)');
      raw.exec('INSERT INTO t VALUES (1), (2), (3)');
      const db = keepingStatements(raw);
      const select = db.prepare('SELECT n FROM t ORDER BY n');
      expect(db.prepare('SELECT n FROM t ORDER BY n')).toBe(select);
      const rows = select.iterate([]);
      expect(rows.next().value).toEqual({ n: 1 });
      // The kept statement is busy: a second use of the same SQL gets its own.
      const other = db.prepare('SELECT n FROM t ORDER BY n');
      expect(other).not.toBe(select);
      expect(other.all([])).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      expect([...rows]).toEqual([{ n: 2 }, { n: 3 }]);
      expect(db.prepare('SELECT n FROM t ORDER BY n')).toBe(select);
    } finally {
      raw.close();
    }
  });
});
