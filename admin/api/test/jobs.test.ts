import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, startApi, type RunningApi } from './support/harness.js';

let api: RunningApi;

beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => {
  await api.close();
});

const push = { kind: 'push', payload: { site: 'partner', file: { account: 'alice', path: '/out/a.csv' } } };

describe('jobs', () => {
  it('enqueues a job whose payload fits, lists it with the counts, shows it', async () => {
    const created = await call(api, 'POST', '/api/v1/jobs', { body: { ...push, dedupeKey: 'nightly-a' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(Number), kind: 'push', status: 'queued', attempts: 0, dedupeKey: 'nightly-a', payload: push.payload });
    // The same dedupe key again: the existing job, not a second one.
    const again = await call(api, 'POST', '/api/v1/jobs', { body: { ...push, dedupeKey: 'nightly-a' } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(created.body.id);

    const list = await call(api, 'GET', '/api/v1/jobs?status=queued');
    expect(list.status).toBe(200);
    expect(list.body.counts).toEqual({ queued: 1, running: 0, done: 0, failed: 0 });
    expect(list.body.jobs.map((j: { id: number }) => j.id)).toEqual([created.body.id]);
    expect((await call(api, 'GET', `/api/v1/jobs/${created.body.id}`)).body.kind).toBe('push');
    expect((await call(api, 'GET', '/api/v1/jobs/999999')).status).toBe(404);
  });

  it('refuses an unknown kind or a payload that does not fit, naming what is wrong; enqueues nothing', async () => {
    const kind = await call(api, 'POST', '/api/v1/jobs', { body: { kind: 'teleport', payload: {} } });
    expect(kind.status).toBe(400);
    expect(kind.body.message).toMatch(/kind/);
    const payload = await call(api, 'POST', '/api/v1/jobs', { body: { kind: 'pull', payload: { site: 'partner', remotePath: '/out/' } } });
    expect(payload.status).toBe(400);
    expect(payload.body).toMatchObject({ code: 'FERRY_ERR_BAD_REQUEST' });
    expect(payload.body.message).toMatch(/pull job payload does not fit: account: .*path: /);
    // No commands and no host paths through the API: those come only from ferry.yaml.
    const command = await call(api, 'POST', '/api/v1/jobs', { body: { kind: 'run', payload: { file: { account: 'alice', path: '/a' }, command: 'sh' } } });
    expect(command.status).toBe(400);
    const host = await call(api, 'POST', '/api/v1/jobs', { body: { kind: 'push', payload: { site: 'partner', file: { account: null, path: '/etc/shadow' } } } });
    expect(host.status).toBe(400);
    expect(host.body.message).toMatch(/account files only/);
    expect((await call(api, 'GET', '/api/v1/jobs')).body.counts.queued).toBe(0);
  });

  it('retries a failed job only', async () => {
    const { body: job } = await call(api, 'POST', '/api/v1/jobs', { body: push });
    const queued = await call(api, 'POST', `/api/v1/jobs/${job.id}/retry`);
    expect(queued.status).toBe(409);
    expect(queued.body.message).toMatch(/only a failed job can be retried/);
    await api.store.jobs.claim({ worker: 'w', leaseMs: 60_000 });
    await api.store.jobs.fail(job.id, 'w', 'partner unreachable');
    const retried = await call(api, 'POST', `/api/v1/jobs/${job.id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('lists the schedules with their next fire and what the store remembers of them', async () => {
    const before = await call(api, 'GET', '/api/v1/schedules');
    expect(before.status).toBe(200);
    expect(before.body).toEqual([
      { name: 'hourly-pull', cron: '0 * * * *', timezone: null, misfire: 'once', kind: 'pull', nextFire: expect.stringMatching(/T\d\d:00:00\.000Z$/), lastFireAt: null, coveredUntil: null },
    ]);
    await api.store.schedules.track('hourly-pull', '2026-11-21T10:00:00.000Z');
    await api.store.schedules.advance('hourly-pull', '2026-11-21T11:00:00.000Z', '2026-11-21T11:00:00.000Z');
    const after = await call(api, 'GET', '/api/v1/schedules');
    expect(after.body[0]).toMatchObject({ lastFireAt: '2026-11-21T11:00:00.000Z', coveredUntil: '2026-11-21T11:00:00.000Z' });
  });
});
