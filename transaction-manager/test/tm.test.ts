import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { ComponentRuntime, createLogger, openStore, type Job, type Store } from '@ferry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTm, tmSection, workerName } from '../src/index.js';
import { eventually, sha256 } from '../../test/support/common.js';
import { PASSWORD, startSshPeer, USER, type SshPeer } from './support/servers.js';

const sink = new Writable({ write: (_chunk, _enc, done) => done() });
const ACCOUNT = 'bob';

let peer: SshPeer;
let dir: string;
let home: string;
let store: Store;
const runtimes: ComponentRuntime[] = [];

beforeAll(async () => {
  peer = await startSshPeer();
  dir = await mkdtemp(join(tmpdir(), 'ferry-tm-'));
  home = join(dir, 'homes', ACCOUNT);
  await mkdir(join(home, 'in'), { recursive: true });
  store = await openStore({ url: `sqlite:${join(dir, 'ferry.db')}`, dataDir: dir });
  await store.accounts.create({ name: ACCOUNT, password: 'not used here', home });
});

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.stopNow().catch(() => undefined)));
});

afterAll(async () => {
  await peer?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

function tmConfig(extra: Record<string, unknown>) {
  return tmSection.schema.parse({
    pollInterval: '50ms',
    retry: { backoff: '100ms', maxAttempts: 3 },
    sites: { partner: { protocol: 'sftp', host: '127.0.0.1', port: peer.port, user: USER, password: PASSWORD, hostKey: 'any' } },
    ...extra,
  });
}

async function startTm(config: ReturnType<typeof tmConfig>, dataDir = dir): Promise<ComponentRuntime> {
  const log = createLogger({ component: 'tm', level: process.env.FERRY_TEST_LOG ?? 'silent', ...(process.env.FERRY_TEST_LOG ? {} : { destination: sink as never }) });
  const runtime = new ComponentRuntime({ component: createTm(), config: config as never, dataDir, store, log, loggingIntervalMs: 60_000, abortGraceMs: 2000 });
  runtimes.push(runtime);
  await runtime.start();
  return runtime;
}

/** What a protocol daemon's runtime enqueues when an upload completes. */
function received(path: string, id: string): Promise<{ job: Job }> {
  return store.jobs.enqueue({ kind: 'route', payload: { file: { account: ACCOUNT, path }, source: 'sshd' }, dedupeKey: `route:${id}` });
}

async function settled(ids: number[]): Promise<Job[]> {
  let jobs: Job[] = [];
  await eventually(async () => {
    jobs = await Promise.all(ids.map(async (id) => (await store.jobs.get(id))!));
    return jobs.every((job) => job.status === 'done' || job.status === 'failed');
  }, 20_000);
  return jobs;
}

/** Every job of one routing: the route job and all steps it led to, in order. */
async function routing(rootId: number): Promise<Job[]> {
  const all = await store.jobs.list({ limit: 1000 });
  const ids = new Set([rootId]);
  for (const job of [...all].reverse()) if (job.parentId !== null && ids.has(job.parentId)) ids.add(job.id);
  return all.filter((job) => ids.has(job.id)).reverse();
}

describe('tm routing', () => {
  it('routes a received file: rename, gzip, copy, push over SFTP; checksums equal, each step once', async () => {
    await startTm(
      tmConfig({
        routes: [
          { name: 'other', path: '/elsewhere/**', actions: [{ delete: true }] },
          {
            name: 'invoices',
            path: '/in/*.csv',
            actions: [{ rename: '{base}-{job}{ext}' }, { gzip: {} }, { copy: { path: '/archive/' } }, { push: { site: 'partner', path: '/inbound/{name}' } }],
          },
        ],
      }),
    );
    const data = Buffer.from('id;amount\n'.repeat(50_000));
    await writeFile(join(home, 'in', 'march.csv'), data);
    const { job: root } = await received('/in/march.csv', 't1');
    // The same upload reported twice (a retried enqueue) is still one routing.
    expect((await received('/in/march.csv', 't1')).job.id).toBe(root.id);

    await eventually(async () => (await routing(root.id)).length === 5 && (await routing(root.id)).every((j) => j.status === 'done'), 20_000);
    const jobs = await routing(root.id);
    expect(jobs.map((j) => j.kind)).toEqual(['route', 'step', 'step', 'step', 'step']);
    expect(jobs[0]!.result).toEqual({ matched: ['invoices'] });
    expect(jobs.every((j) => j.attempts === 1)).toBe(true);

    const name = `march-${root.id}.csv.gz`;
    const pushed = await readFile(join(peer.home, 'inbound', name));
    expect(sha256(gunzipSync(pushed))).toBe(sha256(data));
    expect(sha256(await readFile(join(home, 'archive', name)))).toBe(sha256(pushed));
    // The original was replaced by its gzip; no partial or temporary file anywhere.
    expect(await readdir(join(home, 'in'))).toEqual([name]);
    expect(await readdir(join(peer.home, 'inbound'))).toEqual([name]);
    // The push is an outbound transfer in history, like an inbound one (recorded shortly after it ends).
    await expect
      .poll(async () => (await store.history.list({ component: 'tm' }))[0])
      .toMatchObject({ protocol: 'sftp', direction: 'upload', outcome: 'completed', path: `/in/${name}`, bytes: pushed.length });
  });

  it('routes a file stored outside account homes (an AS2 inbox) by its host path into an account', async () => {
    await startTm(tmConfig({ routes: [{ name: 'edi', source: 'as2d', path: '**/*.edi', actions: [{ move: { account: ACCOUNT, path: '/from-partners/' } }] }] }));
    const inbox = join(dir, 'as2-inbox');
    await mkdir(inbox, { recursive: true });
    await writeFile(join(inbox, 'order.edi'), 'UNA:+.? ');
    const { job: root } = await store.jobs.enqueue({ kind: 'route', payload: { file: { account: null, path: join(inbox, 'order.edi') }, source: 'as2d' }, dedupeKey: 'route:as2-1' });
    await eventually(async () => (await routing(root.id)).length === 2 && (await routing(root.id)).every((j) => j.status === 'done'), 20_000);
    expect(await readFile(join(home, 'from-partners', 'order.edi'), 'utf8')).toBe('UNA:+.? ');
    expect(await readdir(inbox)).toEqual([]);
  });

  it('a file no rule takes completes its route job with nothing matched', async () => {
    await startTm(tmConfig({ routes: [{ name: 'csv', path: '/in/*.csv', actions: [{ delete: true }] }] }));
    await writeFile(join(home, 'in', 'note.txt'), 'x');
    const { job } = await received('/in/note.txt', 't2');
    const [done] = await settled([job.id]);
    expect(done).toMatchObject({ status: 'done', result: { matched: [] } });
  });

  it('retries a failing webhook with backoff, then succeeds', async () => {
    let calls = 0;
    const bodies: unknown[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        calls++;
        bodies.push(JSON.parse(body));
        res.statusCode = calls < 3 ? 503 : 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      await startTm(tmConfig({ routes: [{ name: 'hook', path: '/in/*.xml', actions: [{ webhook: { url: `http://127.0.0.1:${port}/events?token=secret` } }] }] }));
      await writeFile(join(home, 'in', 'order.xml'), '<order/>');
      const { job: root } = await received('/in/order.xml', 't3');
      await eventually(async () => (await routing(root.id)).length === 2 && (await routing(root.id)).every((j) => j.status === 'done'), 20_000);
      const step = (await routing(root.id))[1]!;
      expect(step.attempts).toBe(3);
      expect(calls).toBe(3);
      expect(bodies[2]).toMatchObject({ event: 'file.routed', file: { account: ACCOUNT, path: '/in/order.xml', size: 8 } });
    } finally {
      server.close();
    }
  });

  it('a job that keeps failing ends failed with its reason; a payload that does not fit fails at once', async () => {
    await startTm(tmConfig({ routes: [{ name: 'cmd', path: '/in/*.fail', actions: [{ run: { command: 'sh', args: ['-c', 'echo broken >&2; exit 3'] } }] }] }));
    await writeFile(join(home, 'in', 'a.fail'), 'x');
    const { job: root } = await received('/in/a.fail', 't4');
    await eventually(async () => (await routing(root.id))[1]?.status === 'failed', 20_000);
    const step = (await routing(root.id))[1]!;
    expect(step.attempts).toBe(3);
    expect(step.lastError).toMatch(/command sh exited with 3: broken/);

    const { job: bad } = await store.jobs.enqueue({ kind: 'push', payload: { site: 'partner' } });
    const [failed] = await settled([bad.id]);
    expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
    expect(failed!.lastError).toMatch(/FERRY_ERR_BAD_REQUEST: push job payload does not fit: file/);
  });

  it('graceful stop: claims nothing new, lets a running job finish, leaves queued jobs queued', async () => {
    const runtime = await startTm(
      tmConfig({ workers: 1, routes: [{ name: 'slow', path: '/in/*.slow', actions: [{ run: { command: 'sleep', args: ['1'] } }] }] }),
    );
    await writeFile(join(home, 'in', 'one.slow'), 'x');
    await writeFile(join(home, 'in', 'two.slow'), 'x');
    const { job: first } = await received('/in/one.slow', 't5');
    await eventually(() => runtime.jobs.list().some((j) => j.kind === 'step'), 10_000);
    const { job: second } = await received('/in/two.slow', 't6');
    const stopped = runtime.gracefulStop(Date.now() + 30_000);
    expect(runtime.state).toBe('draining');
    await stopped;
    expect(runtime.state).toBe('stopped');
    const steps = await routing(first.id);
    expect(steps.map((j) => j.status)).toEqual(['done', 'done']);
    expect((await store.jobs.get(second.id))!.status).toBe('queued');
    // Resumed by the next tm.
    await startTm(tmConfig({ workers: 1, routes: [{ name: 'slow', path: '/in/*.slow', actions: [{ run: { command: 'true' } }] }] }));
    await eventually(async () => (await routing(second.id)).length === 2 && (await routing(second.id)).every((j) => j.status === 'done'), 20_000);
  });

  it('a job cut at the deadline goes back to the queue uncounted, its partial output removed, and runs again', async () => {
    // Random data does not compress: gzip takes long enough to be cut halfway.
    const big = randomBytes(48 << 20);
    await writeFile(join(home, 'in', 'big.cut'), big);
    const config = tmConfig({ workers: 1, routes: [{ name: 'cut', path: '/in/*.cut', actions: [{ gzip: {} }] }] });
    const runtime = await startTm(config);
    const { job: root } = await received('/in/big.cut', 't7');
    const partial = () => readdir(join(home, 'in')).then((names) => names.some((n) => n.endsWith('.ferry-partial')));
    await eventually(partial, 10_000);
    const started = Date.now();
    await runtime.gracefulStop(Date.now() + 100);
    expect(Date.now() - started).toBeLessThan(5000);
    const step = (await routing(root.id))[1]!;
    expect(step).toMatchObject({ status: 'queued', attempts: 0, claimedBy: null });
    expect(step.lastError).toMatch(/cut: drain deadline reached/);
    expect(await readdir(join(home, 'in'))).not.toContain('big.cut.gz');
    expect(await partial()).toBe(false);
    const events = await store.events.list({ component: 'tm' });
    expect(events.some((e) => e.event === 'job:released' && e.detail.jobId === step.id)).toBe(true);

    await startTm(config);
    await eventually(async () => (await store.jobs.get(step.id))!.status === 'done', 30_000);
    expect(sha256(gunzipSync(await readFile(join(home, 'in', 'big.cut.gz'))))).toBe(sha256(big));
    expect(await partial()).toBe(false);
  });

  it('after a crash, the jobs this node held are requeued at start and run once', async () => {
    await writeFile(join(home, 'in', 'crash.once'), 'payload');
    const { job: root } = await received('/in/crash.once', 't8');
    // A tm that died (kill -9) holding the route job with a long lease.
    const claimed = await store.jobs.claim({ worker: workerName(dir), leaseMs: 3_600_000 });
    expect(claimed?.id).toBe(root.id);
    await startTm(tmConfig({ routes: [{ name: 'once', path: '/in/*.once', actions: [{ copy: { path: '/copies/' } }] }] }));
    await eventually(async () => (await routing(root.id)).length === 2 && (await routing(root.id)).every((j) => j.status === 'done'), 20_000);
    expect((await store.jobs.get(root.id))!.attempts).toBe(2);
    expect(await readdir(join(home, 'copies'))).toEqual(['crash.once']);
  });
});
