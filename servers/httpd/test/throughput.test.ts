import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, PASSWORD, startHttpd, USER, type Harness } from './helpers.js';

/**
 * 1 GiB PUT and GET with curl against an in-process httpd, and against a bare Node http server
 * doing the same file I/O as nginx's dav module (temporary file, then rename): the ceiling for any
 * Node server. Opt-in: FERRY_BENCH=1.
 *   FERRY_BENCH=1 npx vitest run servers/httpd/test/throughput.test.ts
 * TMPDIR=/dev/shm takes the disk out of the measurement (homes live under the temp dir).
 */
const SIZE_MB = Number(process.env.FERRY_BENCH_MB ?? 1024);
const SOURCE = `/tmp/ferry-bench-${SIZE_MB}M.bin`;
const RUNS = Number(process.env.FERRY_BENCH_RUNS ?? 5);

/** Async on purpose: the server runs in this process, a blocking spawn would starve it. */
async function curlSpeed(args: string[], field: 'speed_upload' | 'speed_download'): Promise<number> {
  const res = await curl(['-o', '/dev/null', '-w', `%{http_code} %{${field}}`, ...args]);
  const [status, speed] = res.stdout.trim().split(' ');
  if (!status?.startsWith('2')) throw new Error(`curl got ${status}: ${res.stderr}`);
  return Number(speed) / 1e6;
}

function best(runs: number[]): number {
  return Math.max(...runs);
}

function median(runs: number[]): number {
  const sorted = [...runs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

describe.skipIf(process.env.FERRY_BENCH !== '1')('throughput (1 GiB, curl, loopback)', () => {
  let h: Harness;
  let bare: Server;
  let bareUrl: string;

  beforeAll(async () => {
    if (!existsSync(SOURCE)) spawnSync('dd', ['if=/dev/urandom', `of=${SOURCE}`, 'bs=1M', `count=${SIZE_MB}`], { stdio: 'ignore' });
    h = await startHttpd();
    const dir = h.dir;
    bare = createServer({ requestTimeout: 0 }, (req, res) => {
      const file = join(dir, 'bare.bin');
      if (req.method === 'PUT') {
        // Like nginx's dav module: the body goes to a temporary file, renamed into place at the end.
        void pipeline(req, createWriteStream(`${file}.tmp`, { highWaterMark: 1024 * 1024 }))
          .then(() => rename(`${file}.tmp`, file))
          .then(() => res.writeHead(201).end());
      } else {
        res.writeHead(200, { 'content-length': SIZE_MB * 1024 * 1024 });
        void pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), res).catch(() => undefined);
      }
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/bare.bin`;
  }, 300_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => bare.close(() => resolve()));
    await h.close();
    if (process.env.FERRY_BENCH_KEEP !== '1') await rm(SOURCE, { force: true });
  });

  it('PUT and GET reach bare-Node speed', async () => {
    const auth = ['-u', `${USER}:${PASSWORD}`];
    const url = `${h.base}/files/bench.bin`;
    const ferryPut: number[] = [];
    const ferryGet: number[] = [];
    const barePut: number[] = [];
    const bareGet: number[] = [];
    // Alternating which server goes first, so that neither always follows the other's page-cache writeback.
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 === 0 ? ['bare', 'ferry'] : ['ferry', 'bare'];
      for (const who of order) {
        if (who === 'bare') barePut.push(await curlSpeed(['-T', SOURCE, bareUrl], 'speed_upload'));
        else ferryPut.push(await curlSpeed([...auth, '-T', SOURCE, url], 'speed_upload'));
      }
      for (const who of order) {
        if (who === 'bare') bareGet.push(await curlSpeed([bareUrl], 'speed_download'));
        else ferryGet.push(await curlSpeed([...auth, url], 'speed_download'));
      }
    }
    const line = (name: string, runs: number[]): string =>
      `${name.padEnd(10)} best ${best(runs).toFixed(0)} MB/s  median ${median(runs).toFixed(0)} MB/s  runs ${runs.map((r) => r.toFixed(0)).join(' ')}`;
    console.log(
      [`${SIZE_MB} MiB over loopback, curl`, line('httpd PUT', ferryPut), line('bare PUT', barePut), line('httpd GET', ferryGet), line('bare GET', bareGet)].join('\n'),
    );
    // Loopback on a small VM is noisy (page cache, CPU shared with curl): compare medians of several runs.
    expect(median(ferryPut)).toBeGreaterThan(0.8 * median(barePut));
    expect(median(ferryGet)).toBeGreaterThan(0.8 * median(bareGet));
  }, 600_000);
});
