import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError, type ErrorCode } from '../src/errors.js';
import { hashPassword, openStore, parseStoreUrl, verifyPasswordHash, type Store, type TransferRecord } from '../src/store/index.js';
import { migrationsFor } from '../src/store/migrations/index.js';
import { forEachEngine, type Target } from './store-targets.js';

/** One suite, run against SQLite and PostgreSQL (store-targets.ts). */

const GIB = 1024 ** 3;
/** Every migration, in the order they run (the same list for both engines). */
const MIGRATIONS = Object.keys(migrationsFor('sqlite')).sort();

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<FerryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(FerryError);
  expect((err as FerryError).code).toBe(code);
  return err as FerryError;
}

/** An OpenSSH `ssh-ed25519` public key line, built the way ssh-keygen writes it. */
function ed25519KeyLine(comment: string): { line: string; fingerprint: string } {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const sshString = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]);
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  return { line: `ssh-ed25519 ${blob.toString('base64')} ${comment}`, fingerprint };
}

function transfer(overrides: Partial<TransferRecord> & Pick<TransferRecord, 'id' | 'component'>): TransferRecord {
  return {
    protocol: 'ftp',
    account: 'alice',
    remoteAddress: '192.0.2.10',
    path: '/in/data.csv',
    direction: 'upload',
    bytes: 1234,
    size: 1234,
    outcome: 'completed',
    reason: null,
    startedAt: '2025-01-01T10:00:00.000Z',
    endedAt: '2025-01-01T10:00:05.000Z',
    ...overrides,
  };
}

