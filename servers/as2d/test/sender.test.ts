import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore, type Store } from '@ferry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendMessage, type SendOptions } from '../src/index.js';
import { eventually, filesIn, makePki, startAs2d, writeTemp, type As2Harness, type Pki } from './helpers.js';

let pki: Pki;
let receiver: As2Harness | undefined;
let alice: As2Harness | undefined;
let senderStore: Store | undefined;

beforeAll(async () => {
  pki = await makePki();
});

afterAll(async () => {
  await rm(pki.dir, { recursive: true, force: true });
});

afterEach(async () => {
  await receiver?.close();
  await alice?.close();
  await senderStore?.close();
  receiver = alice = senderStore = undefined;
});

function fromAlice(to: As2Harness, extra: Partial<SendOptions> = {}): Omit<SendOptions, 'payload'> {
  return {
    from: { as2Id: 'ALICE', identity: pki.alice.identity },
    to: { as2Id: 'FERRY', url: `${to.base}/as2`, certificate: pki.ferry.certificate },
    ...extra,
  };
}

describe('Ferry sender → Ferry receiver', () => {
  it('sends signed, encrypted and compressed; the synchronous signed MDN is verified and its MIC matches', async () => {
    receiver = await startAs2d({ pki });
    senderStore = await openStore({ url: 'sqlite::memory:', dataDir: pki.dir });
    const payload = Buffer.concat([Buffer.alloc(400_000, 'ISA*00*          *00*~\r\n'), randomBytes(100_000)]);
    const result = await sendMessage({ ...fromAlice(receiver), payload, filename: 'po.x12', contentType: 'application/edi-x12', compress: 'before-signing', encrypt: 'aes128-gcm', store: senderStore.as2 });
    expect(result).toMatchObject({ status: 'processed', httpStatus: 200, bytes: payload.length });
    expect(result.mdn?.signed).toBe(true);
    expect(result.mdn?.report.mic).toEqual(result.mic);
    expect((await readFile(join(receiver.inbox, 'po.x12'))).equals(payload)).toBe(true);
    const stored = await receiver.store.as2.get('in', 'ALICE', result.messageId);
    expect(stored?.detail).toBe('signed sha-256, encrypted aes128-gcm/rsa-pkcs1, compressed');
    expect(await senderStore.as2.get('out', 'FERRY', result.messageId)).toMatchObject({ status: 'processed', path: 'po.x12', bytes: payload.length });
  });

  it('streams a file (chunked, Expect: 100-continue) with OAEP and compression after signing', async () => {
    receiver = await startAs2d({ pki });
    const file = await writeTemp(pki.dir, 'big.bin', randomBytes(6 * 2 ** 20));
    const result = await sendMessage({ ...fromAlice(receiver), payload: { file }, keyTransport: 'rsa-oaep-sha256', encrypt: 'aes256-cbc', compress: 'after-signing', sign: 'sha-512' });
    expect(result.status).toBe('processed');
    expect((await readFile(join(receiver.inbox, 'big.bin'))).equals(await readFile(file))).toBe(true);
  });

  it('reads a negative MDN as a failure: encrypted for the wrong certificate', async () => {
    receiver = await startAs2d({ pki });
    // An unsigned MDN: the wrong certificate could not verify a signed one either.
    const result = await sendMessage({
      ...fromAlice(receiver),
      to: { as2Id: 'FERRY', url: receiver.base, certificate: pki.mallory.certificate },
      payload: Buffer.from('secret'),
      mdn: { mode: 'sync', signed: false },
    });
    expect(result.status).toBe('failed');
    expect(result.detail).toContain('processed/error: decryption-failed');
    expect(result.retryable).toBe(false);
    expect(await filesIn(receiver.inbox)).toEqual([]);
  });

  it('receives an asynchronous MDN on its own as2d, which records the outcome', async () => {
    receiver = await startAs2d({ pki });
    alice = await startAs2d({ pki, as: 'ALICE' });
    const result = await sendMessage({ ...fromAlice(receiver), payload: Buffer.from('async please'), filename: 'a.txt', mdn: { mode: 'async', asyncUrl: `${alice.base}/mdn` }, store: alice.store.as2 });
    expect(result.status).toBe('awaiting-mdn');
    await eventually(async () => (await alice!.store.as2.get('out', 'FERRY', result.messageId))?.status === 'processed');
    expect((await alice.store.as2.get('out', 'FERRY', result.messageId))?.disposition).toBe('automatic-action/MDN-sent-automatically; processed');
  });

  it('is refused with 503 + Retry-After by a draining receiver, and delivered once when resent with the same Message-ID', async () => {
    receiver = await startAs2d({ pki });
    const busy = receiver.runtime.context.transfers.begin({ protocol: 'test', account: null, remoteAddress: null, path: '/hold', direction: 'upload' });
    void receiver.runtime.suspend();
    const refused = await sendMessage({ ...fromAlice(receiver), payload: Buffer.from('later'), filename: 'later.txt', messageId: '<resend-1@alice>' });
    expect(refused).toMatchObject({ status: 'failed', httpStatus: 503, retryable: true });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    busy.end('completed');
    receiver.runtime.resume();
    const again = await sendMessage({ ...fromAlice(receiver), payload: Buffer.from('later'), filename: 'later.txt', messageId: '<resend-1@alice>' });
    expect(again.status).toBe('processed');
    const third = await sendMessage({ ...fromAlice(receiver), payload: Buffer.from('later'), filename: 'later.txt', messageId: '<resend-1@alice>' });
    expect(third.status).toBe('processed');
    expect(await filesIn(receiver.inbox)).toEqual(['later.txt']);
  });
});
