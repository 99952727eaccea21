import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/test/support/harness.js';
import { ed25519PublicKeyLine } from '../../api/test/support/ssh-key.js';
import { asRunningNode, cli } from './support/cli.js';

let api: RunningApi;
let env: Record<string, string>;

beforeEach(async () => {
  api = await startApi();
  env = await asRunningNode(api);
});
afterEach(() => api.close());

/** Resolves when the CLI's output so far satisfies `test`. */
function outputWhere(test: (text: string) => boolean): { onOutput: (text: string) => void; reached: Promise<void> } {
  let done: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => (done = resolve));
  return { onOutput: (text) => test(text) && done(), reached };
}

describe('stop', () => {
  it('stop_httpd -g -timeout 60 shows the drain with its transfer and exits 0 once stopped', async () => {
    const transfer = api.node.beginTransfer('httpd', { path: '/in/payroll.csv', account: 'acme', size: 4 * 1024 * 1024 });
    transfer.progress(1024 * 1024);
    const watch = outputWhere((text) => text.includes('/in/payroll.csv'));
    const running = cli(['stop_httpd', '-g', '-timeout', '60'], { env, stdout: watch.onOutput });

    await watch.reached;
    transfer.progress(2 * 1024 * 1024);
    await new Promise((r) => setTimeout(r, 100));
    transfer.end('completed');
    const run = await running;

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(api.node.calls).toEqual(['stop httpd graceful 60000ms']);
    expect(run.stdout).toContain('httpd: graceful stop, timeout 1m00s requested');
    expect(run.stdout).toMatch(/httpd: draining \(graceful stop\), deadline \d{4}-\d\d-\d\dT[\d:.]+Z \(in [\dhms]+\), 1 active transfer/);
    expect(run.stdout).toMatch(/upload \/in\/payroll\.csv {2}acme {2}1\.0 MiB\/4\.0 MiB {2}.*\/s {2}eta /);
    expect(run.stdout).toContain('3.0 MiB/4.0 MiB');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('httpd stopped');
  });

  it('stop <id> without -g stops immediately', async () => {
    const run = await cli(['stop', 'ftpd'], { env });
    expect(run.code).toBe(0);
    expect(api.node.calls).toEqual(['stop ftpd immediate']);
    expect(run.stdout).toContain('ftpd: immediate stop requested');
    expect(run.stdout).toContain('ftpd stopped');
  });

  it('exits 0 for a component that is already stopped, without asking the node', async () => {
    await cli(['stop', 'httpd'], { env });
    api.node.calls.length = 0;
    const run = await cli(['stop_httpd', '-g'], { env });
    expect(run).toMatchObject({ code: 0, stdout: 'httpd is already stopped\n' });
    expect(api.node.calls).toEqual([]);
  });

  it('fails with the node message for an unknown component', async () => {
    const run = await cli(['stop_pesitd', '-g'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no component "pesitd" on this node (known: httpd, ftpd, tm) [FERRY_ERR_UNKNOWN_COMPONENT]');
  });

  it('fails with the reason when the process is killed during the drain', async () => {
    api.node.beginTransfer('ftpd');
    const watch = outputWhere((text) => text.includes('ftpd: draining'));
    const running = cli(['stop', 'ftpd', '-g'], { env, stdout: watch.onOutput });
    await watch.reached;
    api.node.crash('ftpd', { code: null, signal: 'SIGKILL' }, 'did not exit within 10s: killed');
    const run = await running;
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ftpd failed while stopping: did not exit within 10s: killed; killed by SIGKILL at');
  });

  it('fails when the process had to be killed to stop', async () => {
    api.node.killAtNextStop('httpd', 'did not exit within 10s: killed');
    const run = await cli(['stop', 'httpd'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/httpd stopped, but not cleanly: did not exit within 10s: killed; killed by SIGKILL at \S+Z/);
  });

  it('stops a component that had failed, and exits 0', async () => {
    api.node.crash('tm', { code: 1, signal: null });
    const run = await cli(['stop', 'tm', '-g'], { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('tm stopped');
  });

  it('fails when someone resumes the component during the stop', async () => {
    api.node.beginTransfer('tm');
    const watch = outputWhere((text) => text.includes('tm: draining'));
    const running = cli(['stop', 'tm', '-g', '--timeout=300'], { env, stdout: watch.onOutput });
    await watch.reached;
    await api.node.resume('tm');
    const run = await running;
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the stop of tm was cancelled: it is running again');
  });

  it('exits 3 with where it looked when the node goes away during the wait', async () => {
    api.node.beginTransfer('httpd');
    const watch = outputWhere((text) => text.includes('httpd: draining'));
    const running = cli(['stop', 'httpd', '-g'], { env, stdout: watch.onOutput });
    await watch.reached;
    await api.app.close();
    const run = await running;
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('lost the node while waiting for httpd (last seen draining');
    expect(run.stderr).toContain('the node does not seem to run');
  });
});

describe('start, suspend, resume', () => {
  it('start_httpd starts a stopped component and waits until it runs', async () => {
    await cli(['stop', 'httpd'], { env });
    const run = await cli(['start_httpd'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('httpd: starting');
    expect(run.stdout).toMatch(/httpd is running \(pid \d+\)/);
    expect((await cli(['start', 'httpd'], { env })).stdout).toContain('already running');
  });

  it('suspend waits until drained; resume brings it back', async () => {
    const transfer = api.node.beginTransfer('ftpd', { path: '/out/big.iso', direction: 'download' });
    const watch = outputWhere((text) => text.includes('/out/big.iso'));
    const running = cli(['suspend', 'ftpd', '-timeout', '120'], { env, stdout: watch.onOutput });
    await watch.reached;
    transfer.end('completed');
    const suspended = await running;
    expect(suspended.code).toBe(0);
    expect(suspended.stdout).toContain('ftpd: draining (suspend)');
    expect(suspended.stdout).toContain('ftpd is suspended');
    expect(api.node.calls).toEqual(['suspend ftpd']);

    const resumed = await cli(['resume', 'ftpd'], { env });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('ftpd resumed');
  });
});

describe('status, transfers, history', () => {
  it('status prints one row per component, or JSON', async () => {
    api.node.beginTransfer('httpd');
    const run = await cli(['status'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^node running, pid \d+/);
    expect(run.stdout).toMatch(/ID\s+STATE\s+PID\s+TRANSFERS\s+JOBS\s+RESTARTS/);
    expect(run.stdout).toMatch(/httpd\s+running\s+\d+\s+1\s+0/);
    expect(run.stdout).toMatch(/ftpd\s+running\s+\d+\s+0\s+0/);

    const json = JSON.parse((await cli(['status', '--json'], { env })).stdout);
    expect(json.node.state).toBe('running');
    expect(json.components.map((c: { id: string }) => c.id)).toEqual(['httpd', 'ftpd', 'tm']);
  });

  it('transfers lists what is moving', async () => {
    expect((await cli(['transfers'], { env })).stdout).toBe('no active transfers\n');
    api.node.beginTransfer('httpd', { path: '/in/a.bin', account: 'acme' });
    const run = await cli(['transfers'], { env });
    expect(run.stdout).toMatch(/httpd\s+acme\s+192\.0\.2\.7\s+upload\s+\/in\/a\.bin/);
    expect(JSON.parse((await cli(['transfers', '--json'], { env })).stdout)).toHaveLength(1);
  });

  it('history lists finished transfers', async () => {
    await api.store.history.record({
      id: 'h1',
      component: 'ftpd',
      protocol: 'ftp',
      account: 'acme',
      remoteAddress: null,
      path: '/in/cut.bin',
      direction: 'upload',
      bytes: 2048,
      size: 4096,
      outcome: 'interrupted',
      reason: 'drain deadline reached',
      startedAt: '2024-05-01T10:00:00Z',
      endedAt: '2024-05-01T10:05:00Z',
    });
    const run = await cli(['history'], { env });
    expect(run.stdout).toMatch(/2024-05-01T10:05:00\.000Z\s+ftpd\s+acme\s+upload\s+\/in\/cut\.bin\s+2\.0 KiB\s+interrupted\s+drain deadline reached/);
    expect(JSON.parse((await cli(['history', '--json'], { env })).stdout)[0].id).toBe('h1');
  });
});

describe('accounts', () => {
  const SECRET = 'n0t-on-the-command-line';

  it('adds (password from stdin, home, SSH key), lists, changes the password and removes', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
    await writeFile(join(cwd, 'acme.pub'), `# acme's key\n${ed25519PublicKeyLine('acme@host')}\n`);
    const added = await cli(['accounts', 'add', 'acme', '--password-stdin', '--home', 'homes/acme', '--ssh-key', 'acme.pub'], { env, cwd, stdin: `${SECRET}\n` });
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`account acme created, home ${join(cwd, 'homes', 'acme')}`);
    expect(added.stdout).toMatch(/SSH key SHA256:/);
    expect(await api.store.accounts.verifyPassword('acme', SECRET)).toBeDefined();

    const list = await cli(['accounts', 'list'], { env });
    expect(list.stdout).toMatch(/acme\s+yes\s+\S+\s+\/.*homes\/acme/);

    const changed = await cli(['accounts', 'passwd', 'acme', '--password-stdin'], { env, stdin: 'second secret\r\nignored' });
    expect(changed.code).toBe(0);
    expect(await api.store.accounts.verifyPassword('acme', 'second secret')).toBeDefined();

    const removed = await cli(['accounts', 'remove', 'acme'], { env });
    expect(removed.code).toBe(0);
    expect((await cli(['accounts', 'list'], { env })).stdout).toBe('no accounts\n');
    expect(JSON.stringify([added, list, changed, removed])).not.toContain(SECRET);
  });

  it('refuses a password anywhere but stdin', async () => {
    const run = await cli(['accounts', 'add', 'acme'], { env, stdin: `${SECRET}\n` });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--password-stdin');
    expect(await api.store.accounts.list()).toEqual([]);
  });

  it('keeps nothing when an SSH key is refused', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
    await writeFile(join(cwd, 'bad.pub'), 'ssh-ed25519 AAAAbroken\n');
    const run = await cli(['accounts', 'add', 'acme', '--password-stdin', '--ssh-key', 'bad.pub'], { env, cwd, stdin: SECRET });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('FERRY_ERR_BAD_REQUEST');
    expect(await api.store.accounts.list()).toEqual([]);
  });

  it('reports a taken name and an unknown account', async () => {
    await cli(['accounts', 'add', 'acme', '--password-stdin'], { env, stdin: SECRET });
    expect((await cli(['accounts', 'add', 'acme', '--password-stdin'], { env, stdin: SECRET })).stderr).toContain('FERRY_ERR_ACCOUNT_EXISTS');
    const run = await cli(['accounts', 'remove', 'nobody'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no account named "nobody" [FERRY_ERR_ACCOUNT_NOT_FOUND]');
  });
});

describe('finding the node', () => {
  /** A port nobody listens on: bound once, then released. */
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  it('exits 3 with a clear message and where it looked when no node runs', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
    const port = await closedPort();
    await writeFile(join(cwd, 'ferry.yaml'), `dataDir: ./data\nadmin: {port: ${port}}\n`);
    const run = await cli(['stop_httpd', '-g', '-timeout', '60'], { cwd });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`the node does not seem to run: nothing answers at http://127.0.0.1:${port}`);
    expect(run.stderr).toContain(`config ${join(cwd, 'ferry.yaml')} (./ferry.yaml)`);
    expect(run.stderr).toContain(`${join(cwd, 'data', 'node.json')}: absent`);
  });

  it('explains a token the node does not accept', async () => {
    await writeFile(join(api.dataDir, 'admin.token'), 'fry_from-another-node\n');
    const run = await cli(['status'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`the token in ${join(api.dataDir, 'admin.token')} was not accepted`);
  });
});
