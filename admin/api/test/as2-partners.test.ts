import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call, startApi, type RunningApi } from './support/harness.js';

const exec = promisify(execFile);

let api: RunningApi;
let certDir: string;
let acmeCert: string;
let otherCert: string;

/** A self-signed certificate made by openssl, as a trading partner would send it. */
async function certificate(name: string): Promise<string> {
  const file = join(certDir, `${name}.crt`);
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certDir, `${name}.key`), '-out', file, '-days', '30', '-subj', `/CN=${name}/O=Ferry test`]);
  return readFile(file, 'utf8');
}

beforeAll(async () => {
  certDir = await mkdtemp(join(tmpdir(), 'ferry-as2-certs-'));
  [acmeCert, otherCert] = await Promise.all([certificate('ACME'), certificate('OTHER')]);
});
afterAll(() => rm(certDir, { recursive: true, force: true }));
beforeEach(async () => {
  api = await startApi();
});
afterEach(() => api.close());

const partnerPath = (id: string) => `/api/v1/as2/partners/${encodeURIComponent(id)}`;

describe('AS2 partners', () => {
  it('creates a partner with the ferry.yaml defaults, lists it and shows it with its certificate details', async () => {
    const created = await call(api, 'PUT', partnerPath('ACME'), { body: { certificate: acmeCert, inbox: '/srv/ferry/as2/acme', url: 'https://as2.acme.example/receive' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: 'ACME',
      inbox: '/srv/ferry/as2/acme',
      url: 'https://as2.acme.example/receive',
      requireSignature: true,
      requireEncryption: true,
      accept: { encryption: expect.arrayContaining(['aes256-cbc', 'aes128-gcm', '3des']), signature: ['sha1', 'sha-256', 'sha-384', 'sha-512'] },
      send: { encryption: 'aes256-cbc', keyTransport: 'rsa-pkcs1', signature: 'sha-256', compression: 'none', mdn: 'sync', signedMdn: true },
      certificateInfo: { subject: expect.stringContaining('CN=ACME'), fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/), notAfter: expect.any(String) },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(created.body.certificate).toContain('-----BEGIN CERTIFICATE-----');

    const list = await call(api, 'GET', '/api/v1/as2/partners');
    expect(list.status).toBe(200);
    expect(list.body.map((p: { id: string }) => p.id)).toEqual(['ACME']);
    expect((await call(api, 'GET', partnerPath('ACME'))).body).toEqual(created.body);
    expect(await api.store.as2Partners.get('ACME')).toMatchObject({ id: 'ACME', inbox: '/srv/ferry/as2/acme' });
    expect(api.logLines().some((line) => line.event === 'admin.as2-partner' && line.action === 'create')).toBe(true);
  });

  it('replaces every setting on a second PUT (200), keeping createdAt', async () => {
    const first = await call(api, 'PUT', partnerPath('ACME'), { body: { certificate: acmeCert, inbox: '/srv/acme' } });
    const second = await call(api, 'PUT', partnerPath('ACME'), {
      body: { certificate: otherCert, inbox: '/srv/acme2', requireEncryption: false, accept: { signature: ['sha-512'] }, send: { mdn: 'async', encryption: 'aes128-gcm' } },
    });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      inbox: '/srv/acme2',
      url: null,
      requireEncryption: false,
      accept: { signature: ['sha-512'] },
      send: { mdn: 'async', encryption: 'aes128-gcm', signature: 'sha-256' },
      createdAt: first.body.createdAt,
      certificateInfo: { subject: expect.stringContaining('CN=OTHER') },
    });
    expect((await call(api, 'GET', '/api/v1/as2/partners')).body).toHaveLength(1);
  });

  it('takes AS2 ids with spaces and punctuation in the path', async () => {
    const id = 'ACME Corp/EU';
    expect((await call(api, 'PUT', partnerPath(id), { body: { certificate: acmeCert, inbox: '/srv/acme' } })).status).toBe(201);
    expect((await call(api, 'GET', partnerPath(id))).body.id).toBe(id);
  });

  it('refuses a bad certificate, a relative inbox, a bad URL and unknown algorithms with 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ certificate: 'hello', inbox: '/srv/acme' }, 'certificate'],
      // Cut in the middle, as a bad copy-and-paste would.
      [{ certificate: `${acmeCert.slice(0, acmeCert.length / 2)}\n-----END CERTIFICATE-----\n`, inbox: '/srv/acme' }, 'certificate'],
      [{ certificate: '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n', inbox: '/srv/acme' }, 'certificate'],
      [{ certificate: acmeCert, inbox: 'relative/acme' }, 'inbox'],
      [{ certificate: acmeCert, inbox: '/srv/acme', url: 'ftp://acme.example/' }, 'url'],
    ];
    for (const [body, field] of cases) {
      const reply = await call(api, 'PUT', partnerPath('ACME'), { body });
      expect(reply.status, field).toBe(400);
      expect(reply.body, field).toMatchObject({ code: 'FERRY_ERR_BAD_REQUEST', details: { field } });
      expect(reply.body.message, field).toContain(field);
    }
    for (const body of [
      { certificate: acmeCert, inbox: '/srv/acme', send: { encryption: 'rc2' } },
      { certificate: acmeCert, inbox: '/srv/acme', accept: { signature: [] } },
      { certificate: acmeCert, inbox: '/srv/acme', partnerOf: 'nobody' },
      { inbox: '/srv/acme' },
    ]) {
      const reply = await call(api, 'PUT', partnerPath('ACME'), { body });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.code).toBe('FERRY_ERR_BAD_REQUEST');
      expect(reply.body.details.problems.length).toBeGreaterThan(0);
    }
    const badId = await call(api, 'PUT', partnerPath('tab\there'), { body: { certificate: acmeCert, inbox: '/srv/acme' } });
    expect(badId).toMatchObject({ status: 400, body: { code: 'FERRY_ERR_BAD_REQUEST', details: { field: 'id' } } });
    expect(await api.store.as2Partners.list()).toEqual([]);
  });

  it('removes a partner, and answers 404 for one that is not there', async () => {
    await call(api, 'PUT', partnerPath('ACME'), { body: { certificate: acmeCert, inbox: '/srv/acme' } });
    expect((await call(api, 'DELETE', partnerPath('ACME'))).status).toBe(204);
    expect((await call(api, 'GET', '/api/v1/as2/partners')).body).toEqual([]);
    expect(await call(api, 'DELETE', partnerPath('ACME'))).toMatchObject({ status: 404, body: { code: 'FERRY_ERR_NOT_FOUND', details: { partner: 'ACME' } } });
    expect(await call(api, 'GET', partnerPath('ACME'))).toMatchObject({ status: 404, body: { code: 'FERRY_ERR_NOT_FOUND' } });
  });

  it('refuses every call without a token', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/as2/partners'],
      ['GET', partnerPath('ACME')],
      ['PUT', partnerPath('ACME')],
      ['DELETE', partnerPath('ACME')],
    ] as const) {
      const reply = await call(api, method, path, { token: null, ...(method === 'PUT' ? { body: { certificate: acmeCert, inbox: '/srv/acme' } } : {}) });
      expect(reply.status, `${method} ${path}`).toBe(401);
    }
    expect(await api.store.as2Partners.list()).toEqual([]);
  });
});
