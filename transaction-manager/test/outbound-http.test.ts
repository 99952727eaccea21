import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isFerryError } from '@ferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type OutboundClient } from '../src/outbound/index.js';
import { abortMidPush, localDir, pushPullIdentical, pushTwiceOneFile } from './support/round-trip.js';
import { moveOptions, PASSWORD, randomFile, SIZES, site, startHttpPeer, USER, type HttpPeer } from './support/servers.js';

let plain: HttpPeer;
let secure: HttpPeer;
let local: Awaited<ReturnType<typeof localDir>>;

beforeAll(async () => {
  [plain, secure, local] = await Promise.all([startHttpPeer(), startHttpPeer({ tls: true }), localDir()]);
});

afterAll(async () => {
  await plain?.close();
  await secure?.close();
  await local?.cleanup();
});

type Variant = 'http' | 'https' | 'http-move';

function httpSite(variant: Variant, extra: Record<string, unknown> = {}) {
  const peer = variant === 'https' ? secure : plain;
  return site({
    protocol: variant === 'https' ? 'https' : 'http',
    url: `${peer.base}/files/`,
    user: USER,
    password: PASSWORD,
    ...(variant === 'https' ? { tls: { ca: peer.cert } } : {}),
    ...(variant === 'http-move' ? { upload: 'move' } : {}),
    ...extra,
  });
}

function homeOf(variant: Variant): string {
  return variant === 'https' ? secure.home : plain.home;
}

async function withClient<T>(variant: Variant, work: (client: OutboundClient) => Promise<T>): Promise<T> {
  const client = await connect(httpSite(variant), 'peer', { signal: new AbortController().signal });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

describe.each(['http', 'https', 'http-move'] as const)('%s client against Ferry httpd', (variant) => {
  it('pushes and pulls 0 B, 1 MiB and 20 MiB byte-identical', async () => {
    await withClient(variant, async (client) => {
      for (const size of SIZES) {
        const { pushMs, pullMs } = await pushPullIdentical(client, local.dir, homeOf(variant), `${variant}-${size}.bin`, size);
        if (size === SIZES[2]) console.log(`${variant} 20 MiB: push ${(20 / (pushMs / 1000)).toFixed(0)} MiB/s, pull ${(20 / (pullMs / 1000)).toFixed(0)} MiB/s`);
      }
    });
  });

  it('pushing the same file twice leaves one file with the right content; list and remove', async () => {
    await withClient(variant, (client) => pushTwiceOneFile(client, local.dir, homeOf(variant)));
  });

  it('an abort mid-push cuts it promptly and leaves nothing under the final name', async () => {
    const client = await connect(httpSite(variant), 'peer', { signal: new AbortController().signal });
    await abortMidPush(client, local.dir, homeOf(variant));
    await client.close();
  });

  it('a wrong password is a clear authentication error without the password', async () => {
    const client = await connect(httpSite(variant, { password: 'wrong-secret-123' }), 'peer', { signal: new AbortController().signal });
    const { path } = await randomFile(local.dir, 'denied.src', 3 << 20);
    const err = await client.push(path, 'denied.bin', moveOptions()).catch((e: unknown) => e);
    await client.close();
    expect(isFerryError(err, 'FERRY_ERR_AUTH_FAILED'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/site "peer" \(https?:\/\/127\.0\.0\.1:\d+\/files\/\): push .* HTTP 401/);
    expect(JSON.stringify(err) + (err as Error).message).not.toContain('wrong-secret-123');
  });
});

describe('http: what only some servers do', () => {
  let bare: Server;
  let bareUrl: string;

  beforeAll(async () => {
    // A plain web server: files, but no JSON listings.
    bare = createServer((req, res) => {
      if (req.url?.endsWith('/')) res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>index</body></html>');
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await new Promise((resolve) => bare.close(resolve));
  });

  it('a listing from a server that does not speak Ferry listings is a clear error', async () => {
    const client = await connect(site({ protocol: 'http', url: bareUrl }), 'plain', { signal: new AbortController().signal });
    const err = await client.list('/').catch((e: unknown) => e);
    await client.close();
    expect(isFerryError(err, 'FERRY_ERR_REMOTE'), String(err)).toBe(true);
    expect((err as Error).message).toContain('listing is not supported on this site');
  });

  it('a missing file is FERRY_ERR_NOT_FOUND', async () => {
    await withClient('http', async (client) => {
      const err = await client.pull('nope.bin', join(local.dir, 'nope'), moveOptions()).catch((e: unknown) => e);
      expect(isFerryError(err, 'FERRY_ERR_NOT_FOUND'), String(err)).toBe(true);
    });
  });

  it('https refuses a certificate it cannot verify', async () => {
    const client = await connect(httpSite('https', { tls: {} }), 'peer', { signal: new AbortController().signal });
    const err = await client.list('/').catch((e: unknown) => e);
    await client.close();
    expect(isFerryError(err, 'FERRY_ERR_REMOTE'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/self-signed|certificate/i);
  });
});
