// Test support shared by the daemons' in-process suites: content checks, files, and waiting for
// the core's events. Tests only.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComponentRuntime, LifecycleState } from '@ferry/core';

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

export async function randomFile(dir: string, name: string, size: number): Promise<{ path: string; data: Buffer }> {
  const data = randomBytes(size);
  const path = join(dir, name);
  await writeFile(path, data);
  return { path, data };
}

/** Resolves when the runtime enters `state` (at once if it is there). */
export function stateReached(runtime: ComponentRuntime, state: LifecycleState): Promise<void> {
  if (runtime.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const on = (s: LifecycleState): void => {
      if (s !== state) return;
      runtime.off('state', on);
      resolve();
    };
    runtime.on('state', on);
  });
}

/** Polls until `check` is true (for effects that have no event, e.g. a history row written async). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
