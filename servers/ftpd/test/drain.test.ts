import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'basic-ftp';
import { afterEach, describe, expect, it } from 'vitest';
import {
  curlArgs,
  eventually,
  expectCode,
  PASSWORD,
  randomFile,
  rawPassive,
  RawControl,
  readAll,
  run,
  sha256,
  sha256File,
  startFtpd,
  stateReached,
  USER,
  type Harness,
} from './helpers.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Slow {
  child: ChildProcess;
  done: Promise<{ code: number | null; stderr: string; endedAt: number }>;
}

/** curl -T at a limited rate, verbose, so the replies it saw can be checked. */
function slowUpload(harness: Harness, file: string, target: string, rate: string, extra: string[] = []): Slow {
  const child = spawn('curl', ['-v', ...curlArgs(harness, 'plain', target), '--limit-rate', rate, ...extra, '-T', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return { child, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr, endedAt: Date.now() }))) };
}

/** What curl saw from the server, one reply code per line (`< 421 …`). */
function repliesSeen(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => /^< \d{3}[ -]/.test(line))
    .map((line) => line.slice(2).trim());
}

async function refusedByCurl(harness: Harness, args: string[]): Promise<void> {
  const r = await run('curl', ['-v', ...args]);
  expect(r.code, args.join(' ')).not.toBe(0);
  const replies = repliesSeen(r.stderr);
  expect(replies.some((reply) => /^421 server is shutting down; try again later$/.test(reply)), `${args.join(' ')}: ${replies.join(' | ')}`).toBe(true);
}

