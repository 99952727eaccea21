import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { curlPost, eventually, filesIn, makePki, startAs2d, stateReached, type As2Harness, type Pki } from './helpers.js';
import { micOf, partnerMessage, readMdn } from './partner.js';

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

describe('graceful stop', () => {
  it('finishes the message being received with its MDN, refuses a new one with 503, stops at once; the resend after restart is delivered once', async () => {
    h = await startAs2d({ pki });
    const harness = h;
    const large = randomBytes(6 * 2 ** 20);
    const big = await partnerMessage(pki.dir, large, { signer: pki.alice, cipher: '-aes256', recipient: pki.ferry, filename: 'large.bin' });
    const late = await partnerMessage(pki.dir, Buffer.from('late order'), { signer: pki.alice, cipher: '-aes128', recipient: pki.ferry, filename: 'late.edi' });

    const receiving = curlPost(h.base, big.headers, big.bodyFile, ['--limit-rate', '3M']);
    await eventually(() => harness.runtime.transfers.list().some((t) => t.path === '/large.bin' && t.bytes > 0));
    const stopping = h.runtime.gracefulStop(Date.now() + 60_000);
    expect(h.runtime.state).toBe('draining');

    const refused = await curlPost(h.base, late.headers, late.bodyFile).done;
    expect(refused.status).toBe(503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.body.toString()).toContain('shutting down');
    expect(h.runtime.state).toBe('draining');

    const answer = await receiving.done;
    const doneAt = Date.now();
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    const mdn = await readMdn(pki.dir, answer.headers, answer.body, pki.ferry);
    expect(mdn.disposition).toMatch(/; processed$/);
    expect(mdn.mic).toBe(micOf(big.micInput));
    await stopping;
    expect(h.runtime.state).toBe('stopped');
    // Drained the moment the last transfer ended, not at the deadline.
    expect(Date.now() - doneAt).toBeLessThan(3000);
    expect((await readFile(join(h.inbox, 'large.bin'))).equals(large)).toBe(true);

    await h.restart();
    for (let i = 0; i < 2; i++) {
      const resent = await curlPost(h.base, late.headers, late.bodyFile).done;
      expect((await readMdn(pki.dir, resent.headers, resent.body, pki.ferry)).disposition).toMatch(/; processed$/);
    }
    expect(await filesIn(h.inbox)).toEqual(['large.bin', 'late.edi']);
    const history = await h.store.history.list({ component: 'as2d' });
    expect(history.filter((r) => r.path === '/late.edi')).toHaveLength(1);
  });

  it('cuts a message still running at the deadline: no MDN, nothing stored, recorded interrupted; the resend is delivered', async () => {
    h = await startAs2d({ pki });
    const harness = h;
    const msg = await partnerMessage(pki.dir, randomBytes(4 * 2 ** 20), { signer: pki.alice, cipher: '-aes128', recipient: pki.ferry, filename: 'slow.bin' });
    const receiving = curlPost(h.base, msg.headers, msg.bodyFile, ['--limit-rate', '500K']);
    await eventually(() => harness.runtime.transfers.list().some((t) => t.bytes > 0));
    await h.runtime.gracefulStop(Date.now() + 500);
    const answer = await receiving.done;
    expect(answer.status).toBe(0);
    expect(await filesIn(h.inbox)).toEqual([]);
    await eventually(async () => (await harness.store.history.list({ component: 'as2d' }))[0]?.outcome === 'interrupted');

    await h.restart();
    const resent = await curlPost(h.base, msg.headers, msg.bodyFile).done;
    expect((await readMdn(pki.dir, resent.headers, resent.body, pki.ferry)).mic).toBe(micOf(msg.micInput));
    expect(await filesIn(h.inbox)).toEqual(['slow.bin']);
  });

  it('holds the drain until the asynchronous MDN of a message received is delivered', async () => {
    const received: Buffer[] = [];
    const slow = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => setTimeout(() => (received.push(Buffer.concat(chunks)), res.end()), 800));
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    try {
      h = await startAs2d({ pki });
      const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/mdn`;
      const msg = await partnerMessage(pki.dir, Buffer.from('async'), { signer: pki.alice, cipher: '-aes128', recipient: pki.ferry, mdn: 'async', asyncUrl: url });
      expect((await curlPost(h.base, msg.headers, msg.bodyFile).done).status).toBe(200);
      expect(h.runtime.transfers.size).toBe(1);
      const stopped = stateReached(h.runtime, 'stopped');
      void h.runtime.gracefulStop(Date.now() + 30_000);
      await stopped;
      expect(received).toHaveLength(1);
      expect(await h.store.as2.pendingMdns()).toEqual([]);
    } finally {
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  });

  it('suspends and resumes: refused while suspended, accepted after', async () => {
    h = await startAs2d({ pki });
    const msg = await partnerMessage(pki.dir, Buffer.from('x'), { signer: pki.alice, cipher: '-aes128', recipient: pki.ferry, filename: 'x.edi' });
    await h.runtime.suspend();
    expect(h.runtime.state).toBe('drained');
    expect((await curlPost(h.base, msg.headers, msg.bodyFile).done).status).toBe(503);
    h.runtime.resume();
    expect((await curlPost(h.base, msg.headers, msg.bodyFile).done).status).toBe(200);
    expect(await filesIn(h.inbox)).toEqual(['x.edi']);
  });
});
