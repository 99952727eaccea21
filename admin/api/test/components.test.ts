import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, eventually, startApi, type RunningApi } from './support/harness.js';

let api: RunningApi;
beforeEach(async () => {
  api = await startApi();
});
afterEach(() => api.close());

async function stateOf(id: string): Promise<string> {
  return (await call(api, 'GET', `/api/v1/components/${id}`)).body.state;
}

async function expectState(id: string, state: string): Promise<void> {
  await eventually(async () => expect(await stateOf(id)).toBe(state));
}

describe('node and components', () => {
  it('shows the node and every component', async () => {
    const node = await call(api, 'GET', '/api/v1/node');
    expect(node).toMatchObject({ status: 200, body: { state: 'running', pid: process.pid, version: '0.0.0-test' } });
    const list = await call(api, 'GET', '/api/v1/components');
    expect(list.status).toBe(200);
    expect(list.body.map((c: { id: string }) => c.id)).toEqual(['httpd', 'ftpd', 'tm']);
    expect(list.body[0]).toMatchObject({ state: 'running', enabled: true, restarts: 0, transfers: [], drainDeadline: null });
  });

  it('answers 404 with FERRY_ERR_UNKNOWN_COMPONENT for an id that is not configured', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/components/pesitd'],
      ['POST', '/api/v1/components/pesitd/stop'],
      ['POST', '/api/v1/components/pesitd/start'],
    ] as const) {
      const reply = await call(api, method, path, method === 'POST' ? { body: {} } : {});
      expect(reply.status).toBe(404);
      expect(reply.body).toMatchObject({ code: 'FERRY_ERR_UNKNOWN_COMPONENT', message: expect.stringContaining('pesitd'), details: { known: ['httpd', 'ftpd', 'tm'] } });
    }
  });
});

describe('graceful stop', () => {
  it('drains with the given timeout, keeps the running transfer, and stops when it ends', async () => {
    const transfer = api.node.beginTransfer('httpd', { path: '/in/big.bin', size: 10_000 });
    transfer.progress(2_500);
    const before = Date.now();
    const reply = await call(api, 'POST', '/api/v1/components/httpd/stop', { body: { graceful: true, timeout: 60 } });
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ id: 'httpd', state: 'draining', afterDrain: 'stop' });
    const deadline = Date.parse(reply.body.drainDeadline);
    expect(deadline).toBeGreaterThanOrEqual(before + 59_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(reply.body.transfers).toEqual([expect.objectContaining({ path: '/in/big.bin', bytes: 2_500, size: 10_000, account: 'alice' })]);
    expect(api.node.calls).toEqual(['stop httpd graceful 60000ms']);

    // The API stays fully usable while the component drains.
    expect((await call(api, 'GET', '/api/v1/node')).status).toBe(200);
    expect((await call(api, 'GET', '/api/v1/transfers')).body).toHaveLength(1);
    expect(await stateOf('httpd')).toBe('draining');

    transfer.end('completed');
    await expectState('httpd', 'stopped');
  });

  it('defaults to graceful with the component timeout when the body is empty or missing', async () => {
    api.node.beginTransfer('ftpd');
    const reply = await call(api, 'POST', '/api/v1/components/ftpd/stop', { body: {} });
    expect(reply.status).toBe(202);
    expect(reply.body.state).toBe('draining');
    expect(Date.parse(reply.body.drainDeadline) - Date.now()).toBeGreaterThan(86_000_000);

    const noBody = await call(api, 'POST', '/api/v1/components/tm/stop');
    expect(noBody.status).toBe(202);
    expect(api.node.calls).toEqual(['stop ftpd graceful', 'stop tm graceful']);
  });

  it('cuts what is left at the deadline', async () => {
    const transfer = api.node.beginTransfer('httpd');
    await call(api, 'POST', '/api/v1/components/httpd/stop', { body: { timeout: 0.2 } });
    await expectState('httpd', 'stopped');
    expect(transfer.signal.aborted).toBe(true);
  });

  it('treats a stop of a stopped component as a no-op', async () => {
    await call(api, 'POST', '/api/v1/components/httpd/stop', { body: { graceful: false } });
    await expectState('httpd', 'stopped');
    const again = await call(api, 'POST', '/api/v1/components/httpd/stop', { body: {} });
    expect(again).toMatchObject({ status: 202, body: { state: 'stopped' } });
  });

  it('stops immediately with graceful: false, aborting transfers', async () => {
    const transfer = api.node.beginTransfer('httpd');
    const reply = await call(api, 'POST', '/api/v1/components/httpd/stop', { body: { graceful: false, timeout: 5 } });
    expect(reply.body.state).toBe('stopping');
    expect(api.node.calls).toEqual(['stop httpd immediate']);
    expect(transfer.signal.aborted).toBe(true);
    await expectState('httpd', 'stopped');
  });

  it('refuses a malformed body with 400 FERRY_ERR_BAD_REQUEST', async () => {
    for (const body of [{ timeout: -1 }, { timeout: 'soon' }, { timout: 60 }, { graceful: 'maybe' }]) {
      const reply = await call(api, 'POST', '/api/v1/components/httpd/stop', { body });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body).toMatchObject({ code: 'FERRY_ERR_BAD_REQUEST', details: { problems: expect.any(Array) } });
    }
    expect(api.node.calls).toEqual([]);
  });
});

