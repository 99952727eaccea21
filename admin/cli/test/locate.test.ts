import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { locateNode } from '../src/locate.js';
import { SECTIONS } from './support/cli.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-locate-'));
});

const locate = (options: { configFlag?: string; env?: Record<string, string>; cwd?: string } = {}) =>
  locateNode({ env: options.env ?? {}, cwd: options.cwd ?? dir, sections: SECTIONS, ...(options.configFlag ? { configFlag: options.configFlag } : {}) });

/** A pid that surely is not running any more: a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid;
}

describe('locateNode', () => {
  it('uses the built-in defaults without a config file', async () => {
    const found = await locate();
    expect(found).toMatchObject({ adminUrl: 'http://127.0.0.1:9090', dataDir: join(dir, 'data'), configFile: null, token: undefined });
    expect(found.tokenProblem).toContain(join(dir, 'data', 'admin.token'));
    expect(found.looked.join('\n')).toContain('built-in defaults');
  });

  it('reads ./ferry.yaml in the working directory', async () => {
    await writeFile(join(dir, 'ferry.yaml'), 'dataDir: ./var\nadmin: {port: 9191}\n');
    expect(await locate()).toMatchObject({ adminUrl: 'http://127.0.0.1:9191', dataDir: join(dir, 'var'), configFile: join(dir, 'ferry.yaml') });
  });

  it('prefers -c over FERRY_CONFIG over ./ferry.yaml', async () => {
    await writeFile(join(dir, 'ferry.yaml'), 'admin: {port: 1001}\n');
    await writeFile(join(dir, 'env.yaml'), 'admin: {port: 1002}\n');
    await writeFile(join(dir, 'flag.yaml'), 'admin: {port: 1003, host: "::"}\n');
    expect((await locate({ env: { FERRY_CONFIG: 'env.yaml' } })).adminUrl).toBe('http://127.0.0.1:1002');
    expect((await locate({ env: { FERRY_CONFIG: 'env.yaml' }, configFlag: 'flag.yaml' })).adminUrl).toBe('http://[::1]:1003');
  });

  it('applies the same env overrides as the node', async () => {
    const found = await locate({ env: { FERRY_ADMIN__PORT: '9555', FERRY_DATA_DIR: '/srv/ferry' } });
    expect(found).toMatchObject({ adminUrl: 'http://127.0.0.1:9555', dataDir: '/srv/ferry' });
  });

  it('uses the admin URL of node.json while its pid lives, and reads the token', async () => {
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'node.json'), JSON.stringify({ pid: process.pid, adminUrl: 'http://127.0.0.1:41234/', startedAt: 'x' }));
    await writeFile(join(dir, 'data', 'admin.token'), 'fry_abc\n');
    const found = await locate();
    expect(found).toMatchObject({ adminUrl: 'http://127.0.0.1:41234', token: 'fry_abc' });
    expect(found.tokenProblem).toBeUndefined();
  });

  it('ignores a node.json whose pid is dead', async () => {
    const pid = deadPid();
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'node.json'), JSON.stringify({ pid, adminUrl: 'http://127.0.0.1:41234', startedAt: 'x' }));
    const found = await locate();
    expect(found.adminUrl).toBe('http://127.0.0.1:9090');
    expect(found.looked.join('\n')).toContain(`stale (pid ${pid} is not running)`);
  });

  it('ignores a node.json that is not one', async () => {
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'node.json'), '{"half":');
    expect((await locate()).adminUrl).toBe('http://127.0.0.1:9090');
  });

  it('reports a config file that is missing or wrong, naming it', async () => {
    await expect(locate({ configFlag: 'nope.yaml' })).rejects.toMatchObject({ code: 'FERRY_ERR_CONFIG_FILE', message: expect.stringContaining('nope.yaml') });
    await writeFile(join(dir, 'bad.yaml'), 'admin: {port: 70000}\n');
    await expect(locate({ configFlag: 'bad.yaml' })).rejects.toMatchObject({ code: 'FERRY_ERR_CONFIG_INVALID', message: expect.stringContaining('admin.port') });
  });
});
