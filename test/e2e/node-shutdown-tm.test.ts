import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type NodePlan, type ShutdownReport } from '@ferry/core';
import { sha256 } from '../support/common.js';
import { startNode, until, yamlConfig, type RunningNode } from './harness.js';

/**
 * The node plan under real work, with the real transaction manager, folder monitor and scheduler:
 * a slow HTTP upload, a slow server-initiated pull (a SIT) holding tm's only worker, and jobs queued
 * behind it. SIGTERM runs the plan; the upload and the SIT complete; the queued jobs stay queued and
 * run exactly once after the restart.
 */
const PULL_BYTES = 6 << 20;
const PULL_RATE = 1 << 20; // bytes per second: the pull takes about 6 s
const PASSWORD = 'dave-password';

interface JobView {
  id: number;
  kind: string;
  status: string;
  attempts: number;
}

describe('node shutdown with the transaction manager under work', () => {
  let partner: Server;
  let partnerUrl: string;
  const pullData = randomBytes(PULL_BYTES);
  const hooks = new Map<number, number>();
  let dir: string | undefined;

  beforeAll(async () => {
    // A partner's web server: a slow download, and a webhook receiver that counts calls per job.
    partner = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/outbound/big.bin') {
        res.writeHead(200, { 'content-length': PULL_BYTES });
        let sent = 0;
        const chunk = PULL_RATE / 10;
        const timer = setInterval(() => {
          res.write(pullData.subarray(sent, sent + chunk));
          sent += chunk;
          if (sent >= PULL_BYTES) {
            clearInterval(timer);
            res.end();
          }
        }, 100);
        res.on('close', () => clearInterval(timer));
        return;
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const job = (JSON.parse(body || '{}') as { job?: number }).job ?? -1;
        hooks.set(job, (hooks.get(job) ?? 0) + 1);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => partner.listen(0, '127.0.0.1', resolve));
    partnerUrl = `http://127.0.0.1:${(partner.address() as { port: number }).port}/`;
  });

  afterAll(() => {
    partner?.close();
  });

  const config = (dataDir: string): string =>
    yamlConfig(
      dataDir,
      `
node: {killTimeout: 5s}
tm:
  workers: 1
  pollInterval: 100ms
  gracefulShutdownTimeout: 60s
  sites:
    web: {protocol: http, url: '${partnerUrl}'}
folder-monitor:
  folders:
    - {name: drop, path: ${join(dataDir, '..', 'drop')}, stableFor: 1s, pollInterval: 200ms}
scheduler:
  schedules:
    - {name: nightly, cron: '0 3 * * *', misfire: skip, job: {kind: webhook, payload: {file: {account: dave, path: /a.txt}, url: '${partnerUrl}hook'}}}
`,
    );

  it('runs the steps in order; the upload and the SIT complete; queued jobs run exactly once after the restart', async () => {
    let node: RunningNode | undefined = await startNode({ config });
    dir = node.dir;
    const home = join(node.dir, 'dave');
    await mkdir(join(node.dir, 'drop'), { recursive: true });
    expect((await node.api('POST', '/api/v1/accounts', { name: 'dave', password: PASSWORD, home })).status).toBe(201);
    await writeFile(join(home, 'a.txt'), 'a file the webhooks describe');
    const httpd = await node.httpdUrl();
    await until(async () => (await node!.api<{ state: string }[]>('GET', '/api/v1/components')).body.every((c) => c.state === 'running'), 20_000, 'every component running');

    // The SIT: a pull that takes about 6 s, on tm's only worker.
    const pull = await node.api<JobView>('POST', '/api/v1/jobs', {
      kind: 'pull',
      payload: { site: 'web', remotePath: '/outbound/big.bin', account: 'dave', path: '/in', route: false },
    });
    expect(pull.status).toBe(201);
    await until(async () => (await node!.api<JobView>('GET', `/api/v1/jobs/${pull.body.id}`)).body.status === 'running', 10_000, 'the pull to run');
    // The running job is on tm's component view (what `ferry status` and the drain progress show).
    await until(async () => (await node!.api<{ jobs: { jobId: number }[] }>('GET', '/api/v1/components/tm')).body.jobs.length === 1, 5000, 'the job on the view');
    const tmView = await node.api<{ jobs: { jobId: number; kind: string; label: string }[] }>('GET', '/api/v1/components/tm');
    expect(tmView.body.jobs).toEqual([expect.objectContaining({ jobId: pull.body.id, kind: 'pull', label: 'web:/outbound/big.bin → dave:/in' })]);
    // Queued behind it: three webhook jobs.
    const queued: number[] = [];
    for (let i = 0; i < 3; i++) {
      const hook = await node.api<JobView>('POST', '/api/v1/jobs', { kind: 'webhook', payload: { file: { account: 'dave', path: '/a.txt' }, url: `${partnerUrl}hook` } });
      queued.push(hook.body.id);
    }
    // The slow upload: about 3 s.
    const upload = randomBytes(1536 << 10);
    await writeFile(join(node.dir, 'up.bin'), upload);
    const curl = spawn('curl', ['-sS', '--fail', '-u', `dave:${PASSWORD}`, '--limit-rate', '512K', '-T', join(node.dir, 'up.bin'), `${httpd}/files/up.bin`]);
    const curlDone = new Promise<number | null>((done) => curl.on('close', done));
    await until(async () => (await node!.api<unknown[]>('GET', '/api/v1/transfers')).body.length >= 2, 10_000, 'the upload and the pull to be in the registry');

    node.process.kill('SIGTERM');
    expect(await curlDone).toBe(0);
    expect(await node.exited).toBe(0);
    expect(sha256(await readFile(join(home, 'up.bin')))).toBe(sha256(upload));
    expect(sha256(await readFile(join(home, 'in', 'big.bin')))).toBe(sha256(pullData));
    expect(hooks.size).toBe(0);

    // The stored report: the steps in order, and what each component finished.
    const store = await openStore({ url: `sqlite:${join(node.dataDir, 'ferry.db')}`, dataDir: node.dataDir });
    let report: ShutdownReport;
    try {
      report = (await store.shutdownReports.list())[0]!;
      const jobs = await Promise.all([pull.body.id, ...queued].map(async (id) => (await store.jobs.get(id))!.status));
      expect(jobs).toEqual(['done', 'queued', 'queued', 'queued']);
    } finally {
      await store.close();
    }
    const plan: NodePlan = report.plan;
    expect(plan.steps.map((s) => s.name)).toEqual(['pause-monitor', 'intake', 'protocol', 'tm', 'exit']);
    const step = (name: string) => plan.steps.find((s) => s.name === name)!;
    const at = (iso: string | null) => Date.parse(iso ?? 'invalid');
    expect(at(step('intake').endedAt)).toBeLessThanOrEqual(at(step('protocol').startedAt));
    expect(at(step('protocol').endedAt)).toBeLessThanOrEqual(at(step('tm').startedAt));
    expect(step('intake').components.map((c) => c.id).sort()).toEqual(['folder-monitor', 'scheduler']);
    const httpdReport = step('protocol').components.find((c) => c.id === 'httpd')!;
    expect(httpdReport.transfers.completed.map((t) => t.path)).toContain('/up.bin');
    const tmReport = step('tm').components.find((c) => c.id === 'tm')!;
    expect(tmReport.finalState).toBe('stopped');
    expect(tmReport.transfers.completed.map((t) => t.path)).toContain('/in/big.bin');
    expect(tmReport.jobs?.completed.map((j) => j.id)).toContain(pull.body.id);
    expect(tmReport.jobs?.released).toEqual([]);

    // After the restart every queued job runs, exactly once.
    node = await startNode({ config, dir });
    try {
      await until(async () => queued.every((id) => hooks.get(id) === 1), 20_000, 'the queued webhooks to run');
      for (const id of queued) expect((await node.api<JobView>('GET', `/api/v1/jobs/${id}`)).body).toMatchObject({ status: 'done', attempts: 1 });
      await new Promise((r) => setTimeout(r, 500));
      expect([...hooks.values()]).toEqual([1, 1, 1]);
    } finally {
      await node.stop();
    }
  }, 90_000);
});
