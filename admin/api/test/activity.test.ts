import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, startApi, type RunningApi } from './support/harness.js';

let api: RunningApi;

function record(id: string, component: string, account: string, outcome: 'completed' | 'interrupted' | 'failed', endedAt: string) {
  return api.store.history.record({
    id,
    component,
    protocol: component === 'ftpd' ? 'ftp' : 'http',
    account,
    remoteAddress: '192.0.2.1',
    path: `/in/${id}.csv`,
    direction: 'upload',
    bytes: 100,
    size: 100,
    outcome,
    reason: outcome === 'interrupted' ? 'drain deadline reached' : null,
    startedAt: '2024-05-01T10:00:00.000Z',
    endedAt,
  });
}

beforeAll(async () => {
  api = await startApi();
  await record('t1', 'httpd', 'alice', 'completed', '2024-05-01T10:01:00.000Z');
  await record('t2', 'ftpd', 'bob', 'interrupted', '2024-05-01T10:02:00.000Z');
  await record('t3', 'httpd', 'bob', 'completed', '2024-05-01T10:03:00.000Z');
});
afterAll(() => api.close());

describe('transfers, history and events', () => {
  it('lists active transfers of every component', async () => {
    const a = api.node.beginTransfer('httpd', { path: '/in/a.bin' });
    const b = api.node.beginTransfer('ftpd', { path: '/out/b.bin', direction: 'download', protocol: 'ftp', account: 'bob' });
    a.progress(10);
    const reply = await call(api, 'GET', '/api/v1/transfers');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual([
      expect.objectContaining({ component: 'httpd', path: '/in/a.bin', bytes: 10, direction: 'upload' }),
      expect.objectContaining({ component: 'ftpd', path: '/out/b.bin', account: 'bob', direction: 'download' }),
    ]);
    a.end('completed');
    b.end('completed');
  });

  it('lists history newest first, with filters', async () => {
    const all = await call(api, 'GET', '/api/v1/history');
    expect(all.body.map((r: { id: string }) => r.id)).toEqual(['t3', 't2', 't1']);
    const filtered = async (query: string) => (await call(api, 'GET', `/api/v1/history?${query}`)).body.map((r: { id: string }) => r.id);
    expect(await filtered('limit=1')).toEqual(['t3']);
    expect(await filtered('component=httpd')).toEqual(['t3', 't1']);
    expect(await filtered('account=bob')).toEqual(['t3', 't2']);
    expect(await filtered('outcome=interrupted')).toEqual(['t2']);
    expect(await filtered('since=2024-05-01T10:02:00Z')).toEqual(['t3', 't2']);
  });

  it('refuses bad history queries with 400', async () => {
    for (const query of ['limit=0', 'limit=abc', 'outcome=lost', 'color=red', 'since=yesterday']) {
      const reply = await call(api, 'GET', `/api/v1/history?${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.body.code).toBe('FERRY_ERR_BAD_REQUEST');
    }
  });

  it('lists lifecycle events newest first, by component', async () => {
    await call(api, 'POST', '/api/v1/components/tm/stop', { body: { graceful: false } });
    const events = await eventually(async () => {
      const reply = await call(api, 'GET', '/api/v1/events?component=tm&limit=10');
      expect(reply.body.map((e: { event: string }) => e.event)).toEqual(['state:stopped', 'state:stopping']);
      return reply.body;
    });
    expect(events[0]).toMatchObject({ component: 'tm', detail: { previous: 'stopping' }, at: expect.any(String) });
    expect((await call(api, 'GET', '/api/v1/events?component=httpd')).body).toEqual([]);
  });
});