describe('graceful stop', () => {
  it('lets a running upload finish at full speed, refuses everything new with 421, then stops at once', async () => {
    h = await startFtpd();
    const harness = h;
    const src = await randomFile(h.dir, 'slow.bin', 3 * 1024 * 1024);
    await writeFile(join(h.home, 'existing.txt'), 'keep me');
    const idle = await RawControl.open(h.port);
    await idle.login();
    const upload = slowUpload(h, src.path, '/slow.bin', '1M');
    await eventually(() => harness.runtime.transfers.list().some((t) => t.path === '/slow.bin' && t.bytes > 0));

    const stopping = h.runtime.gracefulStop(Date.now() + 30_000);
    expect(h.runtime.state).toBe('draining');
    // An idle session is told why and closed.
    expect(await idle.reply()).toBe('421 server is shutting down; try again later\r\n');
    expect(await idle.reply()).toBeNull();
    // A new connection is refused before any greeting, with the reason.
    const late = await RawControl.open(h.port);
    expect(await late.reply()).toBe('421 server is shutting down; try again later\r\n');
    expect(await late.reply()).toBeNull();
    // Every kind of new file operation, from real clients.
    await refusedByCurl(h, curlArgs(h, 'plain', '/'));
    await refusedByCurl(h, curlArgs(h, 'plain', '/existing.txt'));
    await refusedByCurl(h, [...curlArgs(h, 'plain', '/new.txt'), '-T', src.path]);
    await refusedByCurl(h, [...curlArgs(h, 'plain', '/'), '-Q', 'MKD newdir']);
    await refusedByCurl(h, [...curlArgs(h, 'plain', '/'), '-Q', 'DELE existing.txt']);
    await refusedByCurl(h, curlArgs(h, 'implicit', '/existing.txt'));
    const client = new Client(5000);
    await expect(client.access({ host: '127.0.0.1', port: h.port, user: USER, password: PASSWORD })).rejects.toThrow(/421/);
    client.close();

    const result = await upload.done;
    expect(result.code, result.stderr).toBe(0);
    expect(repliesSeen(result.stderr).at(-1)).toMatch(/^226 /);
    expect(sha256(await readFile(join(h.home, 'slow.bin')))).toBe(sha256(src.data));
    await stopping;
    expect(h.runtime.state).toBe('stopped');
    expect(Date.now() - result.endedAt).toBeLessThan(1000);
    expect(await readFile(join(h.home, 'existing.txt'), 'utf8')).toBe('keep me');
    expect(await readdir(h.home)).not.toContain('newdir');
    expect(await readdir(h.home)).not.toContain('new.txt');
    await eventually(async () => (await harness.store.history.list()).some((r) => r.path === '/slow.bin' && r.outcome === 'completed'));
  });

  it('a command queued behind a running download is answered 421 once the download is done', async () => {
    h = await startFtpd();
    const src = await randomFile(h.home, 'big.bin', 8 * 1024 * 1024);
    const c = await RawControl.open(h.port);
    await c.login();
    const data = await rawPassive(c);
    data.pause(); // a slow reader: the download stays in flight
    c.send('RETR big.bin\r\n');
    expectCode(await c.reply(), 150);
    c.send('MKD queued\r\n');
    await eventually(() => h!.runtime.transfers.size === 1);
    const stopping = h.runtime.gracefulStop(Date.now() + 30_000);
    const received = readAll(data);
    data.resume();
    expect(sha256(await received)).toBe(sha256(src.data));
    expectCode(await c.reply(), 226);
    expect(await c.reply()).toBe('421 server is shutting down; try again later\r\n');
    expect(await c.reply()).toBeNull();
    await stopping;
    expect(await readdir(h.home)).not.toContain('queued');
  });

  it('a file command that meets a closed gate gets 421 and the session closes', async () => {
    h = await startFtpd();
    const c = await RawControl.open(h.port);
    await c.login();
    // What a session sees when its command races the start of a drain.
    h.runtime.gate.close('server is shutting down', 30);
    try {
      expect(await c.command('MKD racing')).toBe('421 server is shutting down; try again later\r\n');
      expect(await c.reply()).toBeNull();
    } finally {
      h.runtime.gate.open();
    }
    expect(await readdir(h.home)).not.toContain('racing');
  });

  it('at the deadline: 426 on the cut transfer, then 421; nothing under the final name; a resume after restart completes it', async () => {
    h = await startFtpd();
    const harness = h;
    const src = await randomFile(h.dir, 'cut.bin', 4 * 1024 * 1024);
    const c = await RawControl.open(h.port);
    await c.login();
    const data = await rawPassive(c);
    c.send('STOR cut.bin\r\n');
    expectCode(await c.reply(), 150);
    data.write(src.data.subarray(0, 1024 * 1024));
    await eventually(() => harness.runtime.transfers.list().some((t) => t.path === '/cut.bin' && t.bytes === 1024 * 1024));
    const started = Date.now();
    await h.runtime.gracefulStop(Date.now() + 500);
    expect(h.runtime.state).toBe('stopped');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await c.reply()).toBe('426 Connection closed; transfer aborted: drain deadline reached\r\n');
    expect(await c.reply()).toBe('421 server is shutting down; try again later\r\n');
    expect(await c.reply()).toBeNull();
    data.destroy();
    await expect(stat(join(h.home, 'cut.bin'))).rejects.toThrow();
    expect((await stat(join(h.home, '.cut.bin.ferry-partial'))).size).toBe(1024 * 1024);
    await eventually(async () => (await harness.store.history.list()).some((r) => r.path === '/cut.bin' && r.outcome === 'interrupted'));
    expect((await h.store.history.list()).find((r) => r.path === '/cut.bin')?.reason).toBe('drain deadline reached');

    // Restarted, the client resumes where the cut left the partial (SIZE, then APPE).
    await h.runtime.start();
    const ftp = h.runtime.listening.find((l) => l.name === 'ftp');
    h.port = ftp!.port;
    const resumed = await run('curl', [...curlArgs(h, 'plain', '/cut.bin'), '-C', '-', '-T', src.path]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await sha256File(join(h.home, 'cut.bin'))).toBe(sha256(src.data));
  });

  it('a curl upload cut at the deadline fails and leaves the partial, never the final name', async () => {
    h = await startFtpd();
    const harness = h;
    const src = await randomFile(h.dir, 'curl-cut.bin', 4 * 1024 * 1024);
    const upload = slowUpload(h, src.path, '/curl-cut.bin', '512K');
    await eventually(() => harness.runtime.transfers.list().some((t) => t.path === '/curl-cut.bin' && t.bytes > 0));
    await h.runtime.gracefulStop(Date.now() + 600);
    const result = await upload.done;
    expect(result.code).not.toBe(0);
    // curl stops at the broken data connection (55) before it reads the 426 (the raw test above does).
    expect(result.code, result.stderr).toBe(55);
    expect(await readdir(h.home)).not.toContain('curl-cut.bin');
    expect(await readdir(h.home)).toContain('.curl-cut.bin.ferry-partial');
  });
});

describe('suspend and resume', () => {
  it('refuses new connections while suspended and serves again after resume', async () => {
    h = await startFtpd();
    await h.runtime.suspend();
    expect(h.runtime.state).toBe('drained');
    const refused = await RawControl.open(h.port);
    expect(await refused.reply()).toBe('421 server is suspended; try again later\r\n');
    h.runtime.resume();
    await stateReached(h.runtime, 'running');
    const c = await RawControl.open(h.port);
    await c.login();
    expectCode(await c.command('NOOP'), 200);
    c.close();
  });
});

describe('immediate stop', () => {
  it('cuts a running transfer: 426 then 421, history says interrupted', async () => {
    h = await startFtpd();
    const harness = h;
    await randomFile(h.home, 'down.bin', 16 * 1024 * 1024);
    const c = await RawControl.open(h.port);
    await c.login();
    const data = await rawPassive(c);
    data.pause();
    c.send('RETR down.bin\r\n');
    expectCode(await c.reply(), 150);
    await eventually(() => harness.runtime.transfers.size === 1);
    await h.runtime.stopNow();
    expect(h.runtime.state).toBe('stopped');
    const rest = [await c.reply(), await c.reply()];
    expect(rest[0]).toMatch(/^426 /);
    expect(rest[1]).toBe('421 server is stopping; try again later\r\n');
    data.destroy();
    await eventually(async () => (await harness.store.history.list()).some((r) => r.path === '/down.bin' && r.outcome === 'interrupted'));
  });
});
