import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { curlPost, eventually, filesIn, makePki, mdnCatcher, startAs2d, type As2Harness, type MdnCatcher, type Pki } from './helpers.js';
import { micOf, partnerMessage, readMdn } from './partner.js';

let pki: Pki;
let h: As2Harness | undefined;
let catcher: MdnCatcher | undefined;

beforeAll(async () => {
  pki = await makePki();
});

afterAll(async () => {
  await rm(pki.dir, { recursive: true, force: true });
});

afterEach(async () => {
  await h?.close();
  await catcher?.close();
  h = undefined;
  catcher = undefined;
});

describe('receiving from OpenSSL + curl', () => {
  it('stores a signed and encrypted message and answers a signed MDN with the right MIC', async () => {
    h = await startAs2d({ pki });
    const payload = randomBytes(300_000);
    const msg = await partnerMessage(pki.dir, payload, { signer: pki.alice, cipher: '-aes256', recipient: pki.ferry, filename: 'invoice 42.edi' });
    const answer = await curlPost(`${h.base}/as2`, msg.headers, msg.bodyFile).done;
    expect(answer.status).toBe(200);
    expect(answer.headers['as2-from']).toBe('FERRY');
    expect(answer.headers['as2-to']).toBe('ALICE');
    const mdn = await readMdn(pki.dir, answer.headers, answer.body, pki.ferry);
    expect(mdn.signed).toBe(true);
    expect(mdn.disposition).toBe('automatic-action/MDN-sent-automatically; processed');
    expect(mdn.mic).toBe(micOf(msg.micInput));
    expect(mdn.originalMessageId).toBe(msg.messageId);
    expect((await readFile(join(h.inbox, 'invoice 42.edi'))).equals(payload)).toBe(true);
    expect(await filesIn(h.inbox)).toEqual(['invoice 42.edi']);

    await eventually(async () => (await h!.store.history.list({ component: 'as2d' })).length === 1);
    const [record] = await h.store.history.list({ component: 'as2d' });
    expect(record).toMatchObject({ protocol: 'as2', account: 'ALICE', path: '/invoice 42.edi', direction: 'upload', bytes: 300_000, outcome: 'completed' });
    const stored = await h.store.as2.get('in', 'ALICE', msg.messageId);
    expect(stored).toMatchObject({ status: 'delivered', path: '/invoice 42.edi', bytes: 300_000, mic: micOf(msg.micInput) });
  });

  it('decrypts OAEP and GCM, and returns a SHA-1 MIC when asked', async () => {
    h = await startAs2d({ pki });
    for (const [cipher, oaep] of [
      ['-aes128', true],
      ['-aes-256-gcm', false],
      ['-des3', true],
    ] as const) {
      const payload = randomBytes(50_000);
      const msg = await partnerMessage(pki.dir, payload, { signer: pki.alice, digest: 'sha1', micalg: 'sha1', cipher, oaep, recipient: pki.ferry, filename: `f${cipher}.bin` });
      const answer = await curlPost(`${h.base}/`, msg.headers, msg.bodyFile).done;
      const mdn = await readMdn(pki.dir, answer.headers, answer.body, pki.ferry);
      expect(mdn.disposition, cipher).toMatch(/; processed$/);
      expect(mdn.mic).toBe(micOf(msg.micInput, 'sha1'));
      expect((await readFile(join(h.inbox, `f${cipher}.bin`))).equals(payload)).toBe(true);
    }
  });

  it('delivers a duplicate Message-ID once and answers its MDN again', async () => {
    h = await startAs2d({ pki });
    const msg = await partnerMessage(pki.dir, Buffer.from('UNB+1\r\n'), { signer: pki.alice, cipher: '-aes128', recipient: pki.ferry, filename: 'dup.edi' });
    const first = await curlPost(h.base, msg.headers, msg.bodyFile).done;
    const second = await curlPost(h.base, msg.headers, msg.bodyFile).done;
    const [a, b] = [await readMdn(pki.dir, first.headers, first.body, pki.ferry), await readMdn(pki.dir, second.headers, second.body, pki.ferry)];
    expect(a.disposition).toMatch(/; processed$/);
    expect(b.disposition).toBe(a.disposition);
    expect(b.mic).toBe(a.mic);
    expect(b.text).toContain('already received');
    expect(await filesIn(h.inbox)).toEqual(['dup.edi']);
    await eventually(async () => (await h!.store.history.list({ component: 'as2d' })).length === 1);
  });

  it('gives a second message with the same file name a name of its own', async () => {
    h = await startAs2d({ pki });
    for (const text of ['one', 'two']) {
      const msg = await partnerMessage(pki.dir, Buffer.from(text), { signer: pki.alice, cipher: '-aes128', recipient: pki.ferry, filename: 'daily.edi' });
      expect((await curlPost(h.base, msg.headers, msg.bodyFile).done).status).toBe(200);
    }
    const files = await filesIn(h.inbox);
    expect(files).toHaveLength(2);
    expect(files).toContain('daily.edi');
    expect(files.find((f) => f !== 'daily.edi')).toMatch(/^daily\.[0-9a-f]{12}\.edi$/);
  });

  it('answers an unsigned MDN when no signed one is asked for, and accepts a signed-only message when encryption is not required', async () => {
    h = await startAs2d({ pki, partner: { requireEncryption: false } });
    const msg = await partnerMessage(pki.dir, Buffer.from('hello'), { signer: pki.alice, recipient: pki.ferry, mdn: 'sync' });
    const answer = await curlPost(h.base, msg.headers, msg.bodyFile).done;
    expect(answer.headers['content-type']).toMatch(/^multipart\/report/);
    const mdn = await readMdn(pki.dir, answer.headers, answer.body);
    expect(mdn.disposition).toMatch(/; processed$/);
    expect(mdn.mic).toBe(micOf(msg.micInput));
  });

  it('posts an asynchronous MDN to Receipt-Delivery-Option, signed', async () => {
    catcher = await mdnCatcher();
    h = await startAs2d({ pki });
    const msg = await partnerMessage(pki.dir, randomBytes(1000), { signer: pki.alice, cipher: '-aes192', recipient: pki.ferry, mdn: 'async', asyncUrl: catcher.url });
    const answer = await curlPost(h.base, msg.headers, msg.bodyFile).done;
    expect(answer.status).toBe(200);
    await eventually(() => catcher!.received.length === 1);
    const posted = catcher.received[0]!;
    expect(posted.headers['as2-from']).toBe('FERRY');
    expect(posted.headers['as2-to']).toBe('ALICE');
    const mdn = await readMdn(pki.dir, posted.headers as Record<string, string>, posted.body, pki.ferry);
    expect(mdn.mic).toBe(micOf(msg.micInput));
    await eventually(async () => (await h!.store.as2.pendingMdns()).length === 0);
  });

  it('keeps an asynchronous MDN it could not deliver and sends it after a restart', async () => {
    catcher = await mdnCatcher();
    catcher.status = 503;
    h = await startAs2d({ pki, section: { asyncMdn: { retryInterval: '1h' } } });
    const msg = await partnerMessage(pki.dir, randomBytes(1000), { signer: pki.alice, cipher: '-aes128', recipient: pki.ferry, mdn: 'async', asyncUrl: catcher.url });
    expect((await curlPost(h.base, msg.headers, msg.bodyFile).done).status).toBe(200);
    await eventually(async () => (await h!.store.as2.pendingMdns())[0]?.lastError === 'HTTP 503');
    await h.runtime.gracefulStop(Date.now() + 10_000);
    catcher.status = 200;
    await h.restart();
    await eventually(() => catcher!.received.length === 1);
    const mdn = await readMdn(pki.dir, catcher.received[0]!.headers as Record<string, string>, catcher.received[0]!.body, pki.ferry);
    expect(mdn.originalMessageId).toBe(msg.messageId);
    await eventually(async () => (await h!.store.as2.pendingMdns()).length === 0);
  });

  it('serves HTTPS', async () => {
    h = await startAs2d({ pki, section: { tls: { cert: pki.ferry.certFile, key: pki.ferry.keyFile } } });
    const msg = await partnerMessage(pki.dir, Buffer.from('over TLS'), { signer: pki.alice, cipher: '-aes128', recipient: pki.ferry });
    const answer = await curlPost(`https://127.0.0.1:${h.port}/as2`, msg.headers, msg.bodyFile, ['--cacert', pki.ferry.certFile, '--resolve', `FERRY:${h.port}:127.0.0.1`, '-k']).done;
    expect(answer.status).toBe(200);
    expect((await readMdn(pki.dir, answer.headers, answer.body, pki.ferry)).disposition).toMatch(/; processed$/);
  });
});
