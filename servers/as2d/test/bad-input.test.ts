import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { curlPost, eventually, filesIn, makePki, startAs2d, writeTemp, type As2Harness, type Pki } from './helpers.js';
import { partnerMessage, readMdn } from './partner.js';
import { openssl } from './pki.js';

let pki: Pki;
let h: As2Harness | undefined;

beforeAll(async () => {
  pki = await makePki();
});

afterAll(async () => {
  await rm(pki.dir, { recursive: true, force: true });
});

afterEach(async () => {
  await h?.close();
  h = undefined;
});

const AS2 = { 'AS2-Version': '1.1', 'AS2-From': 'ALICE', 'AS2-To': 'FERRY', 'Disposition-Notification-To': 'x@alice' };
const SIGNED_MDN = { ...AS2, 'Disposition-Notification-Options': 'signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256' };

async function post(headers: Record<string, string>, body: Buffer) {
  const file = await writeTemp(pki.dir, `bad-${randomBytes(4).toString('hex')}`, body);
  return curlPost(`${h!.base}/as2`, { 'Message-ID': `<${randomBytes(6).toString('hex')}@alice>`, ...headers }, file).done;
}

async function negative(answer: Awaited<ReturnType<typeof post>>): Promise<string> {
  expect(answer.status).toBe(200);
  const mdn = await readMdn(pki.dir, answer.headers, answer.body, pki.ferry);
  expect(mdn.signed).toBe(true);
  expect(mdn.mic).toBeUndefined();
  return mdn.disposition.replace('automatic-action/MDN-sent-automatically; ', '');
}

/** Still up, and still accepting good messages; nothing else in the inbox. */
async function stillServing(): Promise<void> {
  expect(h!.runtime.state).toBe('running');
  const good = await partnerMessage(pki.dir, Buffer.from('good'), { signer: pki.alice, cipher: '-aes128', recipient: pki.ferry, filename: 'good.edi' });
  const answer = await curlPost(h!.base, good.headers, good.bodyFile).done;
  expect((await readMdn(pki.dir, answer.headers, answer.body, pki.ferry)).disposition).toMatch(/; processed$/);
  expect(await filesIn(h!.inbox)).toEqual(['good.edi']);
}

