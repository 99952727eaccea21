import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { isAlive, sleep, startNode, until, type RunningNode } from './harness.js';

const AUTH = `Basic ${Buffer.from('alice:correct horse').toString('base64')}`;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

interface Upload {
  done: Promise<{ code: number | null; endedAt: number; stderr: string }>;
}

/** `curl --limit-rate`: a real client whose upload outlives the start of the drain. */
function slowUpload(url: string, file: string, rate: string): Upload {
  const child = spawn('curl', ['-sS', '--fail', '-u', 'alice:correct horse', '--limit-rate', rate, '-T', file, url]);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return { done: new Promise((done) => child.on('close', (code) => done({ code, endedAt: Date.now(), stderr }))) };
}

async function call(method: string, url: string, headers: Record<string, string> = {}, body?: string) {
  const res = await request(url, { method: method as 'GET', headers: { authorization: AUTH, ...headers }, body });
  await res.body.text();
  return res;
}

describe('httpd graceful stop with real processes', () => {
  let node: RunningNode;
  let base: string;
  let home: string;

  beforeAll(async () => {
    node = await startNode();
    home = join(node.dir, 'alice');
    const created = await node.api('POST', '/api/v1/accounts', { name: 'alice', password: 'correct horse', home });
    expect(created.status).toBe(201);
    base = await node.httpdUrl();
    // Content for the refused-operation checks below.
    expect((await call('PUT', `${base}/files/existing.txt`, {}, 'hello')).statusCode).toBe(201);
    expect((await call('MKCOL', `${base}/files/somedir`)).statusCode).toBeLessThan(300);
  });

  afterAll(async () => {
    await node?.stop();
  });

  it('stop_httpd -g -timeout 60: refuses new work, finishes the running upload, exits right after it', async () => {
    const payload = randomBytes(3 * 1024 * 1024);
    const source = join(node.dir, 'big.bin');
    await writeFile(source, payload);
    const pid = await node.componentPid('httpd');
    expect(pid).toBeGreaterThan(0);

    const upload = slowUpload(`${base}/files/big.bin`, source, '1000K');
    await until(async () => (await node.api<unknown[]>('GET', '/api/v1/transfers')).body.length === 1, 5000, 'the upload to be active');

    const stop = node.cli(['-g', '-timeout', '60'], { command: 'stop_httpd' });
    await until(async () => (await node.api<{ state: string }>('GET', '/api/v1/components/httpd')).body.state === 'draining', 5000, 'draining');

    const refused = [
      await call('PUT', `${base}/files/new.txt`, {}, 'x'),
      await call('GET', `${base}/files/existing.txt`),
      await call('GET', `${base}/files/`),
      await call('DELETE', `${base}/files/existing.txt`),
      await call('MOVE', `${base}/files/existing.txt`, { destination: '/files/moved.txt' }),
      await call('MKCOL', `${base}/files/newdir`),
      await call('DELETE', `${base}/files/somedir`),
    ];
    for (const res of refused) {
      expect(res.statusCode).toBe(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(existsSync(join(home, 'new.txt'))).toBe(false);
    expect(existsSync(join(home, 'existing.txt'))).toBe(true);
    expect(existsSync(join(home, 'newdir'))).toBe(false);
    expect(existsSync(join(home, 'somedir'))).toBe(true);

    // The drain log names the running transfer.
    const line = await node.waitForLog((l) => l.component === 'httpd' && l.event === 'drain.transfer', 5000);
    expect(line.msg).toContain('/big.bin');
    expect(line.msg).toContain('alice');

    const result = await upload.done;
    expect(result.code, result.stderr).toBe(0);
    expect(sha256(await readFile(join(home, 'big.bin')))).toBe(sha256(payload));

    await until(() => !isAlive(pid!), 5000, 'httpd to exit');
    const exitedAfterMs = Date.now() - result.endedAt;
    expect(exitedAfterMs).toBeLessThan(1000);

    const cli = await stop;
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect((await node.api<{ state: string }>('GET', '/api/v1/components/httpd')).body.state).toBe('stopped');
    // Asked to stop: the monitor leaves it stopped.
    await sleep(1500);
    expect((await node.api<{ state: string; pid: number | null }>('GET', '/api/v1/components/httpd')).body).toMatchObject({ state: 'stopped', pid: null });
  });

  it('stop_httpd -g -timeout 2 cuts an upload that cannot finish: nothing under the final name, history says interrupted', async () => {
    const started = await node.cli([], { command: 'start_httpd' });
    expect(started.code, started.stderr).toBe(0);
    base = await node.httpdUrl();
    const payload = randomBytes(8 * 1024 * 1024);
    const source = join(node.dir, 'huge.bin');
    await writeFile(source, payload);

    const upload = slowUpload(`${base}/files/huge.bin`, source, '500K');
    await until(async () => (await node.api<unknown[]>('GET', '/api/v1/transfers')).body.length === 1, 5000, 'the upload to be active');
    const t0 = Date.now();
    const cli = await node.cli(['-g', '-timeout', '2'], { command: 'stop_httpd' });
    const stoppedAfter = Date.now() - t0;
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect(stoppedAfter).toBeGreaterThan(1500);
    expect(stoppedAfter).toBeLessThan(6000);

    const result = await upload.done;
    expect(result.code).not.toBe(0);
    expect(existsSync(join(home, 'huge.bin'))).toBe(false);
    // The cut upload stays as a resumable partial, hidden from clients.
    expect((await readdir(home)).some((name) => name.includes('huge.bin') && name.endsWith('.ferry-partial'))).toBe(true);

    const history = await node.api<{ path: string; outcome: string }[]>('GET', '/api/v1/history?limit=10');
    expect(history.body.find((h) => h.path === '/huge.bin')?.outcome).toBe('interrupted');
  });
});
