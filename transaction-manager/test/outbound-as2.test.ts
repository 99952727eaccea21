import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { newMessageId } from '@ferry/as2d';
import { isFerryError } from '@ferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, siteSchema } from '../src/outbound/index.js';
import { localDir } from './support/round-trip.js';
import { moveOptions, randomFile, sha256, site, startAs2Peer, type As2Peer } from './support/servers.js';

let peer: As2Peer;
let local: Awaited<ReturnType<typeof localDir>>;

beforeAll(async () => {
  [peer, local] = await Promise.all([startAs2Peer(), localDir()]);
});

afterAll(async () => {
  await peer?.close();
  await local?.cleanup();
});

function as2Site(extra: Record<string, unknown> = {}) {
  return site({
    protocol: 'as2',
    url: peer.url,
    partner: peer.ferry.id,
    as2From: peer.alice.id,
    certificate: peer.alice.certFile,
    privateKey: peer.alice.keyFile,
    partnerCertificate: peer.ferry.certFile,
    ...extra,
  });
}

describe('as2 client against Ferry as2d', () => {
  it('defaults: signed sha-256, encrypted aes256-cbc, signed synchronous MDN', () => {
    expect(as2Site()).toMatchObject({ sign: 'sha-256', encrypt: 'aes256-cbc', mdn: 'sync', mdnSigned: true, compress: false, port: expect.any(Number) });
  });

  it('pushes 0 B, 1 MiB and 20 MiB signed, encrypted and compressed; the payload arrives byte-identical', async () => {
    const client = await connect(as2Site({ compress: 'before-signing' }), 'partner', { signal: new AbortController().signal });
    for (const size of [0, 1 << 20, 20 << 20]) {
      const { path, data } = await randomFile(local.dir, `as2-${size}.src`, size);
      const start = performance.now();
      expect(await client.push(path, `out/po-${size}.bin`, moveOptions())).toEqual({ bytes: size });
      if (size === 20 << 20) console.log(`as2 20 MiB (signed, encrypted, compressed, sync MDN): ${(20 / ((performance.now() - start) / 1000)).toFixed(0)} MiB/s`);
      expect(sha256(await readFile(join(peer.home, `po-${size}.bin`)))).toBe(sha256(data));
    }
    await client.close();
  });

  it('a re-run with the same Message-ID is delivered once', async () => {
    const client = await connect(as2Site(), 'partner', { signal: new AbortController().signal });
    const { path } = await randomFile(local.dir, 'once.src', 10_000);
    const messageId = newMessageId();
    await client.push(path, 'once.bin', moveOptions({ messageId }));
    const first = await stat(join(peer.home, 'once.bin'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The second attempt gets the partner's MDN again (positive), and nothing is delivered twice.
    await client.push(path, 'once.bin', moveOptions({ messageId }));
    expect((await readdir(peer.home)).filter((name) => name.startsWith('once'))).toEqual(['once.bin']);
    expect((await stat(join(peer.home, 'once.bin'))).mtimeMs).toBe(first.mtimeMs);
    expect(await peer.store.as2.get('in', peer.alice.id, messageId)).toMatchObject({ status: 'delivered' });
    await client.close();
  });

  it('a negative MDN fails the push: encrypted for the wrong certificate', async () => {
    const client = await connect(as2Site({ partnerCertificate: peer.mallory.certFile, mdnSigned: false }), 'partner', { signal: new AbortController().signal });
    const { path } = await randomFile(local.dir, 'secret.src', 1000);
    const err = await client.push(path, 'secret.bin', moveOptions()).catch((e: unknown) => e);
    expect(isFerryError(err, 'FERRY_ERR_REMOTE'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/site "partner" \(http:\/\/127\.0\.0\.1:\d+\/as2\): send .* negative MDN: .*decryption-failed/);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({ permanent: true });
    expect((await readdir(peer.home)).filter((name) => name.startsWith('secret'))).toEqual([]);
  });

  it('pull, list and remove are refused with a clear message', async () => {
    const client = await connect(as2Site(), 'partner', { signal: new AbortController().signal });
    for (const attempt of [client.pull('a', join(local.dir, 'a'), moveOptions()), client.list('/'), client.remove('a')]) {
      const err = await (attempt as Promise<unknown>).catch((e: unknown) => e);
      expect(isFerryError(err)).toBe(true);
      expect((err as Error).message).toContain('not supported over AS2');
    }
  });

  it('the schema refuses what cannot work, naming the key', () => {
    const bad = siteSchema.safeParse({ protocol: 'as2', url: peer.url, partner: 'FERRY', as2From: 'ALICE', encrypt: 'aes128-cbc', hostKey: 'any' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['encrypt', 'hostKey']);
  });
});
