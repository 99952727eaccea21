import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { randomFile, sftpBatch, sha256, startSshd } from './helpers.js';

it('smoke', async () => {
  const h = await startSshd();
  try {
    const f = await randomFile(h.dir, 'one.bin', 1024 * 1024);
    const r = await sftpBatch(h, ['put one.bin', 'ls -l', 'get one.bin back.bin']);
    console.log(r);
    expect(r.code).toBe(0);
    expect(sha256(await readFile(join(h.home, 'one.bin')))).toBe(sha256(f.data));
    expect(sha256(await readFile(join(h.dir, 'back.bin')))).toBe(sha256(f.data));
  } finally {
    await h.close();
  }
});