describe('bad input: a clear negative MDN or 4xx, nothing stored, daemon up', () => {
  it('malformed MIME: no boundary, garbage inside the envelope, garbage as the envelope', async () => {
    h = await startAs2d({ pki });
    expect(await negative(await post({ ...SIGNED_MDN, 'Content-Type': 'multipart/signed; protocol="application/pkcs7-signature"' }, Buffer.from('x')))).toBe(
      'processed/error: unexpected-processing-error',
    );
    const noHeaders = await openssl(['cms', '-encrypt', '-binary', '-aes128', '-outform', 'DER', '-in', await writeTemp(pki.dir, 'nh', Buffer.from('just text, no header block')), pki.ferry.certFile]);
    const mdn = await post({ ...SIGNED_MDN, 'Content-Type': 'application/pkcs7-mime; smime-type=enveloped-data' }, noHeaders);
    expect(await negative(mdn)).toBe('processed/error: unexpected-processing-error');
    expect(await negative(await post({ ...SIGNED_MDN, 'Content-Type': 'application/pkcs7-mime; smime-type=enveloped-data' }, randomBytes(5000)))).toBe('processed/error: decryption-failed');
    await stillServing();
  });

  it('a wrong signature, an altered message, an unsigned or unencrypted one where both are required', async () => {
    h = await startAs2d({ pki });
    const byMallory = await partnerMessage(pki.dir, Buffer.from('forged'), { signer: pki.mallory, cipher: '-aes128', recipient: pki.ferry });
    expect(await negative(await curlPost(h.base, byMallory.headers, byMallory.bodyFile).done)).toBe('processed/error: authentication-failed');

    const signedOnly = await partnerMessage(pki.dir, Buffer.from('tampered text'), { signer: pki.alice, recipient: pki.ferry });
    const altered = Buffer.from((await readFile(signedOnly.bodyFile, 'latin1')).replace('tampered text', 'tampered TEXT'), 'latin1');
    expect(await negative(await post({ ...SIGNED_MDN, 'Content-Type': signedOnly.headers['Content-Type']! }, altered))).toBe('processed/error: insufficient-message-security');

    const unsigned = await partnerMessage(pki.dir, Buffer.from('no signature'), { cipher: '-aes128', recipient: pki.ferry });
    expect(await negative(await curlPost(h.base, unsigned.headers, unsigned.bodyFile).done)).toBe('processed/error: insufficient-message-security');
    await stillServing();
  });

  it('an altered signed message when only signing is required', async () => {
    h = await startAs2d({ pki, partner: { requireEncryption: false } });
    const signedOnly = await partnerMessage(pki.dir, Buffer.from('tampered text'), { signer: pki.alice, recipient: pki.ferry });
    const altered = Buffer.from((await readFile(signedOnly.bodyFile, 'latin1')).replace('tampered text', 'tampered TEXT'), 'latin1');
    expect(await negative(await post({ ...SIGNED_MDN, 'Content-Type': signedOnly.headers['Content-Type']! }, altered))).toBe('processed/error: integrity-check-failed');
    expect(await filesIn(h.inbox)).toEqual([]);
  });

  it('an unknown partner: negative MDN when a synchronous one is asked for, 403 otherwise', async () => {
    h = await startAs2d({ pki });
    const msg = await partnerMessage(pki.dir, Buffer.from('who am I'), { signer: pki.mallory, cipher: '-aes128', recipient: pki.ferry, from: 'MALLORY' });
    const answer = await curlPost(h.base, msg.headers, msg.bodyFile).done;
    const mdn = await readMdn(pki.dir, answer.headers, answer.body, pki.ferry);
    expect(mdn.disposition).toBe('automatic-action/MDN-sent-automatically; processed/error: authentication-failed');
    expect(mdn.text).toContain('"MALLORY" is not a configured trading partner');
    const { 'Disposition-Notification-To': _to, 'Disposition-Notification-Options': _o, ...noMdn } = msg.headers;
    const refused = await curlPost(h.base, noMdn, msg.bodyFile).done;
    expect(refused.status).toBe(403);
    const wrongTo = await curlPost(h.base, { ...noMdn, 'AS2-To': 'SOMEONE-ELSE' }, msg.bodyFile).done;
    expect(wrongTo.status).toBe(403);
    await stillServing();
  });

  it('missing AS2 headers: 400; without an MDN request a failure is a 4xx status', async () => {
    h = await startAs2d({ pki });
    expect((await curlPost(h.base, { 'Content-Type': 'text/plain' }, await writeTemp(pki.dir, 'plain', Buffer.from('x'))).done).status).toBe(400);
    const garbage = await post({ ...AS2, 'Disposition-Notification-To': '', 'Content-Type': 'application/pkcs7-mime; smime-type=enveloped-data' }, randomBytes(100));
    expect(garbage.status).toBe(400);
    expect(garbage.body.toString()).toContain('could not be processed');
    expect((await curlPost(`${h.base}/as2`, {}, await writeTemp(pki.dir, 'empty', Buffer.alloc(0)), ['-X', 'GET']).done).status).toBe(405);
    await stillServing();
  });

  it('a truncated message: cut envelope (negative MDN), and a connection closed mid-body (nothing stored)', async () => {
    h = await startAs2d({ pki });
    const msg = await partnerMessage(pki.dir, randomBytes(200_000), { signer: pki.alice, cipher: '-aes256', recipient: pki.ferry, filename: 'cut.bin' });
    const whole = await readFile(msg.bodyFile);
    const cut = await post({ ...SIGNED_MDN, 'Content-Type': msg.headers['Content-Type']! }, whole.subarray(0, 120_000));
    expect(await negative(cut)).toBe('processed/error: decryption-failed');

    // Announce the whole length, send half, hang up.
    const head = [`POST /as2 HTTP/1.1`, `Host: 127.0.0.1`, `Content-Length: ${whole.length}`, ...Object.entries(msg.headers).map(([n, v]) => `${n}: ${v}`), '', ''].join('\r\n');
    await new Promise<void>((resolve) => {
      const socket = connect(h!.port, '127.0.0.1', () => {
        socket.write(head);
        socket.write(whole.subarray(0, 100_000), () => setTimeout(() => socket.destroy(), 100));
      });
      socket.on('close', () => resolve());
      socket.on('error', () => undefined);
    });
    await eventually(async () => (await h!.store.history.list({ component: 'as2d' })).some((r) => r.outcome === 'interrupted'));
    expect(await filesIn(h.inbox)).toEqual([]);
    await stillServing();
  });

  it('an oversized message: 413 whether the length is announced or not, nothing stored', async () => {
    h = await startAs2d({ pki, section: { maxMessageSize: '64KiB' } });
    const msg = await partnerMessage(pki.dir, randomBytes(100_000), { signer: pki.alice, cipher: '-aes128', recipient: pki.ferry, filename: 'huge.bin' });
    expect((await curlPost(h.base, msg.headers, msg.bodyFile).done).status).toBe(413);
    const chunked = await curlPost(h.base, { ...msg.headers, 'Transfer-Encoding': 'chunked' }, msg.bodyFile).done;
    expect(chunked.status).toBe(413);
    expect(chunked.headers.connection).toBe('close');
    await eventually(async () => (await h!.store.history.list({ component: 'as2d' })).some((r) => r.outcome === 'failed'));
    expect(await filesIn(h.inbox)).toEqual([]);
    await stillServing();
  });
});