describe('start, suspend and resume', () => {
  it('starts a stopped component', async () => {
    await call(api, 'POST', '/api/v1/components/httpd/stop', { body: { graceful: false } });
    await expectState('httpd', 'stopped');
    const reply = await call(api, 'POST', '/api/v1/components/httpd/start');
    expect(reply).toMatchObject({ status: 202, body: { state: 'starting' } });
    await expectState('httpd', 'running');
  });

  it('suspends to drained and resumes to running', async () => {
    const transfer = api.node.beginTransfer('ftpd');
    const suspended = await call(api, 'POST', '/api/v1/components/ftpd/suspend', { body: { timeout: 30 } });
    expect(suspended).toMatchObject({ status: 202, body: { state: 'draining', afterDrain: 'hold' } });
    transfer.end('completed');
    await expectState('ftpd', 'drained');
    const resumed = await call(api, 'POST', '/api/v1/components/ftpd/resume');
    expect(resumed).toMatchObject({ status: 202, body: { state: 'running', drainDeadline: null } });
  });

  it('resume cancels a graceful stop', async () => {
    api.node.beginTransfer('httpd');
    await call(api, 'POST', '/api/v1/components/httpd/stop', { body: {} });
    const resumed = await call(api, 'POST', '/api/v1/components/httpd/resume');
    expect(resumed.body.state).toBe('running');
  });

  it('answers 409 FERRY_ERR_LIFECYCLE_TRANSITION for a resume of a running component', async () => {
    const reply = await call(api, 'POST', '/api/v1/components/httpd/resume');
    expect(reply.status).toBe(409);
    expect(reply.body).toMatchObject({ code: 'FERRY_ERR_LIFECYCLE_TRANSITION', details: { from: 'running', to: 'running' } });
  });
});

describe('readiness', () => {
  it('turns 503 while a component drains and back to 200 once it resumed', async () => {
    expect((await call(api, 'GET', '/readyz', { token: null })).status).toBe(200);
    api.node.beginTransfer('httpd');
    await call(api, 'POST', '/api/v1/components/httpd/suspend', { body: {} });
    const draining = await call(api, 'GET', '/readyz', { token: null });
    expect(draining).toMatchObject({ status: 503, body: { ready: false } });
    expect(Object.keys(draining.body)).toEqual(['ready']);
    expect((await call(api, 'GET', '/healthz', { token: null })).status).toBe(200);
    await call(api, 'POST', '/api/v1/components/httpd/resume');
    expect((await call(api, 'GET', '/readyz', { token: null })).status).toBe(200);
  });

  it('is 503 while the node itself drains', async () => {
    api.node.nodeState = 'draining';
    expect((await call(api, 'GET', '/readyz', { token: null })).status).toBe(503);
  });
});
