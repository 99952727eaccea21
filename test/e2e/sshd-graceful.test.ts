import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, sleep, startNode, until, yamlConfig, type RunningNode } from './harness.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

interface Sftp {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  done: Promise<{ code: number | null; endedAt: number; stdout: string; stderr: string }>;
}

/** OpenSSH `sftp` in batch mode with key authentication; `commands` may be fed later through `child.stdin`. */
function sftp(node: RunningNode, port: number, key: string, commands: string[] | null, extra: string[] = []): Sftp {
  const args = [
    '-P', String(port), '-i', key, '-b', '-',
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR',
    ...extra, 'alice@127.0.0.1',
  ];
  const child = spawn('sftp', args, { cwd: node.dir });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  if (commands) child.stdin.end(`${commands.join('\n')}\n`);
  return { child, output: () => stdout, done: new Promise((done) => child.on('close', (code) => done({ code, endedAt: Date.now(), stdout, stderr }))) };
}

describe('sshd graceful stop with real processes', () => {
  let node: RunningNode;
  let home: string;
  let key: string;

  const component = () => node.api<{ state: string; pid: number | null; listening: { port: number }[] }>('GET', '/api/v1/components/sshd');
  async function sshdPort(): Promise<number> {
    let port = 0;
    await until(async () => {
      const { body } = await component();
      port = body.listening[0]?.port ?? 0;
      return body.state === 'running' && port > 0;
    }, 20_000, 'sshd to run');
    return port;
  }

  beforeAll(async () => {
    node = await startNode({ config: (dataDir) => yamlConfig(dataDir, 'sshd: {port: 0, host: 127.0.0.1}') });
    home = join(node.dir, 'alice');
    expect((await node.api('POST', '/api/v1/accounts', { name: 'alice', password: 'correct horse', home })).status).toBe(201);
    key = join(node.dir, 'id_ed25519');
    expect(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]).status).toBe(0);
    const added = await node.api('POST', '/api/v1/accounts/alice/ssh-keys', { key: (await readFile(`${key}.pub`, 'utf8')).trim() });
    expect(added.status).toBe(201);
    await writeFile(join(node.dir, 'small.txt'), 'small');
  });

  afterAll(async () => {
    await node?.stop();
  });

  it('stop_sshd -g -timeout 60: refuses new work with a reason, finishes the running upload, exits right after it', async () => {
    const port = await sshdPort();
    const pid = await node.componentPid('sshd');
    const payload = randomBytes(2 * 1024 * 1024);
    await writeFile(join(node.dir, 'big.bin'), payload);
    await writeFile(join(home, 'existing.txt'), 'hello');

    // A second session, open before the drain, that has nothing in flight when it starts.
    const second = sftp(node, port, key, null);
    second.child.stdin.write('ls\n');
    await until(() => second.output().includes('sftp> ls'), 10_000, 'the second session to list');
    const upload = sftp(node, port, key, ['put big.bin'], ['-l', '4000']);
    await until(async () => (await node.api<unknown[]>('GET', '/api/v1/transfers')).body.length === 1, 10_000, 'the upload to be active');

    const stop = node.cli(['-g', '-timeout', '60'], { command: 'stop_sshd' });
    await until(async () => (await component()).body.state === 'draining', 5000, 'draining');

    // The second session was closed (it had no transfer); every command it tries now fails.
    second.child.stdin.end(['ls', 'put small.txt', 'get existing.txt got.txt', 'mkdir newdir', 'rm existing.txt', ''].join('\n'));
    const secondResult = await second.done;
    expect(secondResult.code).not.toBe(0);
    expect(secondResult.stderr).toContain('server is shutting down');

    // New connections are refused with the reason, whatever they ask.
    for (const command of ['ls', 'put small.txt', 'get existing.txt got.txt', 'mkdir newdir', 'rm existing.txt']) {
      const late = await sftp(node, port, key, [command]).done;
      expect(late.code, command).not.toBe(0);
      expect(late.stderr, command).toMatch(/Received disconnect .*server is shutting down; retry later/);
    }
    expect(existsSync(join(home, 'small.txt'))).toBe(false);
    expect(existsSync(join(home, 'newdir'))).toBe(false);
    expect(existsSync(join(node.dir, 'got.txt'))).toBe(false);
    expect(existsSync(join(home, 'existing.txt'))).toBe(true);

    const line = await node.waitForLog((l) => l.component === 'sshd' && l.event === 'drain.transfer', 5000);
    expect(line.msg).toContain('/big.bin');

    const result = await upload.done;
    expect(result.code, result.stderr).toBe(0);
    expect(sha256(await readFile(join(home, 'big.bin')))).toBe(sha256(payload));
    await until(() => !isAlive(pid!), 5000, 'sshd to exit');
    expect(Date.now() - result.endedAt).toBeLessThan(1000);

    const cli = await stop;
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect((await component()).body.state).toBe('stopped');
    await sleep(1500);
    expect((await component()).body).toMatchObject({ state: 'stopped', pid: null });
  });

  it('stop_sshd -g -timeout 2 cuts the upload; nothing under the final name; reput after a restart completes it', async () => {
    const started = await node.cli([], { command: 'start_sshd' });
    expect(started.code, started.stderr).toBe(0);
    const port = await sshdPort();
    const payload = randomBytes(2 * 1024 * 1024);
    await writeFile(join(node.dir, 'huge.bin'), payload);

    const upload = sftp(node, port, key, ['put huge.bin'], ['-l', '800']);
    await until(async () => (await node.api<unknown[]>('GET', '/api/v1/transfers')).body.length === 1, 10_000, 'the upload to be active');
    const t0 = Date.now();
    const cli = await node.cli(['-g', '-timeout', '2'], { command: 'stop_sshd' });
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect(Date.now() - t0).toBeGreaterThan(1500);
    expect(Date.now() - t0).toBeLessThan(8000);

    const cut = await upload.done;
    expect(cut.code).not.toBe(0);
    expect(existsSync(join(home, 'huge.bin'))).toBe(false);
    expect((await readdir(home)).filter((name) => name.endsWith('.ferry-partial'))).toEqual(['.huge.bin.ferry-partial']);
    await until(async () => {
      const history = await node.api<{ path: string; outcome: string }[]>('GET', '/api/v1/history?limit=10');
      return history.body.find((h) => h.path === '/huge.bin')?.outcome === 'interrupted';
    }, 5000, 'the cut upload in the history');

    expect((await node.cli([], { command: 'start_sshd' })).code).toBe(0);
    const resumed = await sftp(node, await sshdPort(), key, ['reput huge.bin']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(sha256(await readFile(join(home, 'huge.bin')))).toBe(sha256(payload));
    expect((await readdir(home)).filter((name) => name.endsWith('.ferry-partial'))).toEqual([]);
  });
});