function storeSuite(engine: Store['engine'], makeTarget: () => Promise<Target>): void {
  describe(`store on ${engine}`, () => {
    let target: Target;
    let location: { url: string; dataDir: string };
    let store: Store;

    beforeAll(async () => {
      target = await makeTarget();
      location = await target.fresh();
      store = await openStore(location);
    });

    afterAll(async () => {
      await store?.close();
      await target?.cleanup();
    });

    it('reports its engine', () => {
      expect(store.engine).toBe(engine);
    });

    describe('migrations', () => {
      it('are idempotent: a second open on the same database migrates nothing and sees the data', async () => {
        await store.accounts.create({ name: 'migr-check', password: 'pw-1', home: '/srv/migr' });
        const again = await openStore(location);
        try {
          expect((await again.accounts.get('migr-check'))?.home).toBe('/srv/migr');
        } finally {
          await again.close();
        }
        const applied = await target.rows(location.url, 'select name from ferry_migrations');
        expect(applied.map((row) => row.name)).toEqual(MIGRATIONS);
      });

      it('survive several stores opening a new database at the same moment', async () => {
        const fresh = await target.fresh();
        const stores = await Promise.all([openStore(fresh), openStore(fresh), openStore(fresh)]);
        try {
          await Promise.all(stores.map((s, i) => s.accounts.create({ name: `racer${i}`, password: 'pw', home: `/h/${i}` })));
          expect((await stores[0]!.accounts.list()).map((a) => a.name)).toEqual(['racer0', 'racer1', 'racer2']);
        } finally {
          await Promise.all(stores.map((s) => s.close()));
        }
        expect(await target.rows(fresh.url, 'select name from ferry_migrations')).toHaveLength(MIGRATIONS.length);
      });
    });

    describe('accounts', () => {
      it('create, get, list, disable, remove', async () => {
        const created = await store.accounts.create({ name: 'crud-user', password: 's3cret', home: '/srv/crud' });
        expect(created).toEqual({ id: expect.any(Number), name: 'crud-user', home: '/srv/crud', enabled: true, createdAt: expect.any(String) });
        expect(Object.keys(created).sort()).toEqual(['createdAt', 'enabled', 'home', 'id', 'name']);
        expect(new Date(created.createdAt).toISOString()).toBe(created.createdAt);

        expect(await store.accounts.get('crud-user')).toEqual(created);
        expect(await store.accounts.get('nobody-here')).toBeUndefined();
        expect((await store.accounts.list()).find((a) => a.name === 'crud-user')).toEqual(created);

        await store.accounts.setEnabled('crud-user', false);
        expect((await store.accounts.get('crud-user'))?.enabled).toBe(false);

        await store.accounts.remove('crud-user');
        expect(await store.accounts.get('crud-user')).toBeUndefined();
        await expectCode(store.accounts.remove('crud-user'), 'FERRY_ERR_ACCOUNT_NOT_FOUND');
      });

      it('lists accounts by name', async () => {
        for (const name of ['order-c', 'order-a', 'order-b']) await store.accounts.create({ name, password: 'pw', home: `/h/${name}` });
        const names = (await store.accounts.list()).map((a) => a.name).filter((n) => n.startsWith('order-'));
        expect(names).toEqual(['order-a', 'order-b', 'order-c']);
      });

      it('can be created disabled', async () => {
        const account = await store.accounts.create({ name: 'born-off', password: 'pw', home: '/h', enabled: false });
        expect(account.enabled).toBe(false);
      });

      it('refuses a duplicate name with FERRY_ERR_ACCOUNT_EXISTS', async () => {
        await store.accounts.create({ name: 'dup', password: 'pw', home: '/h/1' });
        const err = await expectCode(store.accounts.create({ name: 'dup', password: 'other', home: '/h/2' }), 'FERRY_ERR_ACCOUNT_EXISTS');
        expect(err.message).toContain('dup');
        expect((await store.accounts.get('dup'))?.home).toBe('/h/1');
      });

      it('enforces the name rule with FERRY_ERR_BAD_REQUEST', async () => {
        for (const name of ['', '.hidden', '-dash', 'has space', 'a/b', 'x'.repeat(65), 'naïve', 'semi;colon']) {
          const err = await expectCode(store.accounts.create({ name, password: 'pw', home: '/h' }), 'FERRY_ERR_BAD_REQUEST');
          expect(err.message).toContain('1–64 characters');
        }
        for (const name of ['y'.repeat(64), 'user@example.com', 'a_b-c.d', '_svc', '@team', 'A9']) {
          expect((await store.accounts.create({ name, password: 'pw', home: '/h' })).name).toBe(name);
        }
      });

      it('refuses an empty password or home', async () => {
        await expectCode(store.accounts.create({ name: 'no-pw', password: '', home: '/h' }), 'FERRY_ERR_BAD_REQUEST');
        await expectCode(store.accounts.create({ name: 'no-home', password: 'pw', home: '' }), 'FERRY_ERR_BAD_REQUEST');
        expect(await store.accounts.get('no-pw')).toBeUndefined();
      });

      it('verifies passwords: right, wrong, disabled, unknown', async () => {
        await store.accounts.create({ name: 'pw-user', password: 'correct horse', home: '/h/pw' });
        expect((await store.accounts.verifyPassword('pw-user', 'correct horse'))?.name).toBe('pw-user');
        expect(await store.accounts.verifyPassword('pw-user', 'Correct horse')).toBeUndefined();
        expect(await store.accounts.verifyPassword('pw-user', '')).toBeUndefined();
        expect(await store.accounts.verifyPassword('no-such-user', 'correct horse')).toBeUndefined();
        expect(await store.accounts.verifyPassword('../bad name', 'x')).toBeUndefined();

        await store.accounts.setEnabled('pw-user', false);
        expect(await store.accounts.verifyPassword('pw-user', 'correct horse')).toBeUndefined();
        await store.accounts.setEnabled('pw-user', true);
        expect((await store.accounts.verifyPassword('pw-user', 'correct horse'))?.enabled).toBe(true);

        await store.accounts.setPassword('pw-user', 'battery staple');
        expect(await store.accounts.verifyPassword('pw-user', 'correct horse')).toBeUndefined();
        expect((await store.accounts.verifyPassword('pw-user', 'battery staple'))?.name).toBe('pw-user');
      });

      it('spends hashing time on unknown accounts too', async () => {
        await store.accounts.create({ name: 'timed', password: 'pw', home: '/h' });
        await store.accounts.verifyPassword('nobody', 'warm-up');
        // The fastest of a few tries, so that a busy test machine does not decide the outcome.
        const fastest = async (name: string) => {
          let best = Infinity;
          for (let i = 0; i < 3; i++) {
            const start = performance.now();
            await store.accounts.verifyPassword(name, 'wrong');
            best = Math.min(best, performance.now() - start);
          }
          return best;
        };
        const known = await fastest('timed');
        const unknown = await fastest('nobody');
        // scrypt N=16384 takes tens of ms; a lookup alone would be a small fraction of that.
        expect(unknown).toBeGreaterThan(known / 4);
      });

      it('reports FERRY_ERR_ACCOUNT_NOT_FOUND when changing an unknown account', async () => {
        await expectCode(store.accounts.setPassword('ghost', 'pw'), 'FERRY_ERR_ACCOUNT_NOT_FOUND');
        await expectCode(store.accounts.setEnabled('ghost', true), 'FERRY_ERR_ACCOUNT_NOT_FOUND');
        await expectCode(store.accounts.addSshKey('ghost', ed25519KeyLine('g').line), 'FERRY_ERR_ACCOUNT_NOT_FOUND');
        await expectCode(store.accounts.sshKeys('ghost'), 'FERRY_ERR_ACCOUNT_NOT_FOUND');
      });

      it('stores a salted scrypt hash, never the password', async () => {
        await store.accounts.create({ name: 'hash-a', password: 'same password', home: '/h' });
        await store.accounts.create({ name: 'hash-b', password: 'same password', home: '/h' });
        const rows = await target.rows(location.url, "select name, password_hash from accounts where name in ('hash-a', 'hash-b') order by name");
        expect(rows).toHaveLength(2);
        for (const row of rows) {
          expect(row.password_hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
          expect(row.password_hash).not.toContain('same password');
        }
        expect(rows[0]!.password_hash).not.toBe(rows[1]!.password_hash);
      });

      it('keeps OpenSSH public keys, once each, and drops them with the account', async () => {
        await store.accounts.create({ name: 'keyed', password: 'pw', home: '/h/k' });
        const first = ed25519KeyLine('alice@laptop');
        const second = ed25519KeyLine('alice@ci');
        const added = await store.accounts.addSshKey('keyed', `  ${first.line}\n`);
        expect(added).toEqual({ id: expect.any(Number), publicKey: first.line, fingerprint: first.fingerprint, createdAt: expect.any(String) });
        expect((await store.accounts.addSshKey('keyed', first.line)).id).toBe(added.id);
        await store.accounts.addSshKey('keyed', second.line);
        expect((await store.accounts.sshKeys('keyed')).map((k) => k.publicKey)).toEqual([first.line, second.line]);

        await store.accounts.remove('keyed');
        await store.accounts.create({ name: 'keyed', password: 'pw', home: '/h/k' });
        expect(await store.accounts.sshKeys('keyed')).toEqual([]);
      });

      it('refuses malformed SSH keys with FERRY_ERR_BAD_REQUEST', async () => {
        await store.accounts.create({ name: 'badkeys', password: 'pw', home: '/h' });
        const good = ed25519KeyLine('x').line;
        const [, data] = good.split(' ');
        for (const line of [
          '',
          'not a key',
          `ssh-dss ${data}`,
          `ssh-rsa ${data}`, // blob says ssh-ed25519
          `ssh-ed25519 ${data!.slice(0, 10)}!!`,
          `from="10.0.0.1" ${good}`,
          `${good}\n${good}`,
        ]) {
          await expectCode(store.accounts.addSshKey('badkeys', line), 'FERRY_ERR_BAD_REQUEST');
        }
        expect(await store.accounts.sshKeys('badkeys')).toEqual([]);
      });
    });

    describe('admin tokens', () => {
      it('create returns a fry_ token that verifies; only its SHA-256 is stored', async () => {
        const token = await store.adminTokens.create('ci pipeline');
        expect(token).toMatch(/^fry_[A-Za-z0-9_-]{43}$/);
        const verified = await store.adminTokens.verify(token);
        expect(verified).toEqual({ id: expect.any(Number), label: 'ci pipeline' });

        const rows = await target.rows(location.url, `select token_hash from admin_tokens where id = ${verified!.id}`);
        expect(rows[0]!.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
        const listed = (await store.adminTokens.list()).find((t) => t.id === verified!.id);
        expect(listed).toEqual({ id: verified!.id, label: 'ci pipeline', createdAt: expect.any(String) });
        expect(JSON.stringify(await store.adminTokens.list())).not.toContain(token.slice(4));
      });

      it('refuses unknown or altered tokens', async () => {
        const token = await store.adminTokens.create('laptop');
        expect(await store.adminTokens.verify(`${token}x`)).toBeUndefined();
        expect(await store.adminTokens.verify(token.slice(4))).toBeUndefined();
        expect(await store.adminTokens.verify('')).toBeUndefined();
        expect(await store.adminTokens.verify(`fry_${randomBytes(32).toString('base64url')}`)).toBeUndefined();
      });

      it('revoke makes a token stop working, and says whether there was one', async () => {
        const token = await store.adminTokens.create('to revoke');
        const keep = await store.adminTokens.create('to keep');
        const { id } = (await store.adminTokens.verify(token))!;
        expect(await store.adminTokens.revoke(id)).toBe(true);
        expect(await store.adminTokens.verify(token)).toBeUndefined();
        expect(await store.adminTokens.revoke(id)).toBe(false);
        expect((await store.adminTokens.list()).some((t) => t.id === id)).toBe(false);
        expect(await store.adminTokens.verify(keep)).toBeDefined();
      });

      it('refuses an empty label', async () => {
        await expectCode(store.adminTokens.create(''), 'FERRY_ERR_BAD_REQUEST');
      });
    });

    describe('admin users', () => {
      it('create, verify, list; separate from transfer accounts', async () => {
        const admin = await store.adminUsers.create('root-admin', 'admin pw');
        expect(admin).toEqual({ id: expect.any(Number), name: 'root-admin', createdAt: expect.any(String) });
        expect(await store.adminUsers.verify('root-admin', 'admin pw')).toEqual(admin);
        expect(await store.adminUsers.verify('root-admin', 'wrong')).toBeUndefined();
        expect(await store.adminUsers.verify('nobody', 'admin pw')).toBeUndefined();
        expect(await store.accounts.get('root-admin')).toBeUndefined();
        expect(await store.accounts.verifyPassword('root-admin', 'admin pw')).toBeUndefined();
        expect((await store.adminUsers.list()).map((u) => u.name)).toContain('root-admin');
        await expectCode(store.adminUsers.create('root-admin', 'x'), 'FERRY_ERR_ACCOUNT_EXISTS');
        await expectCode(store.adminUsers.create('-bad', 'x'), 'FERRY_ERR_BAD_REQUEST');
      });
    });

    describe('transfer history', () => {
      it('lists newest first, insertion order breaking ties', async () => {
        const component = 'hist-order';
        await store.history.record(transfer({ id: 't-a', component, endedAt: '2025-03-01T10:00:00.000Z' }));
        await store.history.record(transfer({ id: 't-b', component, endedAt: '2025-03-01T12:00:00.000Z' }));
        await store.history.record(transfer({ id: 't-c', component, endedAt: '2025-03-01T11:00:00.000Z' }));
        await store.history.record(transfer({ id: 't-d', component, endedAt: '2025-03-01T09:00:00.000Z' }));
        await store.history.record(transfer({ id: 't-e', component, endedAt: '2025-03-01T09:00:00.000Z' }));
        const ids = (await store.history.list({ component })).map((r) => r.id);
        expect(ids).toEqual(['t-b', 't-c', 't-a', 't-e', 't-d']);
        expect((await store.history.list({ component, limit: 2 })).map((r) => r.id)).toEqual(['t-b', 't-c']);
      });

      it('returns what was recorded', async () => {
        const entry = transfer({
          id: 'roundtrip-1',
          component: 'hist-roundtrip',
          protocol: 'sftp',
          account: null,
          remoteAddress: null,
          path: '/out/ré sumé.pdf',
          direction: 'download',
          bytes: 10,
          size: null,
          outcome: 'failed',
          reason: 'client went away',
        });
        await store.history.record(entry);
        expect(await store.history.list({ component: 'hist-roundtrip' })).toEqual([entry]);
      });

      it('normalises timestamps to ISO UTC', async () => {
        await store.history.record(transfer({ id: 'tz', component: 'hist-tz', startedAt: '2025-05-01T12:00:00+02:00', endedAt: '2025-05-01T12:00:01+02:00' }));
        const [row] = await store.history.list({ component: 'hist-tz' });
        expect(row).toMatchObject({ startedAt: '2025-05-01T10:00:00.000Z', endedAt: '2025-05-01T10:00:01.000Z' });
      });

      it('filters by component, account, outcome and since', async () => {
        const component = 'hist-filter';
        await store.history.record(transfer({ id: 'f1', component, account: 'bob', outcome: 'completed', endedAt: '2025-04-01T08:00:00.000Z' }));
        await store.history.record(transfer({ id: 'f2', component, account: 'carol', outcome: 'interrupted', reason: 'drain deadline', endedAt: '2025-04-01T09:00:00.000Z' }));
        await store.history.record(transfer({ id: 'f3', component, account: 'bob', outcome: 'failed', endedAt: '2025-04-01T10:00:00.000Z' }));
        await store.history.record(transfer({ id: 'f4', component: 'hist-filter-other', account: 'bob', endedAt: '2025-04-01T11:00:00.000Z' }));

        const ids = async (query: Parameters<Store['history']['list']>[0]) => (await store.history.list(query)).map((r) => r.id);
        expect(await ids({ component })).toEqual(['f3', 'f2', 'f1']);
        expect(await ids({ component, account: 'bob' })).toEqual(['f3', 'f1']);
        expect(await ids({ account: 'bob', since: '2025-04-01T00:00:00Z' })).toEqual(['f4', 'f3', 'f1']);
        expect(await ids({ component, outcome: 'interrupted' })).toEqual(['f2']);
        expect(await ids({ component, since: '2025-04-01T09:00:00.000Z' })).toEqual(['f3', 'f2']);
        expect(await ids({ component, since: '2025-04-01T11:00:00+02:00' })).toEqual(['f3', 'f2']);
        expect(await ids({ component: 'hist-filter-none' })).toEqual([]);
      });

      it('keeps byte counts beyond 32 bits exactly (5 GiB)', async () => {
        const bytes = 5 * GIB + 7;
        await store.history.record(transfer({ id: 'big', component: 'hist-big', bytes, size: 5 * GIB + 1000 }));
        const [row] = await store.history.list({ component: 'hist-big' });
        expect(row!.bytes).toBe(bytes);
        expect(typeof row!.bytes).toBe('number');
        expect(row!.size).toBe(5 * GIB + 1000);
      });

      it('refuses malformed records and queries with FERRY_ERR_BAD_REQUEST', async () => {
        const component = 'hist-bad';
        await expectCode(store.history.record(transfer({ id: 'b1', component, bytes: -1 })), 'FERRY_ERR_BAD_REQUEST');
        await expectCode(store.history.record(transfer({ id: 'b2', component, bytes: 1.5 })), 'FERRY_ERR_BAD_REQUEST');
        await expectCode(store.history.record(transfer({ id: 'b3', component, direction: 'sideways' as 'upload' })), 'FERRY_ERR_BAD_REQUEST');
        await expectCode(store.history.record(transfer({ id: 'b4', component, outcome: 'meh' as 'failed' })), 'FERRY_ERR_BAD_REQUEST');
        await expectCode(store.history.record(transfer({ id: 'b5', component, startedAt: 'yesterday' })), 'FERRY_ERR_BAD_REQUEST');
        await expectCode(store.history.record(transfer({ id: '', component })), 'FERRY_ERR_BAD_REQUEST');
        await expectCode(store.history.list({ limit: 0 }), 'FERRY_ERR_BAD_REQUEST');
        await expectCode(store.history.list({ since: 'last week' }), 'FERRY_ERR_BAD_REQUEST');
        expect(await store.history.list({ component })).toEqual([]);
      });
    });

    describe('lifecycle events', () => {
      it('records events with a timestamp and lists them newest first', async () => {
        const before = new Date().toISOString();
        const first = await store.events.record({ component: 'ev-ftpd', event: 'state:draining', detail: { deadline: '2025-01-01T00:00:00Z', active: 3 } });
        const second = await store.events.record({ component: 'ev-ftpd', event: 'state:drained' });
        await store.events.record({ component: 'ev-sshd', event: 'state:running' });

        expect(first).toEqual({ id: expect.any(Number), component: 'ev-ftpd', event: 'state:draining', detail: { deadline: '2025-01-01T00:00:00Z', active: 3 }, at: expect.any(String) });
        expect(first.at >= before).toBe(true);
        expect(second.detail).toEqual({});

        const ftpd = await store.events.list({ component: 'ev-ftpd' });
        expect(ftpd.map((e) => e.event)).toEqual(['state:drained', 'state:draining']);
        expect(ftpd[1]).toEqual(first);
        const latest = await store.events.list({ limit: 1 });
        expect(latest.map((e) => e.event)).toEqual(['state:running']);
      });

      it('refuses an event without a component or name', async () => {
        await expectCode(store.events.record({ component: '', event: 'x' }), 'FERRY_ERR_BAD_REQUEST');
        await expectCode(store.events.record({ component: 'x', event: '' }), 'FERRY_ERR_BAD_REQUEST');
      });
    });
  });
}

await forEachEngine('store', (engine, target) => storeSuite(engine, target));

describe('password hashing', () => {
  it('hashes to scrypt$N$r$p$salt$hash and verifies', async () => {
    const hash = await hashPassword('pässword');
    expect(hash.split('$').slice(0, 4)).toEqual(['scrypt', '16384', '8', '1']);
    expect(await verifyPasswordHash('pässword', hash)).toBe(true);
    expect(await verifyPasswordHash('password', hash)).toBe(false);
    // The same password composed or decomposed is the same password.
    expect(await verifyPasswordHash('pa\u0308ssword', hash)).toBe(true);
  });

  it('answers false, not an exception, for hashes it cannot read', async () => {
    const hash = await hashPassword('pw');
    const [, , , , salt, key] = hash.split('$');
    for (const stored of ['', 'plain', 'argon2id$v=19$...', `scrypt$1000$8$1$${salt}$${key}`, `scrypt$${2 ** 24}$8$1$${salt}$${key}`, `scrypt$16384$8$1$$${key}`]) {
      expect(await verifyPasswordHash('pw', stored)).toBe(false);
    }
  });
});

describe('store url', () => {
  it('resolves SQLite paths: relative against the cwd, empty url into the data dir', () => {
    expect(parseStoreUrl('sqlite:./data/ferry.db', '/var/ferry')).toEqual({ engine: 'sqlite', file: resolve(process.cwd(), 'data/ferry.db') });
    expect(parseStoreUrl('sqlite:/abs/x.db', '/var/ferry')).toEqual({ engine: 'sqlite', file: '/abs/x.db' });
    expect(parseStoreUrl('sqlite::memory:', '/var/ferry')).toEqual({ engine: 'sqlite', file: ':memory:' });
    expect(parseStoreUrl('', '/var/ferry')).toEqual({ engine: 'sqlite', file: '/var/ferry/ferry.db' });
  });

  it('accepts postgres:// and postgresql://, hiding the password', () => {
    expect(parseStoreUrl('postgres://u:pw@db.example:5432/ferry', '.')).toMatchObject({ engine: 'postgres', shownUrl: 'postgres://u:***@db.example:5432/ferry' });
    expect(parseStoreUrl('postgresql://db.example/ferry', '.')).toMatchObject({ engine: 'postgres' });
  });

  it('refuses anything else with FERRY_ERR_CONFIG_INVALID naming store.url, without the password', async () => {
    for (const url of ['mysql://u:topsecret@h/db', 'sqlite:', 'sqlite://x.db', 'ferry.db']) {
      const err = await expectCode(openStore({ url, dataDir: tmpdir() }), 'FERRY_ERR_CONFIG_INVALID');
      expect(err.details.key).toBe('store.url');
      expect(err.message).not.toContain('topsecret');
    }
  });

  it('opens an in-memory SQLite store', async () => {
    const store = await openStore({ url: 'sqlite::memory:', dataDir: tmpdir() });
    await store.accounts.create({ name: 'mem', password: 'pw', home: '/h' });
    expect((await store.accounts.verifyPassword('mem', 'pw'))?.name).toBe('mem');
    await store.close();
    await store.close();
  });

  it('creates the parent directory of an SQLite file and puts it in WAL mode', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ferry-store-wal-'));
    try {
      const file = join(root, 'not', 'yet', 'there.db');
      const store = await openStore({ url: `sqlite:${file}`, dataDir: root });
      await store.close();
      expect(existsSync(file)).toBe(true);
      const raw = new SqliteDatabase(file, { readonly: true });
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      raw.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reports an unreachable PostgreSQL as FERRY_ERR_STORE, without the password', async () => {
    const err = await expectCode(openStore({ url: 'postgres://ferry:topsecret@127.0.0.1:1/ferry', dataDir: tmpdir() }), 'FERRY_ERR_STORE');
    expect(err.message).toContain('127.0.0.1:1');
    expect(err.message).not.toContain('topsecret');
    expect(err.retryable).toBe(true);
  });
});
