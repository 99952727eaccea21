import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../support/common.js';
import { isAlive, startNode, until, yamlConfig, type RunningNode } from './harness.js';

interface JobView {
  id: number;
  kind: string;
  status: string;
  attempts: number;
  parentId: number | null;
  payload: { rule?: string; index?: number; file?: { path: string } };
  result: Record<string, unknown> | null;
}

const PASSWORD = 'correct horse battery';

/** The SHA256 fingerprint of a Ferry node's ed25519 host key, as `ssh-keygen -lf` prints it. */
async function hostKeyFingerprint(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'ssh-host-keys');
  const pub = (await readdir(dir)).find((name) => name.includes('ed25519') && name.endsWith('.pub'));
  if (!pub) throw new Error(`no ed25519 host key in ${dir}: ${(await readdir(dir)).join(', ')}`);
  const out = spawnSync('ssh-keygen', ['-lf', join(dir, pub)], { encoding: 'utf8' });
  const fingerprint = /SHA256:[A-Za-z0-9+/]{43}/.exec(out.stdout)?.[0];
  if (!fingerprint) throw new Error(`ssh-keygen -lf: ${out.stdout}${out.stderr}`);
  return fingerprint;
}

/**
 * Two real Ferry nodes: A receives over HTTP and routes to B over SFTP through its transaction
 * manager; B is the partner's server.
 */
