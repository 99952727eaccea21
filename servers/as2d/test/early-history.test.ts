import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import type { TransferRecord } from '@ferry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { curlPost, eventually, filesIn, makePki, startAs2d, writeTemp, type As2Harness, type Pki } from './helpers.js';
import { partnerMessage } from './partner.js';

/**
 * A message refused before its payload had a name still leaves one history row: `failed` (or
 * `interrupted` when cut) with the reason, the claimed AS2-From as the account and the Message-ID
 * as the path. Nothing is stored in the inbox.
 */

let pki: Pki;
let h: As2Harness | undefined;

beforeAll(async () => {
  pki = await makePki();
});
afterAll(() => rm(pki.dir, { recursive: true, force: true }));
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const AS2 = { 'AS2-Version': '1.1', 'AS2-From': 'ALICE', 'AS2-To': 'FERRY' };
const SYNC_MDN = { 'Disposition-Notification-To': 'x@alice' };
const ENVELOPED = 'application/pkcs7-mime; smime-type=enveloped-data';

async function post(headers: Record<string, string>, body: Buffer) {
  const file = await writeTemp(pki.dir, `early-${randomBytes(4).toString('hex')}`, body);
  return curlPost(`${h!.base}/as2`, headers, file).done;
}

/** The one history row of a Message-ID (recorded after the response: waited for). */
async function rowOf(messageId: string): Promise<TransferRecord> {
  const rows = async () => (await h!.store.history.list({ component: 'as2d' })).filter((r) => r.path === messageId);
  await eventually(async () => (await rows()).length > 0);
  const found = await rows();
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('history of messages refused before their payload is stored', () => {
  it('records an unknown partner, with or without an MDN asked for', async () => {
    h = await startAs2d({ pki });
    const withMdn = await post({ ...AS2, ...SYNC_MDN, 'AS2-From': 'MALLORY', 'Message-ID': '<u1@mallory>', 'Content-Type': ENVELOPED }, randomBytes(2000));
    expect(withMdn.status).toBe(200);
    expect(await rowOf('<u1@mallory>')).toMatchObject({
      protocol: 'as2',
      account: 'MALLORY',
      direction: 'upload',
      outcome: 'failed',
      bytes: 2000,
      size: 2000,
      reason: expect.stringMatching(/^authentication-failed: AS2-From "MALLORY" is not a configured trading partner/),
      remoteAddress: '127.0.0.1',
    });
    const noMdn = await post({ ...AS2, 'AS2-To': 'SOMEONE', 'Message-ID': '<u2@alice>', 'Content-Type': ENVELOPED }, randomBytes(10));
    expect(noMdn.status).toBe(403);
    expect((await rowOf('<u2@alice>')).reason).toContain('AS2-To "SOMEONE" is not us (FERRY)');
  });

  it('records a decryption failure, malformed MIME and a wrong signature, with the negative disposition as the reason', async () => {
    h = await startAs2d({ pki });
    await post({ ...AS2, ...SYNC_MDN, 'Message-ID': '<d1@alice>', 'Content-Type': ENVELOPED }, randomBytes(5000));
    expect(await rowOf('<d1@alice>')).toMatchObject({ account: 'ALICE', outcome: 'failed', reason: expect.stringMatching(/^decryption-failed: /) });

    await post({ ...AS2, 'Message-ID': '<m1@alice>', 'Content-Type': 'multipart/signed; protocol="application/pkcs7-signature"' }, Buffer.from('x'));
    expect(await rowOf('<m1@alice>')).toMatchObject({ outcome: 'failed', reason: expect.stringMatching(/^unexpected-processing-error: /) });

    // Signed by a stranger: refused before the content, so before the payload has a name.
    const byMallory = await partnerMessage(pki.dir, Buffer.from('forged'), { signer: pki.mallory, cipher: '-aes128', recipient: pki.ferry, messageId: '<s1@alice>' });
    await curlPost(h.base, byMallory.headers, byMallory.bodyFile).done;
    const forged = async () => (await h!.store.history.list({ component: 'as2d' })).filter((r) => r.reason?.startsWith('authentication-failed'));
    await eventually(async () => (await forged()).length > 0);
    const rows = await forged();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ account: 'ALICE', outcome: 'failed' });
    expect(await filesIn(h.inbox)).toEqual([]);
  });

  it('records missing AS2 headers and an announced oversize', async () => {
    h = await startAs2d({ pki, section: { maxMessageSize: '1KiB' } });
    expect((await post({ 'Message-ID': '<h1@x>', 'Content-Type': 'text/plain' }, Buffer.from('x'))).status).toBe(400);
    expect(await rowOf('<h1@x>')).toMatchObject({ account: null, outcome: 'failed', reason: expect.stringContaining('needs the AS2-From, AS2-To and Message-ID') });

    expect((await post({ ...AS2, 'Message-ID': '<big@alice>', 'Content-Type': ENVELOPED }, randomBytes(4096))).status).toBe(413);
    expect(await rowOf('<big@alice>')).toMatchObject({ account: 'ALICE', outcome: 'failed', size: 4096, reason: 'the message is larger than 1024 bytes' });
  });

  it('records a message cut before its payload had a name as interrupted', async () => {
    h = await startAs2d({ pki });
    const msg = await partnerMessage(pki.dir, randomBytes(50_000), { signer: pki.alice, cipher: '-aes256', recipient: pki.ferry, messageId: '<cut@alice>' });
    const whole = await readFile(msg.bodyFile);
    const head = ['POST /as2 HTTP/1.1', 'Host: 127.0.0.1', `Content-Length: ${whole.length}`, ...Object.entries(msg.headers).map(([n, v]) => `${n}: ${v}`), '', ''].join('\r\n');
    await new Promise<void>((resolve) => {
      // 100 bytes: not even the envelope's header, so the payload has no name yet.
      const socket = connect(h!.port, '127.0.0.1', () => socket.write(head, () => socket.write(whole.subarray(0, 100), () => setTimeout(() => socket.destroy(), 100))));
      socket.on('close', () => resolve());
      socket.on('error', () => undefined);
    });
    expect(await rowOf('<cut@alice>')).toMatchObject({ account: 'ALICE', outcome: 'interrupted', bytes: 100, reason: 'the partner closed the connection during the message' });
    expect(await filesIn(h.inbox)).toEqual([]);
  });

  it('records nothing for a message refused during a drain: the partner resends it', async () => {
    h = await startAs2d({ pki, section: { gracefulShutdownTimeout: '5s' } });
    await h.runtime.suspend();
    const answer = await post({ ...AS2, 'Message-ID': '<later@alice>', 'Content-Type': ENVELOPED }, randomBytes(10));
    expect(answer.status).toBe(503);
    await new Promise((r) => setTimeout(r, 100));
    expect(await h.store.history.list({ component: 'as2d' })).toEqual([]);
  });
});
