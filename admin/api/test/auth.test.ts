import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startApi, type RunningApi } from './support/harness.js';

/** Every route the API must have; the OpenAPI document must list exactly these (plus the probes). */
const API_ROUTES = [
  'GET /api/v1/node',
  'GET /api/v1/components',
  'GET /api/v1/components/{id}',
  'POST /api/v1/components/{id}/start',
  'POST /api/v1/components/{id}/stop',
  'POST /api/v1/components/{id}/suspend',
  'POST /api/v1/components/{id}/resume',
  'GET /api/v1/transfers',
  'GET /api/v1/history',
  'GET /api/v1/events',
  'GET /api/v1/accounts',
  'POST /api/v1/accounts',
  'GET /api/v1/accounts/{name}',
  'DELETE /api/v1/accounts/{name}',
  'PUT /api/v1/accounts/{name}/password',
  'POST /api/v1/accounts/{name}/ssh-keys',
  'POST /api/v1/node/shutdown',
  'POST /api/v1/node/suspend',
  'POST /api/v1/node/resume',
  'GET /api/v1/node/plan',
  'GET /api/v1/node/events',
  'GET /api/v1/node/shutdown-reports',
  'GET /api/v1/node/shutdown-reports/{id}',
  'GET /api/v1/as2/partners',
  'GET /api/v1/as2/partners/{id}',
  'PUT /api/v1/as2/partners/{id}',
  'DELETE /api/v1/as2/partners/{id}',
  'GET /api/v1/jobs',
  'POST /api/v1/jobs',
  'GET /api/v1/jobs/{id}',
  'POST /api/v1/jobs/{id}/retry',
  'GET /api/v1/schedules',
];
const PROBES = ['GET /healthz', 'GET /readyz'];

let api: RunningApi;
let documented: string[];

beforeAll(async () => {
  api = await startApi();
  const doc = await call(api, 'GET', '/docs/json', { token: null });
  documented = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
  );
});
afterAll(() => api.close());

/** Fills `{id}`/`{name}` with real values so that a route would succeed if auth let it through. */
function concrete(route: string): { method: string; path: string; body?: unknown } {
  const [method = 'GET', template = '/'] = route.split(' ');
  const path = template.replace('{id}', 'httpd').replace('{name}', 'alice');
  const bodies: Record<string, unknown> = {
    'POST /api/v1/accounts': { name: 'mallory', password: 'x' },
    'PUT /api/v1/accounts/alice/password': { password: 'y' },
    'POST /api/v1/accounts/alice/ssh-keys': { key: 'ssh-ed25519 AAAA' },
    'PUT /api/v1/as2/partners/httpd': { certificate: '-----BEGIN CERTIFICATE-----', inbox: '/srv/as2' },
    'POST /api/v1/jobs': { kind: 'push', payload: { site: 'partner', file: { account: 'alice', path: '/a' } } },
  };
  const body = bodies[`${method} ${path}`] ?? (method === 'POST' ? {} : undefined);
  return { method, path, ...(body === undefined ? {} : { body }) };
}

describe('authentication', () => {
  it('documents every API route and nothing else', () => {
    expect(documented.sort()).toEqual([...API_ROUTES, ...PROBES].sort());
  });

  it.each(API_ROUTES)('%s refuses a call without a token', async (route) => {
    const { method, path, body } = concrete(route);
    const reply = await call(api, method, path, { token: null, body });
    expect(reply.status).toBe(401);
    expect(reply.body).toMatchObject({ code: 'FERRY_ERR_UNAUTHORIZED', message: expect.stringContaining('token') });
  });

  it.each(API_ROUTES)('%s refuses a wrong token', async (route) => {
    const { method, path, body } = concrete(route);
    for (const token of ['fry_not-a-real-token', 'garbage', '']) {
      const reply = await call(api, method, path, { token, body });
      expect(reply.status).toBe(401);
      expect(reply.body.code).toBe('FERRY_ERR_UNAUTHORIZED');
    }
  });

  it('refused calls change nothing', async () => {
    expect(api.node.calls).toEqual([]);
    expect(await api.store.accounts.list()).toEqual([]);
    expect((await api.store.adminTokens.list()).length).toBe(1);
  });

  it('answers 401, not 404, for an unknown path without a token', async () => {
    const reply = await call(api, 'GET', '/api/v1/secrets', { token: null });
    expect(reply.status).toBe(401);
    const known = await call(api, 'GET', '/api/v1/secrets');
    expect(known.status).toBe(404);
    expect(known.body.code).toBe('FERRY_ERR_NOT_FOUND');
  });

  it('stops accepting a revoked token', async () => {
    const token = await api.store.adminTokens.create('short-lived');
    expect((await call(api, 'GET', '/api/v1/node', { token })).status).toBe(200);
    const [, created] = await api.store.adminTokens.list();
    await api.store.adminTokens.revoke(created!.id);
    expect((await call(api, 'GET', '/api/v1/node', { token })).status).toBe(401);
  });

  it('serves the probes and the docs without a token, and the probes say nothing else', async () => {
    const health = await call(api, 'GET', '/healthz', { token: null });
    expect(health).toEqual(expect.objectContaining({ status: 200, body: { alive: true } }));
    const ready = await call(api, 'GET', '/readyz', { token: null });
    expect(ready).toEqual(expect.objectContaining({ status: 200, body: { ready: true } }));
    expect((await call(api, 'GET', '/docs', { token: null })).status).toBeLessThan(400);
  });

  it('never logs the token', async () => {
    await call(api, 'POST', '/api/v1/components/httpd/resume');
    const text = JSON.stringify(api.logLines());
    expect(text).not.toContain(api.token);
  });
});
