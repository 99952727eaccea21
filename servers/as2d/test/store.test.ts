import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AS2_DIGESTS, AS2_ENCRYPTIONS, AS2_SEND_DEFAULTS, openStore, type Store } from '@ferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type Pki } from './helpers.js';

/**
 * store.as2 (core migration 0002_as2) and store.as2Partners (0004_as2_partners) on SQLite and on PostgreSQL (a throw-away database). Without
 * a reachable PostgreSQL that half is skipped, except under CI=true.
 */

let pki: Pki;

beforeAll(async () => {
  pki = await makePki();
});
afterAll(() => rm(pki.dir, { recursive: true, force: true }));

const PG_ADMIN_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Why PostgreSQL cannot be used, or undefined when it can. */
async function postgresMissing(): Promise<string | undefined> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  try {
    await admin.connect();
    await admin.end();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

async function postgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  const name = `ferry_test_as2_${randomBytes(5).toString('hex')}`;
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

function suite(engine: 'sqlite' | 'postgres', open: () => Promise<{ store: () => Promise<Store>; cleanup(): Promise<void> }>): void {
  describe(`store.as2 on ${engine}`, () => {
    let target: Awaited<ReturnType<typeof open>>;
    let store: Store;

    beforeAll(async () => {
      target = await open();
      store = await target.store();
    });

    afterAll(async () => {
      await store?.close();
      await target?.cleanup();
    });

    it('claims a received Message-ID once per partner', async () => {
      const message = { direction: 'in' as const, partner: 'ACME', messageId: '<1@acme>', status: 'delivered', path: '/a.edi', bytes: 5 * 2 ** 30, mic: 'abc=, sha-256' };
      expect(await store.as2.claim(message)).toBe(true);
      expect(await store.as2.claim(message)).toBe(false);
      expect(await store.as2.claim({ ...message, partner: 'OTHER' })).toBe(true);
      expect(await store.as2.claim({ ...message, direction: 'out' })).toBe(true);
      expect(await store.as2.get('in', 'ACME', '<1@acme>')).toMatchObject({ status: 'delivered', path: '/a.edi', bytes: 5 * 2 ** 30, mic: 'abc=, sha-256', disposition: null });
      expect(await store.as2.update('out', 'ACME', '<1@acme>', { status: 'processed', disposition: 'automatic-action/MDN-sent-automatically; processed' })).toBe(true);
      expect((await store.as2.get('out', 'ACME', '<1@acme>'))?.status).toBe('processed');
      expect(await store.as2.update('out', 'ACME', '<nope>', { status: 'x' })).toBe(false);
      // A late writer does not overwrite an outcome recorded meanwhile.
      expect(await store.as2.update('out', 'ACME', '<1@acme>', { status: 'awaiting-mdn' }, 'sending')).toBe(false);
      expect(await store.as2.update('out', 'ACME', '<1@acme>', { status: 'failed' }, 'processed')).toBe(true);
      await store.as2.forget('in', 'OTHER', '<1@acme>');
      expect(await store.as2.get('in', 'OTHER', '<1@acme>')).toBeUndefined();
      expect((await store.as2.get('out', 'ACME', '<1@acme>'))?.status).toBe('failed');
      expect((await store.as2.list({ partner: 'ACME' })).map((m) => m.direction).sort()).toEqual(['in', 'out']);
    });

    it('refuses malformed records with FERRY_ERR_BAD_REQUEST', async () => {
      await expect(store.as2.claim({ direction: 'sideways' as 'in', partner: 'A', messageId: '<x>', status: 's' })).rejects.toMatchObject({ code: 'FERRY_ERR_BAD_REQUEST' });
      await expect(store.as2.claim({ direction: 'in', partner: '', messageId: '<x>', status: 's' })).rejects.toMatchObject({ code: 'FERRY_ERR_BAD_REQUEST' });
      await expect(store.as2.claim({ direction: 'in', partner: 'A', messageId: 'x'.repeat(999), status: 's' })).rejects.toMatchObject({ code: 'FERRY_ERR_BAD_REQUEST' });
    });

    it('queues MDNs, leases them so that a second claimer gets none, and releases them for a retry', async () => {
      const held = await store.as2.queueMdn({ partner: 'ACME', originalMessageId: '<m1@acme>', url: 'http://acme/mdn', headers: [['as2-from', 'FERRY']], body: Buffer.from([0, 1, 2, 255]) }, { leaseMs: 60_000 });
      expect(held).toMatchObject({ attempts: 1, headers: [['as2-from', 'FERRY']] });
      expect(held.body.equals(Buffer.from([0, 1, 2, 255]))).toBe(true);
      const free = await store.as2.queueMdn({ partner: 'ACME', originalMessageId: '<m2@acme>', url: 'http://acme/mdn', headers: [], body: Buffer.from('x') });

      const first = await store.as2.claimDueMdns({ leaseMs: 60_000, limit: 10 });
      expect(first.map((m) => m.id)).toEqual([free.id]);
      expect(first[0]!.attempts).toBe(1);
      expect(await store.as2.claimDueMdns({ leaseMs: 60_000, limit: 10 })).toEqual([]);

      const later = new Date(Date.now() + 3_600_000).toISOString();
      await store.as2.mdnFailed(free.id, 'HTTP 503', later);
      expect(await store.as2.claimDueMdns({ leaseMs: 60_000, limit: 10 })).toEqual([]);
      const early = await store.as2.claimDueMdns({ leaseMs: 60_000, limit: 10, dueBy: new Date(Date.now() + 7_200_000) });
      expect(early.map((m) => [m.id, m.attempts, m.lastError])).toEqual([[free.id, 2, 'HTTP 503']]);

      await store.as2.mdnDelivered(free.id);
      await store.as2.dropMdn(held.id);
      expect(await store.as2.pendingMdns()).toEqual([]);
    });

    it('hands a contended MDN to exactly one of two stores', async () => {
      const other = await target.store();
      try {
        const queued = await store.as2.queueMdn({ partner: 'ACME', originalMessageId: '<race@acme>', url: 'http://acme/mdn', headers: [], body: Buffer.from('r') });
        const [a, b] = await Promise.all([store.as2.claimDueMdns({ leaseMs: 60_000, limit: 5 }), other.as2.claimDueMdns({ leaseMs: 60_000, limit: 5 })]);
        expect([...a, ...b].map((m) => m.id)).toEqual([queued.id]);
        await store.as2.dropMdn(queued.id);
      } finally {
        await other.close();
      }
    });

    it('keeps AS2 partners: defaults, replace keeping createdAt, list by id, remove', async () => {
      const pem = await readFile(pki.alice.certFile, 'utf8');
      const { partner, created } = await store.as2Partners.put({ id: 'ACME', certificate: pem, inbox: '/srv/acme' });
      expect(created).toBe(true);
      expect(partner).toMatchObject({
        id: 'ACME',
        url: null,
        requireSignature: true,
        requireEncryption: true,
        accept: { encryption: [...AS2_ENCRYPTIONS], signature: [...AS2_DIGESTS] },
        send: AS2_SEND_DEFAULTS,
      });
      expect(partner.certificate).toBe(new X509Certificate(pem).toString());
      const again = await store.as2Partners.put({ id: 'ACME', certificate: pem, inbox: '/srv/acme2', url: 'https://acme.example/as2', send: { mdn: 'none' }, accept: { signature: ['sha-512', 'sha-512'] } });
      expect(again).toMatchObject({ created: false, partner: { inbox: '/srv/acme2', url: 'https://acme.example/as2', send: { mdn: 'none', signedMdn: true }, accept: { signature: ['sha-512'] }, createdAt: partner.createdAt } });
      await store.as2Partners.put({ id: 'ABC Corp', certificate: pem, inbox: '/srv/abc' });
      expect((await store.as2Partners.list()).map((p) => p.id)).toEqual(['ABC Corp', 'ACME']);
      await store.as2Partners.remove('ABC Corp');
      expect(await store.as2Partners.get('ABC Corp')).toBeUndefined();
      await expect(store.as2Partners.remove('ABC Corp')).rejects.toMatchObject({ code: 'FERRY_ERR_NOT_FOUND', details: { partner: 'ABC Corp' } });
      await store.as2Partners.remove('ACME');
    });

    it('refuses a partner that is not allowed with FERRY_ERR_BAD_REQUEST naming the field', async () => {
      const pem = await readFile(pki.alice.certFile, 'utf8');
      const good = { id: 'ACME', certificate: pem, inbox: '/srv/acme' };
      const cases: [Record<string, unknown>, string][] = [
        [{ id: 'tab\tid' }, 'id'],
        [{ id: 'x'.repeat(129) }, 'id'],
        [{ certificate: 'nope' }, 'certificate'],
        [{ certificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }, 'certificate'],
        [{ inbox: 'relative' }, 'inbox'],
        [{ url: 'mailto:x@acme' }, 'url'],
        [{ requireSignature: 'yes' }, 'requireSignature'],
        [{ accept: { encryption: [] } }, 'accept.encryption'],
        [{ accept: { signature: ['md5'] } }, 'accept.signature[0]'],
        [{ send: { keyTransport: 'rsa-oaep-md5' } }, 'send.keyTransport'],
      ];
      for (const [change, field] of cases) {
        await expect(store.as2Partners.put({ ...good, ...change } as never), field).rejects.toMatchObject({ code: 'FERRY_ERR_BAD_REQUEST', details: { field } });
      }
      expect(await store.as2Partners.list()).toEqual([]);
    });
  });
}

suite('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-as2-store-'));
  return {
    store: () => openStore({ url: `sqlite:${join(dir, 'ferry.db')}`, dataDir: dir }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

const missing = await postgresMissing();
if (missing !== undefined && process.env.CI !== 'true') {
  describe.skip(`store.as2 on postgres — skipped: ${missing}`, () => {
    it('runs against PostgreSQL', () => undefined);
  });
} else {
  suite('postgres', async () => {
    if (missing !== undefined) throw new Error(`PostgreSQL is needed in CI: ${missing}`);
    const database = await postgresDatabase();
    return { store: () => openStore({ url: database.url, dataDir: tmpdir() }), cleanup: () => database.drop() };
  });
}
