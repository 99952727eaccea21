import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { COMPONENT_V8_FLAGS } from '@ferry/node';
import { ROOT, isAlive, startNode, until, yamlConfig, type RunningNode } from './harness.js';

const AUTH = `Basic ${Buffer.from('bob:s3cret-pass').toString('base64')}`;

interface View {
  state: string;
  pid: number | null;
  restarts: number;
  note: string | null;
}

describe('node lifecycle with real processes', () => {
  let node: RunningNode;
  let home: string;

  beforeAll(async () => {
    const stubborn = join(ROOT, 'test/fixtures/stubborn-component.mjs');
    node = await startNode({
      config: (dataDir) =>
        yamlConfig(dataDir, `node: {restartDelay: 200ms, killTimeout: 2s, customComponents: {stubborn: {module: ${stubborn}, ackTimeout: 1s}}}`),
    });
    home = join(node.dir, 'bob');
    const added = await node.cli(['accounts', 'add', 'bob', '--password-stdin', '--home', home], { input: 's3cret-pass\n' });
    expect(added.code, added.stderr).toBe(0);
  });

  afterAll(async () => {
    await node?.stop();
  });

  const view = async (id: string): Promise<View> => (await node.api<View>('GET', `/api/v1/components/${id}`)).body;

  it('suspend refuses operations, resume accepts them again', async () => {
    const base = await node.httpdUrl();
    const put = async (name: string) => {
      const res = await request(`${base}/files/${name}`, { method: 'PUT', headers: { authorization: AUTH }, body: 'data' });
      await res.body.text();
      return res;
    };
    expect((await put('before.txt')).statusCode).toBe(201);

    const suspended = await node.cli(['suspend', 'httpd']);
    expect(suspended.code, suspended.stderr).toBe(0);
    expect((await view('httpd')).state).toBe('drained');
    const refused = await put('during.txt');
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(existsSync(join(home, 'during.txt'))).toBe(false);
    expect((await request(`${node.adminUrl}/readyz`)).statusCode).toBe(503);

    const resumed = await node.cli(['resume', 'httpd']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await view('httpd')).state).toBe('running');
    expect((await put('after.txt')).statusCode).toBe(201);
    expect((await request(`${node.adminUrl}/readyz`)).statusCode).toBe(200);
  });

  it('components run with the V8 flags the node gives them (see servers/node/src/v8-flags.ts)', async () => {
    const { pid } = await view('httpd');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toEqual(expect.arrayContaining([...COMPONENT_V8_FLAGS]));
  });

  it('kill -9 of the httpd child: the monitor restarts it', async () => {
    const before = await view('httpd');
    process.kill(before.pid!, 'SIGKILL');
    await until(async () => {
      const v = await view('httpd');
      return v.state === 'running' && v.pid !== null && v.pid !== before.pid;
    }, 15_000, 'httpd to be restarted');
    expect((await view('httpd')).restarts).toBe(before.restarts + 1);
  });

  it('immediate stop: stopped at once and not restarted', async () => {
    const pid = (await view('httpd')).pid!;
    const stopped = await node.cli(['stop', 'httpd']);
    expect(stopped.code, stopped.stderr).toBe(0);
    await until(() => !isAlive(pid), 5000, 'httpd to exit');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await view('httpd')).toMatchObject({ state: 'stopped', pid: null });
    const again = await node.cli(['stop', 'httpd', '-g']);
    expect(again.code).toBe(0);
  });

  it('a component that never acknowledges draining is stopped the ordinary way', async () => {
    const before = await view('stubborn');
    expect(before.state).toBe('running');
    const t0 = Date.now();
    const stopped = await node.cli(['stop', 'stubborn', '-g', '-timeout', '60']);
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(0);
    // ackTimeout is 1 s: far sooner than the 60 s drain it was asked for.
    expect(Date.now() - t0).toBeLessThan(8000);
    const after = await view('stubborn');
    expect(after.state).toBe('stopped');
    expect(after.note).toMatch(/acknowledge/);
    expect(isAlive(before.pid!)).toBe(false);
  });
});