describe('transaction manager with real processes', () => {
  let partner: RunningNode;
  let node: RunningNode;
  let partnerHome: string;
  let httpd: string;

  async function jobs(): Promise<JobView[]> {
    const { body } = await node.api<{ jobs: JobView[] }>('GET', '/api/v1/jobs?limit=1000');
    return body.jobs;
  }

  function upload(path: string, file: string): void {
    const put = spawnSync('curl', ['-sS', '--fail', '-u', `alice:${PASSWORD}`, '-T', file, `${httpd}/files${path}`], { encoding: 'utf8' });
    expect(put.status, put.stderr).toBe(0);
  }

  beforeAll(async () => {
    partner = await startNode({ config: (dataDir) => [`dataDir: ${dataDir}`, 'admin: {port: 0, host: 127.0.0.1}', 'sshd: {port: 0, host: 127.0.0.1}'].join('\n') });
    partnerHome = join(partner.dir, 'partner-home');
    expect((await partner.api('POST', '/api/v1/accounts', { name: 'acme', password: PASSWORD, home: partnerHome })).status).toBe(201);
    let sshPort = 0;
    await until(async () => {
      const { body } = await partner.api<{ state: string; listening: { port: number }[] }>('GET', '/api/v1/components/sshd');
      sshPort = body.listening[0]?.port ?? 0;
      return body.state === 'running' && sshPort > 0;
    }, 20_000, 'the partner sshd to run');
    const fingerprint = await hostKeyFingerprint(partner.dataDir);

    const tm = `
node: {restartDelay: 300ms}
tm:
  pollInterval: 100ms
  gracefulShutdownTimeout: 30s
  retry: {backoff: 200ms}
  sites:
    acme: {protocol: sftp, host: 127.0.0.1, port: ${sshPort}, user: acme, password: '${PASSWORD}', hostKey: '${fingerprint}'}
  routes:
    - name: to-acme
      path: /outbox/*.csv
      actions:
        - rename: '{base}-{date}{ext}'
        - gzip: {}
        - push: {site: acme, path: /incoming/}
    - name: slow
      path: /slow/*
      actions:
        - run: {command: sleep, args: ['4']}
        - push: {site: acme, path: /slow/}
`;
    node = await startNode({ config: (dataDir) => yamlConfig(dataDir, tm) });
    expect((await node.api('POST', '/api/v1/accounts', { name: 'alice', password: PASSWORD, home: join(node.dir, 'alice') })).status).toBe(201);
    for (const dir of ['outbox', 'slow']) await mkdir(join(node.dir, 'alice', dir), { recursive: true });
    httpd = await node.httpdUrl();
  }, 60_000);

  afterAll(async () => {
    await node?.stop();
    await partner?.stop();
  });

  it('an upload over HTTP is routed: renamed, gzipped and pushed to the partner over SFTP, checksums equal', async () => {
    const data = randomBytes(3 << 20);
    const source = join(node.dir, 'march.csv');
    await writeFile(source, data);
    upload('/outbox/march.csv', source);

    const date = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    const delivered = join(partnerHome, 'incoming', `march-${date}.csv.gz`);
    await until(() => existsSync(delivered), 30_000, 'the routed file at the partner');
    expect(sha256(gunzipSync(await readFile(delivered)))).toBe(sha256(data));
    expect(await readdir(join(partnerHome, 'incoming'))).toEqual([`march-${date}.csv.gz`]);

    const routing = (await jobs()).filter((j) => j.payload.file?.path.startsWith('/outbox/') || j.payload.rule === 'to-acme');
    await until(async () => (await jobs()).filter((j) => j.payload.rule === 'to-acme').every((j) => j.status === 'done'), 10_000, 'the routing jobs to finish');
    expect(routing.filter((j) => j.kind === 'route')).toHaveLength(1);
    expect((await jobs()).filter((j) => j.payload.rule === 'to-acme').map((j) => [j.payload.index, j.status, j.attempts])).toEqual([
      [2, 'done', 1],
      [1, 'done', 1],
      [0, 'done', 1],
    ]);
    // The push is in the sending node's history as an outbound SFTP transfer, the receipt in the partner's.
    // History rows are written in batches, a few milliseconds after their transfer ends.
    let sent: { component: string; protocol: string; direction: string; outcome: string }[] = [];
    await until(async () => (sent = (await node.api<typeof sent>('GET', '/api/v1/history?component=tm')).body).length > 0, 5000, 'the push in history');
    expect(sent[0]).toMatchObject({ protocol: 'sftp', direction: 'upload', outcome: 'completed' });
    let received: { account: string; path: string; outcome: string }[] = [];
    await until(async () => (received = (await partner.api<typeof received>('GET', '/api/v1/history?component=sshd')).body).length > 0, 5000, 'the receipt in history');
    expect(received[0]).toMatchObject({ account: 'acme', outcome: 'completed' });
  });

  it('kill -9 of tm mid-job: after the restart the job runs again and completes, delivered once', async () => {
    const data = randomBytes(100_000);
    const source = join(node.dir, 'slow.bin');
    await writeFile(source, data);
    upload('/slow/slow.bin', source);

    let running: JobView | undefined;
    await until(async () => {
      running = (await jobs()).find((j) => j.payload.rule === 'slow' && j.payload.index === 0 && j.status === 'running');
      return running !== undefined;
    }, 20_000, 'the slow step to run');
    const pid = await node.componentPid('tm');
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    await until(() => !isAlive(pid!), 5000, 'tm to die');

    // The monitor restarts tm; it requeues what it held and runs it again.
    const delivered = join(partnerHome, 'slow', 'slow.bin');
    await until(() => existsSync(delivered), 40_000, 'the slow file at the partner');
    expect(sha256(await readFile(delivered))).toBe(sha256(data));
    await until(async () => (await jobs()).filter((j) => j.payload.rule === 'slow').every((j) => j.status === 'done'), 10_000, 'the slow jobs to finish');
    const steps = (await jobs()).filter((j) => j.payload.rule === 'slow');
    expect(steps.map((j) => [j.payload.index, j.attempts])).toEqual([
      [1, 1],
      [0, 2],
    ]);
    expect(await readdir(join(partnerHome, 'slow'))).toEqual(['slow.bin']);
    expect(node.logs.some((l) => l.component === 'tm' && /back in the queue/.test(l.msg))).toBe(true);
    expect(await node.componentPid('tm')).not.toBe(pid);
  }, 90_000);
});
