import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, request } from 'undici';
import { makeDir, runCli, startNode, type RunningNode } from './harness.js';

describe('bad input gets a clear error and loses nothing', () => {
  it('a wrong config value names the key, the value and what is allowed; the node does not start', async () => {
    const dir = await makeDir();
    const file = join(dir, 'ferry.yaml');
    await writeFile(file, `dataDir: ${join(dir, 'data')}\nhttpd: {port: 0, gracefulShutdownTimeout: soon}\nlog: {level: loud}\n`);
    const result = await runCli(['start', '-c', file], { cwd: dir });
    expect(result.code).not.toBe(0);
    const text = result.stderr + result.stdout;
    expect(text).toContain('httpd.gracefulShutdownTimeout');
    expect(text).toContain('"soon"');
    expect(text).toMatch(/30s/);
    expect(text).toContain('log.level');
    expect(text).toContain('debug');
  });

  describe('on a running node', () => {
    let node: RunningNode;
    let home: string;
    beforeAll(async () => {
      node = await startNode();
      home = join(node.dir, 'carol');
      expect((await node.api('POST', '/api/v1/accounts', { name: 'carol', password: 'pw-carol-123', home })).status).toBe(201);
      await mkdir(join(node.dir, 'outside'), { recursive: true });
    });
    afterAll(async () => node?.stop());

    it('an unauthenticated or wrongly authenticated API call is refused', async () => {
      for (const headers of [{}, { authorization: 'Bearer fry_not-a-token' }, { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }]) {
        const res = await request(`${node.adminUrl}/api/v1/components`, { headers });
        expect(res.statusCode).toBe(401);
        expect(((await res.body.json()) as { code: string }).code).toBe('FERRY_ERR_UNAUTHORIZED');
      }
      const post = await request(`${node.adminUrl}/api/v1/components/httpd/stop`, { method: 'POST' });
      expect(post.statusCode).toBe(401);
      await post.body.text();
      expect((await node.api<{ state: string }>('GET', '/api/v1/components/httpd')).body.state).toBe('running');
    });

    it('path traversal on httpd is refused and writes nothing', async () => {
      const base = await node.httpdUrl();
      const auth = `Basic ${Buffer.from('carol:pw-carol-123').toString('base64')}`;
      // A raw client: a URL parser would normalize the dots away before they reach the server.
      const client = new Client(base);
      for (const path of ['/files/../outside/x.txt', '/files/%2e%2e/outside/x.txt', '/files/a/..%2f..%2foutside%2fx.txt', '/files/%2e%2e%2foutside%2fx.txt', '/files/../../../tmp/x.txt']) {
        const res = await client.request({ path, method: 'PUT', headers: { authorization: auth }, body: 'evil' });
        await res.body.text();
        expect([400, 403]).toContain(res.statusCode);
      }
      await client.close();
      expect(await readdir(join(node.dir, 'outside'))).toEqual([]);
      const res = await request(`${base}/files/ok.txt`, { method: 'PUT', headers: { authorization: auth }, body: 'fine' });
      await res.body.text();
      expect(res.statusCode).toBe(201);
      expect(await readdir(home)).toContain('ok.txt');
    });
  });
});
