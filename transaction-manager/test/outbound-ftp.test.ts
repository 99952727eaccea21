import { isFerryError } from '@ferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type OutboundClient } from '../src/outbound/index.js';
import { abortMidPush, localDir, pushPullIdentical, pushTwiceOneFile } from './support/round-trip.js';
import { PASSWORD, SIZES, site, startFtpPeer, USER, type FtpPeer } from './support/servers.js';

let peer: FtpPeer;
let local: Awaited<ReturnType<typeof localDir>>;

beforeAll(async () => {
  [peer, local] = await Promise.all([startFtpPeer(), localDir()]);
});

afterAll(async () => {
  await peer?.close();
  await local?.cleanup();
});

type Mode = 'ftp' | 'ftps' | 'ftps-implicit';

function ftpSite(protocol: Mode, extra: Record<string, unknown> = {}) {
  return site({
    protocol,
    host: '127.0.0.1',
    port: protocol === 'ftps-implicit' ? peer.implicitPort : peer.port,
    user: USER,
    password: PASSWORD,
    ...(protocol === 'ftp' ? {} : { tls: { ca: peer.cert } }),
    ...extra,
  });
}

async function withClient<T>(protocol: Mode, work: (client: OutboundClient) => Promise<T>): Promise<T> {
  const client = await connect(ftpSite(protocol), 'peer', { signal: new AbortController().signal });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

describe.each(['ftp', 'ftps', 'ftps-implicit'] as const)('%s client against Ferry ftpd', (protocol) => {
  it('pushes and pulls 0 B, 1 MiB and 20 MiB byte-identical', async () => {
    await withClient(protocol, async (client) => {
      for (const size of SIZES) {
        const { pushMs, pullMs } = await pushPullIdentical(client, local.dir, peer.home, `${protocol}-${size}.bin`, size);
        if (size === SIZES[2]) console.log(`${protocol} 20 MiB: push ${(20 / (pushMs / 1000)).toFixed(0)} MiB/s, pull ${(20 / (pullMs / 1000)).toFixed(0)} MiB/s`);
      }
    });
  });

  it('pushing the same file twice leaves one file with the right content; list and remove', async () => {
    await withClient(protocol, (client) => pushTwiceOneFile(client, local.dir, peer.home));
  });

  it('an abort mid-push cuts it promptly and leaves nothing under the final name', async () => {
    const client = await connect(ftpSite(protocol), 'peer', { signal: new AbortController().signal });
    await abortMidPush(client, local.dir, peer.home);
    await client.close();
  });

  it('a wrong password is a clear authentication error without the password', async () => {
    const err = await connect(ftpSite(protocol, { password: 'wrong-secret-123' }), 'peer', { signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(isFerryError(err, 'FERRY_ERR_AUTH_FAILED'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`site "peer" \\(${protocol}://127\\.0\\.0\\.1:\\d+\\): connect as alice: login refused`));
    expect(JSON.stringify(err) + (err as Error).message).not.toContain('wrong-secret-123');
  });
});

describe('ftps certificate checks', () => {
  it('refuses a certificate it cannot verify, and accepts it with rejectUnauthorized: false', async () => {
    const err = await connect(ftpSite('ftps', { tls: {} }), 'peer', { signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(isFerryError(err, 'FERRY_ERR_REMOTE'), String(err)).toBe(true);
    expect((err as Error).message).toContain('site "peer" (ftps://127.0.0.1:');
    const client = await connect(ftpSite('ftps', { tls: { rejectUnauthorized: false } }), 'peer', { signal: new AbortController().signal });
    await client.close();
  });
});
