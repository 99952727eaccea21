// The checks every file-moving protocol passes: byte-identical push and pull, atomic and idempotent
// pushes, abort. Tests only.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { isFerryError } from '@ferry/core';
import type { OutboundClient } from '../../src/outbound/index.js';
import { moveOptions, randomFile, sha256 } from './servers.js';

export async function localDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-tm-local-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Pushes `size` random bytes to `<home>/in/<name>`, checks what the peer stored, pulls it back and checks that. */
export async function pushPullIdentical(client: OutboundClient, local: string, home: string, name: string, size: number): Promise<{ pushMs: number; pullMs: number }> {
  const { path, data } = await randomFile(local, `${name}.src`, size);
  const push = moveOptions();
  let start = performance.now();
  expect(await client.push(path, `in/${name}`, push)).toEqual({ bytes: size });
  const pushMs = performance.now() - start;
  expect(sha256(await readFile(join(home, 'in', name)))).toBe(sha256(data));
  expect(push.progress.at(-1)).toBe(size);
  const pull = moveOptions();
  const back = join(local, `${name}.back`);
  start = performance.now();
  expect(await client.pull(`in/${name}`, back, pull)).toEqual({ bytes: size });
  const pullMs = performance.now() - start;
  expect(sha256(await readFile(back))).toBe(sha256(data));
  return { pushMs, pullMs };
}

/** Two pushes to one name: one file, the second's content, no temporary left over; list and remove see it. */
export async function pushTwiceOneFile(client: OutboundClient, local: string, home: string): Promise<void> {
  const first = await randomFile(local, 'twice-1', 300_000);
  const second = await randomFile(local, 'twice-2', 200_000);
  await client.push(first.path, 'twice/same.bin', moveOptions());
  await client.push(second.path, 'twice/same.bin', moveOptions());
  await client.push(second.path, 'twice/same.bin', moveOptions());
  expect(await readdir(join(home, 'twice'))).toEqual(['same.bin']);
  expect(sha256(await readFile(join(home, 'twice', 'same.bin')))).toBe(sha256(second.data));
  const listed = await client.list('twice');
  expect(listed.map((e) => ({ name: e.name, type: e.type, size: e.size }))).toEqual([{ name: 'same.bin', type: 'file', size: 200_000 }]);
  expect(listed[0]?.mtime).toBeInstanceOf(Date);
  await client.remove('twice/same.bin');
  expect(await readdir(join(home, 'twice'))).toEqual([]);
}

/** Aborts a 20 MiB push once 1 MiB is out: prompt, a transfer-aborted error, nothing under the final name. */
export async function abortMidPush(client: OutboundClient, local: string, home: string): Promise<void> {
  const { path } = await randomFile(local, 'cut.src', 64 << 20);
  const controller = new AbortController();
  let abortedAt = 0;
  const opts = {
    signal: controller.signal,
    onProgress: (bytes: number) => {
      if (bytes >= 1 << 20 && !controller.signal.aborted) {
        abortedAt = performance.now();
        controller.abort();
      }
    },
  };
  const err = await client.push(path, 'cut/cut.bin', opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isFerryError(err, 'FERRY_ERR_TRANSFER_ABORTED'), String(err)).toBe(true);
  expect(performance.now() - abortedAt).toBeLessThan(1000);
  expect(existsSync(join(home, 'cut', 'cut.bin'))).toBe(false);
}
