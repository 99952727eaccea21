import { ERROR_CODES, type ErrorCode } from '@ferry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { httpStatusOf, INTERNAL_ERROR_CODE } from '../src/index.js';
import { FakeNode } from './support/fake-node.js';
import { call, startApi, type RunningApi } from './support/harness.js';

describe('FerryError → HTTP status', () => {
  it('maps the codes a client can act on, and everything else to 500', () => {
    const expected: Partial<Record<ErrorCode, number>> = {
      FERRY_ERR_UNKNOWN_COMPONENT: 404,
      FERRY_ERR_ACCOUNT_NOT_FOUND: 404,
      FERRY_ERR_NOT_FOUND: 404,
      FERRY_ERR_ACCOUNT_EXISTS: 409,
      FERRY_ERR_LIFECYCLE_TRANSITION: 409,
      FERRY_ERR_BAD_REQUEST: 400,
      FERRY_ERR_CONFIG_INVALID: 400,
      FERRY_ERR_UNAUTHORIZED: 401,
      FERRY_ERR_TOO_LARGE: 413,
    };
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) expect(httpStatusOf(code), code).toBe(expected[code] ?? 500);
  });
});

describe('failures inside the API', () => {
  let api: RunningApi | undefined;
  afterEach(() => api?.close());

  it('answers 500 with the code of a FerryError', async () => {
    api = await startApi();
    await api.store.history.record({
      id: 'x',
      component: 'httpd',
      protocol: 'http',
      account: null,
      remoteAddress: null,
      path: '/x',
      direction: 'upload',
      bytes: 1,
      size: null,
      outcome: 'completed',
      reason: null,
      startedAt: '2024-01-01T00:00:00Z',
      endedAt: '2024-01-01T00:00:01Z',
    });
    // The store fails from here on: the token check itself reports it.
    await api.store.close();
    const reply = await call(api, 'GET', '/api/v1/history');
    expect(reply.status).toBe(500);
    expect(reply.body).toMatchObject({ code: 'FERRY_ERR_STORE', message: expect.any(String) });
  });

  it('answers 500 FERRY_ERR_INTERNAL without the inner message for an untyped error, and logs it', async () => {
    class BrokenNode extends FakeNode {
      override async transfers(): Promise<never> {
        throw new Error('status channel closed');
      }
    }
    api = await startApi({ makeNode: (options) => new BrokenNode(options) });
    const reply = await call(api, 'GET', '/api/v1/transfers');
    expect(reply).toMatchObject({ status: 500, body: { code: INTERNAL_ERROR_CODE } });
    expect(reply.body.message).not.toContain('status channel');
    expect(api.logLines().some((line) => JSON.stringify(line).includes('status channel closed') && line.level === 'error')).toBe(true);
  });

  it('answers 400 FERRY_ERR_BAD_REQUEST for a body that is not JSON', async () => {
    api = await startApi();
    const { request } = await import('undici');
    const response = await request(`${api.url}/api/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
      body: '{"name": "alice", "password": ',
    });
    expect(response.statusCode).toBe(400);
    expect(await response.body.json()).toMatchObject({ code: 'FERRY_ERR_BAD_REQUEST' });
  });
});
