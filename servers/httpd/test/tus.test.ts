import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, eventually, sha256, startHttpd, type Harness } from './helpers.js';

const TUS = { 'tus-resumable': '1.0.0' };
const CHUNK_LIMIT = 64 * 1024;

let h: Harness;

beforeAll(async () => {
  h = await startHttpd({ uploadChunkSize: CHUNK_LIMIT });
});

afterAll(async () => {
  await h.close();
});

function meta(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

async function tus(method: string, url: string, headers: Record<string, string> = {}, body?: Buffer | Readable) {
  const res = await request(url.startsWith('http') ? url : `${h.base}${url}`, {
    method: method as 'GET',
    headers: { authorization: AUTH, ...TUS, ...headers },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

async function create(length: number, target: Record<string, string>): Promise<string> {
  const res = await tus('POST', '/uploads', { 'upload-length': String(length), 'upload-metadata': meta(target) });
  expect(res.status).toBe(201);
  expect(res.headers['tus-resumable']).toBe('1.0.0');
  const location = res.headers.location;
  expect(location).toMatch(/^\/uploads\/[\w-]+\.[\w-]+$/);
  return location as string;
}

async function patch(location: string, offset: number, chunk: Buffer) {
  return tus('PATCH', location, { 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) }, chunk);
}

async function offsetOf(location: string): Promise<number> {
  const res = await tus('HEAD', location);
  expect(res.status).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  return Number(res.headers['upload-offset']);
}

describe('tus 1.0.0', () => {
  it('announces itself on OPTIONS, without credentials', async () => {
    const res = await request(`${h.base}/uploads`, { method: 'OPTIONS' });
    await res.body.dump();
    expect(res.statusCode).toBe(204);
    expect(res.headers['tus-version']).toBe('1.0.0');
    expect(res.headers['tus-extension']).toBe('creation,termination');
    expect(res.headers['tus-max-size']).toBeUndefined();
  });

  it('refuses requests without Tus-Resumable or Upload-Length', async () => {
    const noVersion = await request(`${h.base}/uploads`, { method: 'POST', headers: { authorization: AUTH, 'upload-length': '1' } });
    await noVersion.body.dump();
    expect(noVersion.statusCode).toBe(412);
    expect(noVersion.headers['tus-version']).toBe('1.0.0');
    const noLength = await tus('POST', '/uploads', { 'upload-metadata': meta({ filename: 'x' }) });
    expect(noLength.status).toBe(400);
    const noTarget = await tus('POST', '/uploads', { 'upload-length': '1' });
    expect(noTarget.status).toBe(400);
  });

  it('uploads in chunks and commits when the offset reaches Upload-Length', async () => {
    const data = randomBytes(150 * 1024);
    const location = await create(data.length, { filename: 'chunked.bin' });
    expect(await offsetOf(location)).toBe(0);
    const head = await tus('HEAD', location);
    expect(head.headers['upload-length']).toBe(String(data.length));
    let offset = 0;
    while (offset < data.length) {
      const chunk = data.subarray(offset, offset + CHUNK_LIMIT);
      const res = await patch(location, offset, chunk);
      expect(res.status).toBe(204);
      offset += chunk.length;
      expect(res.headers['upload-offset']).toBe(String(offset));
      if (offset < data.length) await expect(stat(join(h.home, 'chunked.bin'))).rejects.toThrow();
    }
    expect(sha256(await readFile(join(h.home, 'chunked.bin')))).toBe(sha256(data));
    // Finished: the upload resource is gone.
    expect((await tus('HEAD', location)).status).toBe(404);
    await eventually(async () => (await h.store.history.list()).filter((r) => r.path === '/chunked.bin' && r.outcome === 'completed').length === 3);
  });

  it('takes a target path from the metadata', async () => {
    await request(`${h.base}/files/inbox`, { method: 'MKCOL', headers: { authorization: AUTH } }).then((r) => r.body.dump());
    const location = await create(3, { path: '/inbox/deep.txt', filename: 'ignored.txt' });
    expect((await patch(location, 0, Buffer.from('abc'))).status).toBe(204);
    expect(await readFile(join(h.home, 'inbox/deep.txt'), 'utf8')).toBe('abc');
  });

  it('refuses traversal in the metadata path', async () => {
    const res = await tus('POST', '/uploads', { 'upload-length': '1', 'upload-metadata': meta({ path: '../outside.txt' }) });
    expect(res.status).toBe(403);
    const name = await tus('POST', '/uploads', { 'upload-length': '1', 'upload-metadata': meta({ filename: 'a/b' }) });
    expect(name.status).toBe(400);
  });

  it('creates an empty file at once for Upload-Length 0', async () => {
    await create(0, { filename: 'empty.bin' });
    expect((await stat(join(h.home, 'empty.bin'))).size).toBe(0);
  });

  it('answers 409 to a wrong offset and 415 to a wrong content type', async () => {
    const location = await create(10, { filename: 'strict.bin' });
    expect((await patch(location, 3, Buffer.from('abc'))).status).toBe(409);
    const wrongType = await tus('PATCH', location, { 'content-type': 'application/octet-stream', 'upload-offset': '0' }, Buffer.from('abc'));
    expect(wrongType.status).toBe(415);
    expect(await offsetOf(location)).toBe(0);
  });

  it('refuses a chunk over uploadChunkSize with 413 and writes nothing beyond the limit', async () => {
    const location = await create(4 * CHUNK_LIMIT, { filename: 'big-chunk.bin' });
    // Announced by Content-Length: refused before a byte is written.
    const declared = await patch(location, 0, randomBytes(CHUNK_LIMIT + 1));
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.text).code).toBe('FERRY_ERR_TOO_LARGE');
    expect(await offsetOf(location)).toBe(0);
    // Chunked (no Content-Length): cut at the limit.
    const data = randomBytes(2 * CHUNK_LIMIT);
    const chunked = await tus(
      'PATCH',
      location,
      { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      Readable.from([data.subarray(0, CHUNK_LIMIT / 2), data.subarray(CHUNK_LIMIT / 2)]),
    ).catch(() => ({ status: 0, headers: {}, text: '' }));
    // The server closes after answering; the client may or may not have seen the 413 first.
    if (chunked.status !== 0) expect(chunked.status).toBe(413);
    const after = await offsetOf(location);
    expect(after).toBeLessThanOrEqual(CHUNK_LIMIT);
    const partial = await readFile(join(h.home, '.big-chunk.bin.ferry-partial'));
    expect(partial.length).toBe(after);
    expect(partial).toEqual(data.subarray(0, after));
  });

  it('resumes after a chunk cut by the client', async () => {
    const data = randomBytes(48 * 1024);
    const location = await create(data.length, { filename: 'resume.bin' });
    // A raw client that sends half its chunk and vanishes.
    const socket = connect(h.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `PATCH ${location} HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nTus-Resumable: 1.0.0\r\n` +
        `Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: ${data.length}\r\n\r\n`,
    );
    const sent = 20 * 1024;
    socket.write(data.subarray(0, sent));
    await eventually(() => h.runtime.transfers.list().some((t) => t.path === '/resume.bin' && t.bytes === sent));
    socket.destroy();
    await eventually(async () => (await h.store.history.list()).some((r) => r.path === '/resume.bin' && r.outcome === 'interrupted'));
    expect(await offsetOf(location)).toBe(sent);
    await expect(stat(join(h.home, 'resume.bin'))).rejects.toThrow();
    const rest = await patch(location, sent, data.subarray(sent));
    expect(rest.status).toBe(204);
    expect(sha256(await readFile(join(h.home, 'resume.bin')))).toBe(sha256(data));
  });

  it('terminates an upload with DELETE', async () => {
    const location = await create(10, { filename: 'dropped.bin' });
    await patch(location, 0, Buffer.from('abcde'));
    expect((await tus('DELETE', location)).status).toBe(204);
    expect((await tus('HEAD', location)).status).toBe(404);
    await expect(stat(join(h.home, '.dropped.bin.ferry-partial'))).rejects.toThrow();
    expect((await tus('DELETE', location)).status).toBe(404);
  });

  it('treats a tampered id or another account as unknown', async () => {
    const location = await create(10, { filename: 'mine.bin' });
    const [payload, mac] = location.slice('/uploads/'.length).split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify(JSON.parse(Buffer.from(payload, 'base64url').toString()).map((v: unknown) => (v === '/mine.bin' ? '/theirs.bin' : v))));
    expect((await tus('HEAD', `/uploads/${forged.toString('base64url')}.${mac}`)).status).toBe(404);
    expect((await tus('HEAD', '/uploads/garbage')).status).toBe(404);
    await h.store.accounts.create({ name: 'bob', password: 'bob password 1', home: join(h.dir, 'bob') });
    const bob = `Basic ${Buffer.from('bob:bob password 1').toString('base64')}`;
    expect((await tus('HEAD', location, { authorization: bob })).status).toBe(404);
  });

  it('keeps its HMAC key in <dataDir>/httpd.secret, mode 0600', async () => {
    const info = await stat(join(h.dataDir, 'httpd.secret'));
    expect(info.mode & 0o777).toBe(0o600);
  });

  it('resumes across a restart (the id is stateless)', async () => {
    const data = randomBytes(10_000);
    const location = await create(data.length, { filename: 'restart.bin' });
    expect((await patch(location, 0, data.subarray(0, 4000))).status).toBe(204);
    await h.runtime.gracefulStop();
    expect(h.runtime.state).toBe('stopped');
    await h.runtime.start();
    const port = h.runtime.listening[0]?.port;
    h.base = `http://127.0.0.1:${port}`;
    h.port = port ?? 0;
    expect(await offsetOf(location)).toBe(4000);
    expect((await patch(location, 4000, data.subarray(4000))).status).toBe(204);
    expect(sha256(await readFile(join(h.home, 'restart.bin')))).toBe(sha256(data));
  });
});

describe('tus with a maximum size', () => {
  let limited: Harness;
  beforeAll(async () => {
    limited = await startHttpd({ maxUploadSize: '1KiB' });
  });
  afterAll(async () => {
    await limited.close();
  });

  it('announces Tus-Max-Size and refuses larger uploads', async () => {
    const options = await request(`${limited.base}/uploads`, { method: 'OPTIONS' });
    await options.body.dump();
    expect(options.headers['tus-max-size']).toBe('1024');
    const res = await request(`${limited.base}/uploads`, {
      method: 'POST',
      headers: { authorization: AUTH, ...TUS, 'upload-length': '1025', 'upload-metadata': meta({ filename: 'x' }) },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(413);
    const put = await request(`${limited.base}/files/too-big.bin`, { method: 'PUT', headers: { authorization: AUTH }, body: randomBytes(2000) });
    await put.body.dump();
    expect(put.statusCode).toBe(413);
  });
});
