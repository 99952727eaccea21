import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, startApi, type Reply, type RunningApi } from './support/harness.js';
import { ed25519PublicKeyLine } from './support/ssh-key.js';

const SECRET = 'correct horse battery staple';
const NEW_SECRET = 'Tr0ub4dor&3';

let api: RunningApi;
const replies: Reply[] = [];

/** Every reply is kept, so the last test can check that no password ever left the API. */
async function recorded(...args: Parameters<typeof call>): Promise<Reply> {
  const reply = await call(...args);
  replies.push(reply);
  return reply;
}

beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => {
  const everything = JSON.stringify({ replies, log: api.logLines() });
  expect(everything).not.toContain(SECRET);
  expect(everything).not.toContain(NEW_SECRET);
  expect(everything).not.toMatch(/scrypt\$/);
  replies.length = 0;
  await api.close();
});

describe('accounts', () => {
  it('creates an account with the default home, lists it and shows it', async () => {
    const created = await recorded(api, 'POST', '/api/v1/accounts', { body: { name: 'alice', password: SECRET } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(Number), name: 'alice', home: join(api.homeRoot, 'alice'), enabled: true, createdAt: expect.any(String) });
    expect((await stat(join(api.homeRoot, 'alice'))).isDirectory()).toBe(true);

    const list = await recorded(api, 'GET', '/api/v1/accounts');
    expect(list.body.map((a: { name: string }) => a.name)).toEqual(['alice']);
    const one = await recorded(api, 'GET', '/api/v1/accounts/alice');
    expect(one.body).toMatchObject({ name: 'alice', sshKeys: [] });
    expect(await api.store.accounts.verifyPassword('alice', SECRET)).toMatchObject({ name: 'alice' });
  });

  it('takes a home folder, relative ones from the account home root', async () => {
    const absolute = join(api.dataDir, 'elsewhere', 'bob');
    expect((await recorded(api, 'POST', '/api/v1/accounts', { body: { name: 'bob', password: SECRET, home: absolute } })).body.home).toBe(absolute);
    expect((await recorded(api, 'POST', '/api/v1/accounts', { body: { name: 'carol', password: SECRET, home: 'partners/carol' } })).body.home).toBe(
      join(api.homeRoot, 'partners', 'carol'),
    );
  });

  it('refuses a taken name with 409 and a bad one with 400', async () => {
    await recorded(api, 'POST', '/api/v1/accounts', { body: { name: 'alice', password: SECRET } });
    const again = await recorded(api, 'POST', '/api/v1/accounts', { body: { name: 'alice', password: SECRET } });
    expect(again).toMatchObject({ status: 409, body: { code: 'FERRY_ERR_ACCOUNT_EXISTS' } });
    for (const body of [{ name: '../etc', password: SECRET }, { name: 'dave' }, { name: 'dave', password: '' }, { name: 'dave', password: SECRET, admin: true }]) {
      const reply = await recorded(api, 'POST', '/api/v1/accounts', { body });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.code).toBe('FERRY_ERR_BAD_REQUEST');
    }
  });

  it('changes a password', async () => {
    await recorded(api, 'POST', '/api/v1/accounts', { body: { name: 'alice', password: SECRET } });
    const changed = await recorded(api, 'PUT', '/api/v1/accounts/alice/password', { body: { password: NEW_SECRET } });
    expect(changed.status).toBe(204);
    expect(await api.store.accounts.verifyPassword('alice', NEW_SECRET)).toBeDefined();
    expect(await api.store.accounts.verifyPassword('alice', SECRET)).toBeUndefined();
    const unknown = await recorded(api, 'PUT', '/api/v1/accounts/nobody/password', { body: { password: NEW_SECRET } });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'FERRY_ERR_ACCOUNT_NOT_FOUND' } });
  });

  it('adds SSH keys and refuses what is not one', async () => {
    await recorded(api, 'POST', '/api/v1/accounts', { body: { name: 'alice', password: SECRET } });
    const line = ed25519PublicKeyLine('alice@laptop');
    const added = await recorded(api, 'POST', '/api/v1/accounts/alice/ssh-keys', { body: { key: line } });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ publicKey: line, fingerprint: expect.stringMatching(/^SHA256:/) });
    expect((await recorded(api, 'GET', '/api/v1/accounts/alice')).body.sshKeys).toHaveLength(1);

    const bad = await recorded(api, 'POST', '/api/v1/accounts/alice/ssh-keys', { body: { key: 'ssh-ed25519 AAAAnot-a-key' } });
    expect(bad).toMatchObject({ status: 400, body: { code: 'FERRY_ERR_BAD_REQUEST' } });
    const unknown = await recorded(api, 'POST', '/api/v1/accounts/nobody/ssh-keys', { body: { key: line } });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'FERRY_ERR_ACCOUNT_NOT_FOUND' } });
  });

  it('removes an account, and answers 404 for one that is not there', async () => {
    await recorded(api, 'POST', '/api/v1/accounts', { body: { name: 'alice', password: SECRET } });
    expect((await recorded(api, 'DELETE', '/api/v1/accounts/alice')).status).toBe(204);
    expect((await recorded(api, 'GET', '/api/v1/accounts')).body).toEqual([]);
    expect(await recorded(api, 'DELETE', '/api/v1/accounts/alice')).toMatchObject({ status: 404, body: { code: 'FERRY_ERR_ACCOUNT_NOT_FOUND' } });
    expect(await recorded(api, 'GET', '/api/v1/accounts/alice')).toMatchObject({ status: 404, body: { code: 'FERRY_ERR_ACCOUNT_NOT_FOUND' } });
  });
});
