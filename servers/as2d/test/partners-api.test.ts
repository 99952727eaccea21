import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, startApi, type RunningApi } from '../../../admin/api/test/support/harness.js';
import { curlPost, filesIn, makePki, startAs2d, type As2Harness, type Pki } from './helpers.js';
import { partnerMessage, readMdn } from './partner.js';

/**
 * Partners managed through the admin API reach a running as2d without a restart. As in a node, the
 * API and as2d are two users of one store (here one SQLite file, two connections): the API's
 * `store.as2Partners`, which as2d reads per message.
 */

let pki: Pki;
let api: RunningApi | undefined;
let h: As2Harness | undefined;

beforeAll(async () => {
  pki = await makePki();
});
afterAll(() => rm(pki.dir, { recursive: true, force: true }));
afterEach(async () => {
  await h?.close();
  await api?.close();
  h = undefined;
  api = undefined;
});

/** as2d without partners in ferry.yaml (unless given), on the API's store. */
async function start(configured: Record<string, unknown>[] = []): Promise<{ api: RunningApi; h: As2Harness }> {
  api = await startApi();
  h = await startAs2d({ pki, storeUrl: `sqlite:${join(api.dataDir, 't.db')}`, section: { partners: configured } });
  return { api, h };
}

/** ALICE's signed and encrypted message; the disposition of the MDN that answers it. */
async function sendFromAlice(filename: string): Promise<string> {
  const msg = await partnerMessage(pki.dir, Buffer.from(`payload of ${filename}`), { signer: pki.alice, cipher: '-aes128', recipient: pki.ferry, filename });
  const answer = await curlPost(`${h!.base}/as2`, msg.headers, msg.bodyFile).done;
  expect(answer.status).toBe(200);
  return (await readMdn(pki.dir, answer.headers, answer.body, pki.ferry)).disposition.replace('automatic-action/MDN-sent-automatically; ', '');
}

const putPartner = (body: Record<string, unknown>) => call(api!, 'PUT', '/api/v1/as2/partners/ALICE', { body });

describe('partners through the admin API, without restarting as2d', () => {
  it('accepts a partner from the moment it is added, follows its changes, and refuses it once removed', async () => {
    await start();
    const aliceCert = await readFile(pki.alice.certFile, 'utf8');
    const inbox = join(h!.dir, 'api-inbox');
    expect(await sendFromAlice('before.edi')).toBe('processed/error: authentication-failed');

    expect((await putPartner({ certificate: aliceCert, inbox })).status).toBe(201);
    expect(await sendFromAlice('added.edi')).toBe('processed');
    expect(await filesIn(inbox)).toEqual(['added.edi']);

    // Another certificate: ALICE's signature no longer verifies (the cached certificate is not reused).
    expect((await putPartner({ certificate: await readFile(pki.mallory.certFile, 'utf8'), inbox })).status).toBe(200);
    expect(await sendFromAlice('wrong-cert.edi')).toBe('processed/error: authentication-failed');

    // Back to her certificate, but accepting AES-256-GCM only: her AES-128-CBC message is refused for its security.
    expect((await putPartner({ certificate: aliceCert, inbox, accept: { encryption: ['aes256-gcm'] } })).status).toBe(200);
    expect(await sendFromAlice('aes128.edi')).toBe('processed/error: insufficient-message-security');

    expect((await call(api!, 'DELETE', '/api/v1/as2/partners/ALICE')).status).toBe(204);
    expect(await sendFromAlice('removed.edi')).toBe('processed/error: authentication-failed');
    expect(await filesIn(inbox)).toEqual(['added.edi']);
    expect(h!.runtime.state).toBe('running');
  });

  it('a store partner takes precedence over the ferry.yaml one with its id; removing it brings that one back', async () => {
    const configuredInbox = join(pki.dir, `yaml-inbox-${Date.now()}`);
    await start([{ id: 'ALICE', certificate: pki.alice.certFile, inbox: configuredInbox }]);
    expect(await sendFromAlice('from-yaml.edi')).toBe('processed');
    expect(await filesIn(configuredInbox)).toEqual(['from-yaml.edi']);

    const storeInbox = join(h!.dir, 'store-inbox');
    expect((await putPartner({ certificate: await readFile(pki.alice.certFile, 'utf8'), inbox: storeInbox })).status).toBe(201);
    expect(await sendFromAlice('from-store.edi')).toBe('processed');
    expect(await filesIn(storeInbox)).toEqual(['from-store.edi']);

    await call(api!, 'DELETE', '/api/v1/as2/partners/ALICE');
    expect(await sendFromAlice('yaml-again.edi')).toBe('processed');
    expect(await filesIn(configuredInbox)).toEqual(['from-yaml.edi', 'yaml-again.edi']);
    await rm(configuredInbox, { recursive: true, force: true });
  });
});
