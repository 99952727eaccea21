import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH, curl, eventually, PASSWORD, randomFile, sha256, stateReached, startHttpd, USER, type Harness } from './helpers.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Slow {
  child: ChildProcess;
  done: Promise<{ code: number | null; status: number; stdout: string }>;
}

/** curl -T at a limited rate; resolves with curl's exit code and the HTTP status it saw. */
function slowUpload(base: string, file: string, target: string, rate: string): Slow {
  const child = spawn('curl', ['-sS', '--limit-rate', rate, '-u', `${USER}:${PASSWORD}`, '-T', file, '-w', '\n%{http_code}', `${base}${target}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.resume();
  const done = new Promise<{ code: number | null; status: number; stdout: string }>((resolve) =>
    child.on('close', (code) => {
      const at = stdout.lastIndexOf('\n');
      resolve({ code, status: Number(stdout.slice(at + 1)), stdout: stdout.slice(0, at) });
    }),
  );
  return { child, done };
}

/** A request on a connection of its own, so a refusal that closes it cannot disturb the others. */
async function fresh(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const dispatcher = new Agent({ pipelining: 0 });
  try {
    const res = await request(`${base}${path}`, {
      method: method as 'GET',
      headers: { authorization: AUTH, ...headers },
      dispatcher,
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, json: text ? (JSON.parse(text) as { code: string; message: string }) : undefined };
  } finally {
    await dispatcher.close();
  }
}

async function expectRefused(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<void> {
  const res = await fresh(base, method, path, headers, body);
  expect(res.status, `${method} ${path}`).toBe(503);
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(res.headers.connection).toBe('close');
  if (method === 'HEAD') return;
  expect(res.json?.code).toBe('FERRY_ERR_DRAINING');
  expect(res.json?.message).toMatch(/shutting down|suspended/);
}

describe('graceful stop', () => {
  it('lets a running upload finish, refuses new work with 503, then stops at once', async () => {
    h = await startHttpd();
    const harness = h;
    const src = await randomFile(h.dir, 'slow.bin', 1536 * 1024);
    await fresh(h.base, 'PUT', '/files/existing.txt', {}, 'keep me');
    const upload = slowUpload(h.base, src.path, '/files/slow.bin', '1M');
    await eventually(() => harness.runtime.transfers.list().some((t) => t.path === '/slow.bin' && t.bytes > 0));

    const stopping = h.runtime.gracefulStop(Date.now() + 30_000);
    expect(h.runtime.state).toBe('draining');
    // The listener stays open: late clients get a polite, retryable refusal.
    await expectRefused(h.base, 'PUT', '/files/new.txt', {}, 'new');
    await expectRefused(h.base, 'GET', '/files/existing.txt');
    await expectRefused(h.base, 'GET', '/files/');
    await expectRefused(h.base, 'HEAD', '/files/existing.txt');
    await expectRefused(h.base, 'DELETE', '/files/existing.txt');
    await expectRefused(h.base, 'MOVE', '/files/existing.txt', { destination: '/files/moved.txt' });
    await expectRefused(h.base, 'MKCOL', '/files/dir');
    await expectRefused(h.base, 'POST', '/uploads', { 'tus-resumable': '1.0.0', 'upload-length': '1', 'upload-metadata': 'filename eA==' });
    // curl asks `Expect: 100-continue` for a large body: refused before it sends it.
    const late = await curl(['-u', `${USER}:${PASSWORD}`, '-T', src.path, '-D', '-', `${h.base}/files/late.bin`], { status: true });
    expect(late.status).toBe(503);
    expect(late.stdout.toLowerCase()).toContain('retry-after:');
    await expect(stat(join(h.home, 'late.bin'))).rejects.toThrow();
    // Without credentials, too: the drain is said before the login is asked for.
    const anonymous = await request(`${h.base}/files/`, { dispatcher: new Agent() });
    await anonymous.body.dump();
    expect(anonymous.statusCode).toBe(503);

    const result = await upload.done;
    const finishedAt = Date.now();
    expect(result.status).toBe(201);
    expect(sha256(await readFile(join(h.home, 'slow.bin')))).toBe(sha256(src.data));
    await stopping;
    expect(h.runtime.state).toBe('stopped');
    expect(Date.now() - finishedAt).toBeLessThan(1500);
    expect(await readFile(join(h.home, 'existing.txt'), 'utf8')).toBe('keep me');
    await eventually(async () => (await harness.store.history.list()).some((r) => r.path === '/slow.bin' && r.outcome === 'completed'));
  });

  it('cuts the upload at the deadline: nothing under the final name, history says interrupted', async () => {
    h = await startHttpd();
    const harness = h;
    const src = await randomFile(h.dir, 'cut.bin', 2 * 1024 * 1024);
    const upload = slowUpload(h.base, src.path, '/files/cut.bin', '256K');
    await eventually(() => harness.runtime.transfers.list().some((t) => t.path === '/cut.bin' && t.bytes > 0));
    const started = Date.now();
    await h.runtime.gracefulStop(Date.now() + 800);
    expect(h.runtime.state).toBe('stopped');
    expect(Date.now() - started).toBeLessThan(5000);
    const result = await upload.done;
    expect(result.status).not.toBe(201);
    await expect(stat(join(h.home, 'cut.bin'))).rejects.toThrow();
    // The partial stays, resumable.
    expect(await readdir(h.home)).toContain('.cut.bin.ferry-partial');
    await eventually(async () => (await harness.store.history.list()).some((r) => r.path === '/cut.bin' && r.outcome === 'interrupted'));
    const row = (await h.store.history.list()).find((r) => r.path === '/cut.bin');
    expect(row?.reason).toMatch(/deadline/);
  });

  it('completes the tus chunk in progress and refuses the next one', async () => {
    h = await startHttpd();
    const harness = h;
    const src = await randomFile(h.dir, 'chunk.bin', 1024 * 1024);
    const created = await fresh(h.base, 'POST', '/uploads', {
      'tus-resumable': '1.0.0',
      'upload-length': String(2 * src.data.length),
      'upload-metadata': `filename ${Buffer.from('tus.bin').toString('base64')}`,
    });
    expect(created.status).toBe(201);
    const location = String(created.headers.location);
    const child = spawn(
      'curl',
      ['-sS', '--limit-rate', '1M', '-u', `${USER}:${PASSWORD}`, '-X', 'PATCH', '-H', 'Tus-Resumable: 1.0.0', '-H', 'Upload-Offset: 0', '-H', 'Content-Type: application/offset+octet-stream', '--data-binary', `@${src.path}`, '-w', '%{http_code}', '-o', '/dev/null', `${h.base}${location}`],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    await eventually(() => harness.runtime.transfers.list().some((t) => t.path === '/tus.bin' && t.bytes > 0));
    const suspended = h.runtime.suspend();
    await expectRefused(h.base, 'PATCH', location, { 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, 'x');
    await exited;
    expect(out).toBe('204');
    await suspended;
    expect(h.runtime.state).toBe('drained');
    const next = await fresh(h.base, 'PATCH', location, { 'tus-resumable': '1.0.0', 'upload-offset': String(src.data.length), 'content-type': 'application/offset+octet-stream' }, 'x');
    expect(next.status).toBe(503);
    expect(next.headers['tus-resumable']).toBe('1.0.0');
  });
});

describe('suspend and resume', () => {
  it('refuses with 503 while suspended and serves again after resume', async () => {
    h = await startHttpd();
    await fresh(h.base, 'PUT', '/files/a.txt', {}, 'aaa');
    await h.runtime.suspend();
    expect(h.runtime.state).toBe('drained');
    await expectRefused(h.base, 'GET', '/files/a.txt');
    await expectRefused(h.base, 'PUT', '/files/b.txt', {}, 'bbb');
    h.runtime.resume();
    expect(h.runtime.state).toBe('running');
    const res = await fresh(h.base, 'PUT', '/files/b.txt', {}, 'bbb');
    expect(res.status).toBe(201);
    expect(await readFile(join(h.home, 'b.txt'), 'utf8')).toBe('bbb');
  });

  it('closes idle keep-alive connections when the drain begins', async () => {
    h = await startHttpd();
    const socket = connect(h.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    let received = '';
    socket.setEncoding('utf8').on('data', (d: string) => (received += d));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(`GET /files/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n\r\n`);
    await eventually(() => received.includes('"entries"'));
    expect(received).toMatch(/^HTTP\/1\.1 200/);
    expect(received.toLowerCase()).toContain('connection: keep-alive');
    const start = Date.now();
    await h.runtime.suspend();
    await closed;
    expect(Date.now() - start).toBeLessThan(1000);
    await eventually(() => h?.runtime.status().sessions === 0);
  });

  it('lets a running download finish, then stops', async () => {
    h = await startHttpd();
    const harness = h;
    // Larger than what loopback socket buffers absorb, so the response is still going when the drain begins.
    const src = await randomFile(h.home, 'down.bin', 24 * 1024 * 1024);
    const child = spawn('curl', ['-sS', '--limit-rate', '12M', '-u', `${USER}:${PASSWORD}`, '-o', join(h.dir, 'down.out'), '-w', '%{http_code}', `${h.base}/files/down.bin`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    await eventually(() => harness.runtime.transfers.list().some((t) => t.direction === 'download' && t.bytes > 0));
    await h.runtime.gracefulStop(Date.now() + 30_000);
    await exited;
    expect(out).toBe('200');
    expect(sha256(await readFile(join(h.dir, 'down.out')))).toBe(sha256(src.data));
    expect(h.runtime.state).toBe('stopped');
  });
});

describe('immediate stop', () => {
  it('cuts a running download and records it interrupted', async () => {
    h = await startHttpd();
    const harness = h;
    const src = await randomFile(h.home, 'big.bin', 8 * 1024 * 1024);
    expect(src.data.length).toBe(8 * 1024 * 1024);
    const child = spawn('curl', ['-sS', '--limit-rate', '1M', '-u', `${USER}:${PASSWORD}`, '-o', '/dev/null', `${h.base}/files/big.bin`], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await eventually(() => harness.runtime.transfers.list().some((t) => t.direction === 'download' && t.bytes > 0));
    await h.runtime.stopNow();
    await stateReached(h.runtime, 'stopped');
    expect(await exited).not.toBe(0);
    await eventually(async () => (await harness.store.history.list()).some((r) => r.path === '/big.bin' && r.outcome === 'interrupted'));
  });
});
