import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startNode, until } from './harness.js';

const AUTH = `Basic ${Buffer.from('dave:dave-password').toString('base64')}`;

function slowUpload(url: string, file: string) {
  const child = spawn('curl', ['-sS', '--fail', '-u', 'dave:dave-password', '--limit-rate', '1000K', '-T', file, url]);
  return new Promise<number | null>((done) => child.on('close', done));
}

describe('node-level stop (SIGTERM to `ferry start`)', () => {
  it('a first SIGTERM drains every component: running uploads finish, new work is refused, the node exits 0', async () => {
    const node = await startNode();
    try {
      const home = join(node.dir, 'dave');
      expect((await node.api('POST', '/api/v1/accounts', { name: 'dave', password: 'dave-password', home })).status).toBe(201);
      const base = await node.httpdUrl();
      const payload = randomBytes(2 * 1024 * 1024);
      await writeFile(join(node.dir, 'p.bin'), payload);
      const upload = slowUpload(`${base}/files/p.bin`, join(node.dir, 'p.bin'));
      await until(async () => (await node.api<unknown[]>('GET', '/api/v1/transfers')).body.length === 1, 5000, 'upload active');

      node.process.kill('SIGTERM');
      await until(async () => (await request(`${node.adminUrl}/readyz`)).statusCode === 503, 5000, 'readyz 503');
      const refused = await request(`${base}/files/other.txt`, { method: 'PUT', headers: { authorization: AUTH }, body: 'x' });
      await refused.body.text();
      expect(refused.statusCode).toBe(503);
      // The admin API stays usable during the drain.
      expect((await node.api<{ state: string }>('GET', '/api/v1/components/httpd')).body.state).toBe('draining');

      expect(await upload).toBe(0);
      expect(await node.exited).toBe(0);
      expect((await readFile(join(home, 'p.bin'))).equals(payload)).toBe(true);
      expect(existsSync(join(node.dataDir, 'node.json'))).toBe(false);
    } finally {
      await node.stop();
    }
  });

  it('a second SIGTERM stops at once', async () => {
    const node = await startNode();
    try {
      const home = join(node.dir, 'dave');
      await node.api('POST', '/api/v1/accounts', { name: 'dave', password: 'dave-password', home });
      const base = await node.httpdUrl();
      await writeFile(join(node.dir, 'p.bin'), randomBytes(8 * 1024 * 1024));
      const upload = slowUpload(`${base}/files/p.bin`, join(node.dir, 'p.bin'));
      await until(async () => (await node.api<unknown[]>('GET', '/api/v1/transfers')).body.length === 1, 5000, 'upload active');
      node.process.kill('SIGTERM');
      await until(async () => (await request(`${node.adminUrl}/readyz`)).statusCode === 503, 5000, 'readyz 503');
      const t0 = Date.now();
      node.process.kill('SIGTERM');
      expect(await node.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(await upload).not.toBe(0);
      expect(existsSync(join(home, 'p.bin'))).toBe(false);
    } finally {
      await node.stop();
    }
  });
});
