import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ComponentRuntime, createLogger, openStore, type Store } from '@ferry/core';
import { createHttpd, httpdSection } from '../src/index.js';
export { sha256, sha256File, randomFile, stateReached, eventually } from '../../../test/support/common.js';

export const USER = 'alice';
export const PASSWORD = 'correct horse battery';
export const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

const sink = new Writable({ write: (_chunk, _enc, done) => done() });

export interface Harness {
  runtime: ComponentRuntime;
  store: Store;
  dir: string;
  home: string;
  dataDir: string;
  base: string;
  port: number;
  close(): Promise<void>;
}

/** An in-process httpd on 127.0.0.1:<any port>, an SQLite store in a temp dir, one account. */
export async function startHttpd(section: Record<string, unknown> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-httpd-'));
  const dataDir = join(dir, 'data');
  const home = join(dir, 'home');
  const store = await openStore({ url: `sqlite:${join(dir, 'ferry.db')}`, dataDir });
  await store.accounts.create({ name: USER, password: PASSWORD, home });
  await mkdir(home, { recursive: true });
  const config = httpdSection.schema.parse({ port: 0, host: '127.0.0.1', ...section });
  const level = process.env.FERRY_TEST_LOG ?? 'silent';
  const log = createLogger({ component: 'httpd', level, ...(level === 'silent' ? { destination: sink as never } : {}) });
  const runtime = new ComponentRuntime({ component: createHttpd(), config, dataDir, store, log, loggingIntervalMs: 60_000, abortGraceMs: 2000 });
  await runtime.start();
  const listening = runtime.listening[0];
  if (!listening) throw new Error('httpd reported no listener');
  return {
    runtime,
    store,
    dir,
    home,
    dataDir,
    port: listening.port,
    base: `http://127.0.0.1:${listening.port}`,
    async close() {
      await runtime.stopNow().catch(() => undefined);
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The HTTP status from `-w '%{http_code}'` when requested, else NaN. */
  status: number;
}

/** Runs the curl binary; with `status: true`, prints the status code last and parses it. */
export function curl(args: string[], options: { status?: boolean } = {}): Promise<CurlResult> {
  const full = ['-sS', ...args, ...(options.status ? ['-w', '\n%{http_code}'] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn('curl', full, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let status = Number.NaN;
      if (options.status) {
        const at = stdout.lastIndexOf('\n');
        status = Number(stdout.slice(at + 1));
        stdout = stdout.slice(0, at);
      }
      resolve({ code: code ?? -1, stdout, stderr, status });
    });
  });
}
