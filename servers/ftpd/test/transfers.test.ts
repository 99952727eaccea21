import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curlArgs, eventually, lftp, PASSWORD, randomFile, run, sha256, sha256File, startFtpd, USER, type Harness, type Mode } from './helpers.js';

/** 0 B, 1 B, 1 MiB and 100 MiB, byte-identical both ways, with three clients in three modes. */
const SIZES: readonly [string, number][] = [
  ['0B', 0],
  ['1B', 1],
  ['1MiB', 1024 * 1024],
  ['100MiB', 100 * 1024 * 1024],
];
const MODES: readonly Mode[] = ['plain', 'explicit', 'implicit'];

let h: Harness;
const sources = new Map<string, { path: string; hash: string }>();

beforeAll(async () => {
  h = await startFtpd();
  for (const [name, size] of SIZES) {
    const file = await randomFile(h.dir, `src-${name}.bin`, size);
    sources.set(name, { path: file.path, hash: sha256(file.data) });
  }
});

afterAll(async () => {
  await h?.close();
});

async function basicFtp(mode: Mode): Promise<Client> {
  const client = new Client(30_000);
  await client.access({
    host: '127.0.0.1',
    port: mode === 'implicit' ? h.implicitPort : h.port,
    user: USER,
    password: PASSWORD,
    secure: mode === 'plain' ? false : mode === 'implicit' ? 'implicit' : true,
    secureOptions: { rejectUnauthorized: false },
  });
  return client;
}

function source(name: string): { path: string; hash: string } {
  const s = sources.get(name);
  if (!s) throw new Error(`no source ${name}`);
  return s;
}

describe.each(MODES)('%s FTP', (mode) => {
  it('curl uploads and downloads every size byte-identical', async () => {
    for (const [name] of SIZES) {
      const { path, hash } = source(name);
      const remote = `/curl-${mode}-${name}.bin`;
      const up = await run('curl', [...curlArgs(h, mode, remote), '-T', path]);
      expect(up.code, up.stderr).toBe(0);
      expect(await sha256File(join(h.home, remote))).toBe(hash);
      const local = join(h.dir, `got-curl-${mode}-${name}`);
      const down = await run('curl', [...curlArgs(h, mode, remote), '-o', local]);
      expect(down.code, down.stderr).toBe(0);
      expect(await sha256File(local)).toBe(hash);
    }
  });

  it('lftp uploads and downloads every size byte-identical', async () => {
    for (const [name] of SIZES) {
      const { path, hash } = source(name);
      const remote = `/lftp-${mode}-${name}.bin`;
      const local = join(h.dir, `got-lftp-${mode}-${name}`);
      const r = await lftp(h, mode, [`put ${path} -o ${remote}`, `get ${remote} -o ${local}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(await sha256File(join(h.home, remote))).toBe(hash);
      expect(await sha256File(local)).toBe(hash);
    }
  });

  it('basic-ftp uploads and downloads every size byte-identical', async () => {
    const client = await basicFtp(mode);
    try {
      for (const [name] of SIZES) {
        const { path, hash } = source(name);
        const remote = `/basic-${mode}-${name}.bin`;
        await client.uploadFrom(path, remote);
        expect(await sha256File(join(h.home, remote))).toBe(hash);
        const local = join(h.dir, `got-basic-${mode}-${name}`);
        await client.downloadTo(local, remote);
        expect(await sha256File(local)).toBe(hash);
      }
    } finally {
      client.close();
    }
  });
});

describe('the transfer registry and history', () => {
  it('records every upload and download with its size, and downloads with their size up front', async () => {
    const sizes: (number | null)[] = [];
    const onBegin = (t: { direction: string; size: number | null }): void => {
      if (t.direction === 'download') sizes.push(t.size);
    };
    h.runtime.transfers.on('begin', onBegin);
    const client = await basicFtp('plain');
    try {
      const { path, hash } = source('1MiB');
      await client.uploadFrom(path, '/history.bin');
      const local = join(h.dir, 'history-copy');
      await client.downloadTo(local, '/history.bin');
      expect(sha256(await readFile(local))).toBe(hash);
    } finally {
      client.close();
      h.runtime.transfers.off('begin', onBegin);
    }
    expect(sizes).toEqual([1024 * 1024]);
    await eventually(async () => (await h.store.history.list({ component: 'ftpd' })).filter((r) => r.path === '/history.bin').length === 2);
    const rows = (await h.store.history.list({ component: 'ftpd' })).filter((r) => r.path === '/history.bin');
    expect(rows.map((r) => [r.direction, r.outcome, r.bytes, r.account, r.protocol]).sort()).toEqual([
      ['download', 'completed', 1024 * 1024, USER, 'ftp'],
      ['upload', 'completed', 1024 * 1024, USER, 'ftp'],
    ]);
  });
});
