import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, curl, eventually, PASSWORD, randomFile, sha256, sha256File, startHttpd, USER, type Harness } from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startHttpd();
});

afterAll(async () => {
  await h.close();
});

async function put(path: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const res = await request(`${h.base}${path}`, { method: 'PUT', headers: { authorization: AUTH, ...headers }, body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function get(path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const res = await request(`${h.base}${path}`, { method, headers: { authorization: AUTH, ...headers } });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

async function call(method: string, path: string, headers: Record<string, string> = {}) {
  const res = await request(`${h.base}${path}`, { method, headers: { authorization: AUTH, ...headers } });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: text ? (JSON.parse(text) as { code?: string; message?: string }) : undefined };
}

describe('upload and download', () => {
  for (const size of [0, 1, 1024 * 1024, 20 * 1024 * 1024]) {
    it(`round-trips ${size} bytes byte-identical (undici)`, async () => {
      const { data } = await randomFile(h.dir, `src-${size}`, size);
      const name = `/files/u-${size}.bin`;
      const created = await put(name, data);
      expect(created.status).toBe(201);
      expect(created.headers.location).toBe(name);
      expect(sha256(await readFile(join(h.home, `u-${size}.bin`)))).toBe(sha256(data));
      const back = await get(name);
      expect(back.status).toBe(200);
      expect(back.headers['content-length']).toBe(String(size));
      expect(back.headers['accept-ranges']).toBe('bytes');
      expect(back.headers['last-modified']).toBeTypeOf('string');
      expect(sha256(back.body)).toBe(sha256(data));
    });
  }

  for (const size of [0, 1, 1024 * 1024, 20 * 1024 * 1024]) {
    it(`round-trips ${size} bytes byte-identical (curl -T / -o)`, async () => {
      const src = await randomFile(h.dir, `curl-src-${size}`, size);
      const up = await curl(['-u', `${USER}:${PASSWORD}`, '-T', src.path, `${h.base}/files/c-${size}.bin`], { status: true });
      expect(up.status).toBe(201);
      const out = join(h.dir, `curl-out-${size}`);
      const down = await curl(['-u', `${USER}:${PASSWORD}`, '-o', out, `${h.base}/files/c-${size}.bin`], { status: true });
      expect(down.status).toBe(200);
      expect(await sha256File(out)).toBe(sha256(src.data));
    });
  }

  it('answers 201 on create and 204 on replace, and the replacement wins', async () => {
    expect((await put('/files/replace.txt', 'one')).status).toBe(201);
    expect((await put('/files/replace.txt', 'two!')).status).toBe(204);
    expect(await readFile(join(h.home, 'replace.txt'), 'utf8')).toBe('two!');
  });

  it('records each transfer in the history as completed', async () => {
    await put('/files/history.txt', 'hello');
    await get('/files/history.txt');
    await eventually(async () => {
      const rows = await h.store.history.list({ component: 'httpd' });
      return rows.filter((r) => r.path === '/history.txt' && r.outcome === 'completed').length === 2;
    });
    const rows = (await h.store.history.list({ component: 'httpd' })).filter((r) => r.path === '/history.txt');
    expect(rows.map((r) => r.direction).sort()).toEqual(['download', 'upload']);
    expect(rows.every((r) => r.account === USER && r.protocol === 'http' && r.bytes === 5)).toBe(true);
  });

  it('resumes a PUT with Content-Range', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const first = await put('/files/resumed.txt', data.subarray(0, 8), { 'content-range': 'bytes 0-7/20' });
    expect(first.status).toBe(202);
    expect(first.headers['upload-offset']).toBe('8');
    const probe = await get('/files/resumed.txt', {}, 'HEAD');
    expect(probe.status).toBe(404);
    expect(probe.headers['upload-offset']).toBe('8');
    await expect(stat(join(h.home, 'resumed.txt'))).rejects.toThrow();
    const wrong = await put('/files/resumed.txt', data.subarray(12), { 'content-range': 'bytes 12-*/*' });
    expect(wrong.status).toBe(409);
    const rest = await put('/files/resumed.txt', data.subarray(8), { 'content-range': 'bytes 8-*/*' });
    expect(rest.status).toBe(201);
    expect(await readFile(join(h.home, 'resumed.txt'))).toEqual(data);
  });

  it('refuses a PUT onto a directory and into a missing directory', async () => {
    await mkdir(join(h.home, 'adir'), { recursive: true });
    const onDir = await put('/files/adir', 'x');
    expect(onDir.status).toBe(409);
    expect(JSON.parse(onDir.text).code).toBe('FERRY_ERR_IS_A_DIRECTORY');
    const missing = await put('/files/nowhere/x.txt', 'x');
    expect(missing.status).toBe(404);
  });
});

describe('ranges', () => {
  const data = Buffer.from('abcdefghijklmnopqrstuvwxyz');

  beforeAll(async () => {
    await writeFile(join(h.home, 'alpha.txt'), data);
  });

  it('serves a range with 206 and Content-Range', async () => {
    const res = await get('/files/alpha.txt', { range: 'bytes=2-5' });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe('bytes 2-5/26');
    expect(res.headers['content-length']).toBe('4');
    expect(res.body.toString()).toBe('cdef');
  });

  it('serves open and suffix ranges', async () => {
    expect((await get('/files/alpha.txt', { range: 'bytes=20-' })).body.toString()).toBe('uvwxyz');
    const suffix = await get('/files/alpha.txt', { range: 'bytes=-3' });
    expect(suffix.headers['content-range']).toBe('bytes 23-25/26');
    expect(suffix.body.toString()).toBe('xyz');
    expect((await get('/files/alpha.txt', { range: 'bytes=24-1000' })).body.toString()).toBe('yz');
  });

  it('answers 416 for a range beyond the end', async () => {
    const res = await get('/files/alpha.txt', { range: 'bytes=26-30' });
    expect(res.status).toBe(416);
    expect(res.headers['content-range']).toBe('bytes */26');
  });

  it('ignores multiple ranges and sends the whole file', async () => {
    const res = await get('/files/alpha.txt', { range: 'bytes=0-1,4-5' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(data);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const res = await get('/files/alpha.txt', {}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('26');
    expect(res.body.length).toBe(0);
  });

  it('works with curl -r', async () => {
    const res = await curl(['-u', `${USER}:${PASSWORD}`, '-r', '0-2', `${h.base}/files/alpha.txt`], { status: true });
    expect(res.status).toBe(206);
    expect(res.stdout).toBe('abc');
  });
});

describe('directories', () => {
  it('lists a directory as JSON, partial files hidden', async () => {
    await mkdir(join(h.home, 'list/sub'), { recursive: true });
    await writeFile(join(h.home, 'list/b.txt'), 'bb');
    await writeFile(join(h.home, 'list/.c.txt.ferry-partial'), 'partial');
    const res = await call('GET', '/files/list');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(res.text) as { path: string; entries: { name: string; type: string; size: number; mtime: string }[] };
    expect(body.path).toBe('/list');
    expect(body.entries.map((e) => [e.name, e.type])).toEqual([
      ['b.txt', 'file'],
      ['sub', 'directory'],
    ]);
    expect(body.entries[0]?.size).toBe(2);
    expect(Number.isNaN(Date.parse(body.entries[0]?.mtime ?? ''))).toBe(false);
  });

  it('lists the home at /files and /files/', async () => {
    for (const path of ['/files', '/files/']) {
      const res = await call('GET', path);
      expect(res.status).toBe(200);
      expect((JSON.parse(res.text) as { path: string }).path).toBe('/');
    }
  });

  it('creates, renames and removes directories and files', async () => {
    expect((await call('MKCOL', '/files/made')).status).toBe(201);
    expect((await call('MKCOL', '/files/made')).status).toBe(409);
    expect((await stat(join(h.home, 'made'))).isDirectory()).toBe(true);

    await put('/files/made/f.txt', 'file');
    expect((await call('DELETE', '/files/made')).status).toBe(409);
    const moved = await call('MOVE', '/files/made/f.txt', { destination: '/files/made/g.txt' });
    expect(moved.status).toBe(201);
    expect(await readdir(join(h.home, 'made'))).toEqual(['g.txt']);
    const byUrl = await call('MOVE', '/files/made/g.txt', { destination: `${h.base}/files/moved.txt` });
    expect(byUrl.status).toBe(201);
    expect(await readFile(join(h.home, 'moved.txt'), 'utf8')).toBe('file');

    await put('/files/other.txt', 'other');
    expect((await call('MOVE', '/files/other.txt', { destination: '/files/moved.txt', overwrite: 'F' })).status).toBe(409);
    expect((await call('MOVE', '/files/other.txt', { destination: '/files/moved.txt' })).status).toBe(204);
    expect(await readFile(join(h.home, 'moved.txt'), 'utf8')).toBe('other');

    expect((await call('DELETE', '/files/moved.txt')).status).toBe(204);
    expect((await call('DELETE', '/files/made')).status).toBe(204);
    await expect(stat(join(h.home, 'made'))).rejects.toThrow();
    const gone = await call('DELETE', '/files/made');
    expect(gone.status).toBe(404);
    expect(gone.json?.code).toBe('FERRY_ERR_NOT_FOUND');
  });

  it('refuses MOVE without a Destination or out of /files', async () => {
    await put('/files/stay.txt', 'x');
    expect((await call('MOVE', '/files/stay.txt')).status).toBe(400);
    expect((await call('MOVE', '/files/stay.txt', { destination: '/elsewhere/stay.txt' })).status).toBe(400);
    expect((await call('MOVE', '/files/stay.txt', { destination: '/files/../stay.txt' })).status).toBe(403);
  });
});

describe('authentication', () => {
  it('asks for Basic credentials', async () => {
    const res = await request(`${h.base}/files/`, { method: 'GET' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm="ferry"/);
    expect(((await res.body.json()) as { code: string }).code).toBe('FERRY_ERR_AUTH_FAILED');
  });

  it('refuses a wrong password and writes nothing', async () => {
    const res = await request(`${h.base}/files/intruder.txt`, {
      method: 'PUT',
      headers: { authorization: `Basic ${Buffer.from(`${USER}:wrong`).toString('base64')}` },
      body: 'x',
    });
    expect(res.statusCode).toBe(401);
    await res.body.dump();
    await expect(stat(join(h.home, 'intruder.txt'))).rejects.toThrow();
  });

  it('refuses an unknown scheme', async () => {
    const res = await call('GET', '/files/', { authorization: 'Bearer abc' });
    expect(res.status).toBe(401);
  });
});

describe('paths', () => {
  const attempts = ['/files/../escaped.txt', '/files/%2e%2e/escaped.txt', '/files/a/%2E%2E/%2e%2e/escaped.txt', '/files/..%2fescaped.txt', '/files/x%2f..%2f..%2fescaped.txt', '/files/%2e%2e%5cescaped.txt'];

  for (const target of attempts) {
    it(`refuses ${target} and writes nothing`, async () => {
      const res = await curl(['--path-as-is', '-u', `${USER}:${PASSWORD}`, '-X', 'PUT', '--data-binary', 'evil', `${h.base}${target}`], { status: true });
      expect([400, 403, 404]).toContain(res.status);
      expect(res.status).not.toBe(201);
      expect(res.stdout).not.toContain(h.dir);
      expect(await readdir(h.dir)).not.toContain('escaped.txt');
      expect(await readdir(h.home)).not.toContain('escaped.txt');
    });
  }

  it('answers unknown URLs with 404 JSON', async () => {
    const res = await call('GET', '/nothing-here');
    expect(res.status).toBe(404);
    expect(res.json?.code).toBe('FERRY_ERR_NOT_FOUND');
  });

  it('handles names that need percent-encoding', async () => {
    const res = await put('/files/with%20space%20%26%20%C3%A9.txt', 'ok');
    expect(res.status).toBe(201);
    expect(await readFile(join(h.home, 'with space & é.txt'), 'utf8')).toBe('ok');
    const back = await get('/files/with%20space%20%26%20%C3%A9.txt');
    expect(back.body.toString()).toBe('ok');
  });

  it('never shows host paths in error messages', async () => {
    const res = await call('GET', '/files/does/not/exist');
    expect(res.status).toBe(404);
    expect(res.text).not.toContain(h.home);
  });
});
