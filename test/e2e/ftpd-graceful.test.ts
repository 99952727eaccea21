import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, sleep, startNode, until, yamlConfig, type RunningNode } from './harness.js';

const AUTH = 'alice:correct horse';
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

interface CurlRun {
  code: number | null;
  stderr: string;
  endedAt: number;
}

function curl(args: string[]): Promise<CurlRun> {
  const child = spawn('curl', ['-sS', '-v', '--fail', '-u', AUTH, ...args]);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.resume();
  return new Promise((done) => child.on('close', (code) => done({ code, stderr, endedAt: Date.now() })));
}

/** The replies curl saw, from its verbose log (`< 421 …`). */
function replies(run: CurlRun): string[] {
  return run.stderr
    .split('\n')
    .filter((line) => /^< \d{3} /.test(line))
    .map((line) => line.slice(2).trim());
}

/** The first line the server sends to a new connection. */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      if (text.includes('\r\n')) {
        socket.destroy();
        resolve(text.slice(0, text.indexOf('\r\n')));
      }
    });
    socket.on('error', reject);
  });
}

describe('ftpd graceful stop with real processes', () => {
  let node: RunningNode;
  let home: string;

  const ftpd = () => node.api<{ state: string; pid: number | null; listening: { name: string; port: number }[] }>('GET', '/api/v1/components/ftpd');

  async function ftpPort(): Promise<number> {
    let port = 0;
    await until(
      async () => {
        const { body } = await ftpd();
        port = body.listening.find((l) => l.name === 'ftp')?.port ?? 0;
        return body.state === 'running' && port > 0;
      },
      20_000,
      'ftpd to run',
    );
    return port;
  }

  beforeAll(async () => {
    node = await startNode({ config: (dataDir) => yamlConfig(dataDir, 'ftpd: {port: 0, host: 127.0.0.1, passivePorts: 33100-33199}') });
    home = join(node.dir, 'alice');
    const created = await node.api('POST', '/api/v1/accounts', { name: 'alice', password: 'correct horse', home });
    expect(created.status).toBe(201);
  });

  afterAll(async () => {
    await node?.stop();
  });

  it('stop_ftpd -g -timeout 60: refuses new work with 421, finishes the running upload, exits right after it', async () => {
    const port = await ftpPort();
    const url = (path: string): string => `ftp://127.0.0.1:${port}${path}`;
    await writeFile(join(node.dir, 'hello.txt'), 'hello');
    expect((await curl(['-T', join(node.dir, 'hello.txt'), url('/existing.txt')])).code).toBe(0);
    expect((await curl([url('/'), '-Q', 'MKD somedir'])).code).toBe(0);

    const payload = randomBytes(3 * 1024 * 1024);
    const source = join(node.dir, 'big.bin');
    await writeFile(source, payload);
    const pid = await node.componentPid('ftpd');
    expect(pid).toBeGreaterThan(0);

    const upload = curl(['--limit-rate', '1000K', '-T', source, url('/big.bin')]);
    await until(async () => (await node.api<unknown[]>('GET', '/api/v1/transfers')).body.length === 1, 5000, 'the upload to be active');

    const stop = node.cli(['-g', '-timeout', '60'], { command: 'stop_ftpd' });
    await until(async () => (await ftpd()).body.state === 'draining', 5000, 'draining');

    // A new connection is told why, before any greeting.
    expect(await greeting(port)).toBe('421 server is shutting down; try again later');
    // LIST, RETR, STOR, MKD, DELE from a second session: each gets 421.
    const refused = await Promise.all([
      curl([url('/')]),
      curl([url('/existing.txt')]),
      curl(['-T', join(node.dir, 'hello.txt'), url('/new.txt')]),
      curl([url('/'), '-Q', 'MKD newdir']),
      curl([url('/'), '-Q', 'DELE existing.txt']),
    ]);
    for (const run of refused) {
      expect(run.code).not.toBe(0);
      expect(replies(run)).toContain('421 server is shutting down; try again later');
    }
    expect(existsSync(join(home, 'new.txt'))).toBe(false);
    expect(existsSync(join(home, 'newdir'))).toBe(false);
    expect(existsSync(join(home, 'existing.txt'))).toBe(true);

    // The drain log names the running transfer.
    const line = await node.waitForLog((l) => l.component === 'ftpd' && l.event === 'drain.transfer', 5000);
    expect(line.msg).toContain('/big.bin');
    expect(line.msg).toContain('alice');

    const result = await upload;
    expect(result.code, result.stderr).toBe(0);
    expect(sha256(await readFile(join(home, 'big.bin')))).toBe(sha256(payload));

    await until(() => !isAlive(pid!), 5000, 'ftpd to exit');
    expect(Date.now() - result.endedAt).toBeLessThan(1000);

    const cli = await stop;
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect((await ftpd()).body.state).toBe('stopped');
    // Asked to stop: the monitor leaves it stopped.
    await sleep(1500);
    expect((await ftpd()).body).toMatchObject({ state: 'stopped', pid: null });
  });

  it('stop_ftpd -g -timeout 2 cuts an upload that cannot finish: nothing under the final name; after a restart the resume completes it', async () => {
    const started = await node.cli([], { command: 'start_ftpd' });
    expect(started.code, started.stderr).toBe(0);
    let port = await ftpPort();
    const payload = randomBytes(8 * 1024 * 1024);
    const source = join(node.dir, 'huge.bin');
    await writeFile(source, payload);

    const upload = curl(['--limit-rate', '500K', '-T', source, `ftp://127.0.0.1:${port}/huge.bin`]);
    await until(async () => (await node.api<unknown[]>('GET', '/api/v1/transfers')).body.length === 1, 5000, 'the upload to be active');
    const t0 = Date.now();
    const cli = await node.cli(['-g', '-timeout', '2'], { command: 'stop_ftpd' });
    const stoppedAfter = Date.now() - t0;
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect(stoppedAfter).toBeGreaterThan(1500);
    expect(stoppedAfter).toBeLessThan(6000);

    const result = await upload;
    expect(result.code).not.toBe(0);
    expect(existsSync(join(home, 'huge.bin'))).toBe(false);
    expect((await readdir(home)).some((name) => name.includes('huge.bin') && name.endsWith('.ferry-partial'))).toBe(true);
    const history = await node.api<{ path: string; outcome: string; reason: string }[]>('GET', '/api/v1/history?limit=10');
    expect(history.body.find((h) => h.path === '/huge.bin')).toMatchObject({ outcome: 'interrupted', reason: 'drain deadline reached' });

    // Restarted, the same client command with -C - picks up where the cut left the partial.
    expect((await node.cli([], { command: 'start_ftpd' })).code).toBe(0);
    port = await ftpPort();
    const resumed = await curl(['-C', '-', '-T', source, `ftp://127.0.0.1:${port}/huge.bin`]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(replies(resumed).some((r) => r.startsWith('213 '))).toBe(true); // SIZE gave the partial's size
    expect(sha256(await readFile(join(home, 'huge.bin')))).toBe(sha256(payload));
  });
});
