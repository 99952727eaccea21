import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ComponentRuntime, createLogger, openStore, type Store } from '@ferry/core';
import { as2dSection, createAs2d } from '../src/index.js';
import { makeParty, type TestParty } from './pki.js';
export { stateReached, eventually } from '../../../test/support/common.js';

const sink = new Writable({ write: (_chunk, _enc, done) => done() });

export interface Pki {
  dir: string;
  ferry: TestParty;
  alice: TestParty;
  mallory: TestParty;
}

/** Certificates for us (FERRY), a partner (ALICE) and a stranger (MALLORY), made by openssl. */
export async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-as2-pki-'));
  const [ferry, alice, mallory] = await Promise.all([makeParty(dir, 'FERRY'), makeParty(dir, 'ALICE'), makeParty(dir, 'MALLORY')]);
  return { dir, ferry, alice, mallory };
}

export interface As2Harness {
  runtime: ComponentRuntime;
  store: Store;
  dir: string;
  dataDir: string;
  inbox: string;
  base: string;
  port: number;
  /** Stops (if running) and starts a new runtime on the same store, directories and port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  pki: Pki;
  /** Overrides for the as2d section. */
  section?: Record<string, unknown>;
  /** Overrides for the ALICE partner entry. */
  partner?: Record<string, unknown>;
  /** Who we are: FERRY by default (ALICE for the sending side of a Ferry-to-Ferry test). */
  as?: 'FERRY' | 'ALICE';
  storeUrl?: string;
}

/** An in-process as2d on 127.0.0.1:<any port> with one partner, an SQLite store in a temp dir. */
export async function startAs2d(options: HarnessOptions): Promise<As2Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-as2d-'));
  const dataDir = join(dir, 'data');
  const inbox = join(dir, 'inbox');
  await mkdir(dataDir, { recursive: true });
  const store = await openStore({ url: options.storeUrl ?? `sqlite:${join(dir, 'ferry.db')}`, dataDir });
  const us = options.as === 'ALICE' ? options.pki.alice : options.pki.ferry;
  const them = options.as === 'ALICE' ? options.pki.ferry : options.pki.alice;
  let port = 0;
  const config = () =>
    as2dSection.schema.parse({
      port,
      host: '127.0.0.1',
      as2Id: us.id,
      certificate: us.certFile,
      privateKey: us.keyFile,
      asyncMdn: { retryInterval: '200ms' },
      partners: [{ id: them.id, certificate: them.certFile, inbox, ...options.partner }],
      ...options.section,
    });
  const level = process.env.FERRY_TEST_LOG ?? 'silent';
  const log = createLogger({ component: 'as2d', level, ...(level === 'silent' ? { destination: sink as never } : {}) });
  const make = () => new ComponentRuntime({ component: createAs2d(), config: config(), dataDir, store, log, loggingIntervalMs: 60_000, abortGraceMs: 2000 });
  const harness: As2Harness = {
    runtime: make(),
    store,
    dir,
    dataDir,
    inbox,
    base: '',
    port: 0,
    async restart() {
      await harness.runtime.stopNow().catch(() => undefined);
      harness.runtime = make();
      await harness.runtime.start();
    },
    async close() {
      await harness.runtime.stopNow().catch(() => undefined);
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await harness.runtime.start();
  const listening = harness.runtime.listening[0];
  if (!listening) throw new Error('as2d reported no listener');
  port = listening.port;
  harness.port = port;
  harness.base = `http://127.0.0.1:${port}`;
  return harness;
}

export function sha256(data: Buffer, encoding: 'hex' | 'base64' = 'hex'): string {
  return createHash('sha256').update(data).digest(encoding);
}

export interface CurlAnswer {
  code: number | null;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  stderr: string;
}

/** POSTs a file with curl, as a partner's AS2 product would; headers and body of the answer parsed. */
export function curlPost(url: string, headers: Record<string, string>, bodyFile: string, extra: string[] = []): { child: ReturnType<typeof spawn>; done: Promise<CurlAnswer> } {
  const args = ['-sS', '-i', '-X', 'POST', '--data-binary', `@${bodyFile}`, ...Object.entries(headers).flatMap(([n, v]) => ['-H', `${n}: ${v}`]), ...extra, url];
  const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CurlAnswer>((resolve) =>
    child.on('close', (code) => {
      let raw = Buffer.concat(out);
      // Skip interim responses (100 Continue).
      while (/^HTTP\/[\d.]+ 1\d\d/.test(raw.toString('latin1', 0, 16))) raw = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
      const end = raw.indexOf('\r\n\r\n');
      const head = end === -1 ? '' : raw.subarray(0, end).toString('latin1');
      const lines = head.split('\r\n');
      const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(lines[0] ?? '')?.[1] ?? 0);
      const parsed: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ code, status, headers: parsed, body: end === -1 ? Buffer.alloc(0) : raw.subarray(end + 4), stderr });
    }),
  );
  return { child, done };
}

export async function writeTemp(dir: string, name: string, data: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}

/** Files in a directory, partial uploads included (they must not be left behind). */
export async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

export interface MdnCatcher {
  url: string;
  received: { headers: IncomingHttpHeaders; body: Buffer }[];
  /** Answer with this status (e.g. 500 to make deliveries fail). */
  status: number;
  close(): Promise<void>;
}

/** A partner's endpoint for asynchronous MDNs. */
export async function mdnCatcher(port = 0): Promise<MdnCatcher> {
  const catcher: MdnCatcher = { url: '', received: [], status: 200, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (catcher.status === 200) catcher.received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(catcher.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  catcher.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mdn`;
  catcher.close = () => new Promise((resolve) => server.close(() => resolve()));
  return catcher;
}
