import { join } from 'node:path';
import { isFerryError } from '@ferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, hostKeyFingerprint, siteSchema, type OutboundClient } from '../src/outbound/index.js';
import { abortMidPush, localDir, pushPullIdentical, pushTwiceOneFile } from './support/round-trip.js';
import { PASSWORD, SIZES, site, startSshPeer, USER, type SshPeer } from './support/servers.js';

let peer: SshPeer;
let local: Awaited<ReturnType<typeof localDir>>;

beforeAll(async () => {
  [peer, local] = await Promise.all([startSshPeer(), localDir()]);
});

afterAll(async () => {
  await peer?.close();
  await local?.cleanup();
});

function sftpSite(extra: Record<string, unknown> = {}) {
  return site({ protocol: 'sftp', host: '127.0.0.1', port: peer.port, user: USER, password: PASSWORD, hostKey: 'any', ...extra });
}

async function withClient<T>(extra: Record<string, unknown>, work: (client: OutboundClient) => Promise<T>): Promise<T> {
  const client = await connect(sftpSite(extra), 'peer', { signal: new AbortController().signal });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

describe('sftp client against Ferry sshd', () => {
  it('pushes and pulls 0 B, 1 MiB and 20 MiB byte-identical, checking the host key', async () => {
    // The host key the client sees is one of the peer's, as ssh-keygen prints it.
    let seen: string | undefined;
    for (const fingerprint of peer.fingerprints) {
      const ok = await connect(sftpSite({ hostKey: fingerprint }), 'peer', { signal: new AbortController().signal }).then(
        async (c) => (await c.close(), true),
        () => false,
      );
      if (ok) seen = fingerprint;
    }
    expect(seen).toBeDefined();
    await withClient({ hostKey: seen }, async (client) => {
      for (const size of SIZES) {
        const { pushMs, pullMs } = await pushPullIdentical(client, local.dir, peer.home, `f${size}.bin`, size);
        if (size === SIZES[2]) console.log(`sftp 20 MiB: push ${(20 / (pushMs / 1000)).toFixed(0)} MiB/s, pull ${(20 / (pullMs / 1000)).toFixed(0)} MiB/s`);
      }
    });
  });

  it('authenticates with a private key', async () => {
    await withClient({ password: undefined, privateKey: peer.keyFile }, async (client) => {
      expect(Array.isArray(await client.list('/'))).toBe(true);
    });
  });

  it('pushing the same file twice leaves one file with the right content; list and remove', async () => {
    await withClient({}, (client) => pushTwiceOneFile(client, local.dir, peer.home));
  });

  it('an abort mid-push cuts it promptly and leaves nothing under the final name', async () => {
    const client = await connect(sftpSite(), 'peer', { signal: new AbortController().signal });
    await abortMidPush(client, local.dir, peer.home);
    await client.close();
  });

  it('refuses an unknown host key, naming both fingerprints', async () => {
    const wrong = hostKeyFingerprint(Buffer.from('not the key'));
    const err = await connect(sftpSite({ hostKey: wrong }), 'peer', { signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(isFerryError(err, 'FERRY_ERR_AUTH_FAILED')).toBe(true);
    expect((err as Error).message).toContain('site "peer"');
    expect((err as Error).message).toContain(wrong);
    expect((err as Error).message).toMatch(/host key SHA256:\S+ is not the configured hostKey/);
  });

  it('a site without hostKey is refused by the schema (unknown host keys are refused by default)', () => {
    const result = siteSchema.safeParse({ protocol: 'sftp', host: '127.0.0.1', user: USER, password: PASSWORD });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['hostKey']);
  });

  it('a wrong password is a clear authentication error without the password', async () => {
    const err = await connect(sftpSite({ password: 'wrong-secret-123' }), 'peer', { signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(isFerryError(err, 'FERRY_ERR_AUTH_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/site "peer" \(sftp:\/\/127\.0\.0\.1:\d+\): connect as alice: authentication refused/);
    expect(JSON.stringify(err) + (err as Error).message).not.toContain('wrong-secret-123');
  });

  it('a missing remote file is FERRY_ERR_NOT_FOUND; a refused connection is FERRY_ERR_REMOTE', async () => {
    await withClient({}, async (client) => {
      const err = await client.pull('nope.bin', join(local.dir, 'nope'), { signal: new AbortController().signal, onProgress: () => undefined }).catch((e: unknown) => e);
      expect(isFerryError(err, 'FERRY_ERR_NOT_FOUND'), String(err)).toBe(true);
    });
    const err = await connect(sftpSite({ port: 1 }), 'down', { signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(isFerryError(err, 'FERRY_ERR_REMOTE'), String(err)).toBe(true);
    expect((err as Error).message).toContain('site "down" (sftp://127.0.0.1:1)');
  });

  it('an aborted signal stops a connection attempt', async () => {
    const controller = new AbortController();
    const attempt = connect(sftpSite(), 'peer', { signal: controller.signal });
    controller.abort();
    const err = await attempt.catch((e: unknown) => e);
    expect(isFerryError(err, 'FERRY_ERR_TRANSFER_ABORTED'), String(err)).toBe(true);
  });
});
