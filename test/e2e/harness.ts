import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'undici';

/** Real processes: a node started from the built entry point, driven over its admin API and CLI. */
export const ROOT = resolve(import.meta.dirname, '../..');
const FERRY = join(ROOT, 'servers/node/dist/bin/ferry.js');
const BIN = join(ROOT, 'node_modules/.bin');

export interface LogLine {
  level: string;
  component: string;
  msg: string;
  time: string;
  [key: string]: unknown;
}

export interface RunningNode {
  dir: string;
  dataDir: string;
  configFile: string;
  adminUrl: string;
  token: string;
  process: ChildProcess;
  logs: LogLine[];
  /** Resolves with the first log line (already seen or to come) that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  cli(args: string[], options?: { input?: string; command?: string }): Promise<CliResult>;
  httpdUrl(): Promise<string>;
  componentPid(id: string): Promise<number | null>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function makeDir(prefix = 'ferry-e2e-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function yamlConfig(dataDir: string, extra = ''): string {
  return [
    `dataDir: ${dataDir}`,
    'gracefulShutdown: {loggingInterval: 1s}',
    'admin: {port: 0, host: 127.0.0.1}',
    'httpd: {port: 0, host: 127.0.0.1}',
    extra,
  ].join('\n');
}

export async function startNode(options: { config?: (dataDir: string) => string; dir?: string } = {}): Promise<RunningNode> {
  const dir = options.dir ?? (await makeDir());
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'ferry.yaml');
  await writeFile(configFile, (options.config ?? yamlConfig)(dataDir));
  const child = spawn(process.execPath, [FERRY, 'start', '-c', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    logs.push(line);
    for (const w of [...waiters]) {
      if (w.match(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const waitForLog = (match: (l: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolveLine(l)) });
    });
  };
  const up = await Promise.race([
    waitForLog((l) => typeof l.adminUrl === 'string'),
    exited.then((code) => {
      throw new Error(`node exited with ${code} before it was up: ${stderr}`);
    }),
  ]);
  const adminUrl = up.adminUrl as string;
  const token = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();

  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await request(`${adminUrl}${path}`, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const node: RunningNode = {
    dir,
    dataDir,
    configFile,
    adminUrl,
    token,
    process: child,
    logs,
    waitForLog,
    exited,
    api,
    cli: (args, opts = {}) => runCli(args, { cwd: dir, configFile, ...opts }),
    async httpdUrl() {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const { body } = await api<{ state: string; listening: { port: number }[] }>('GET', '/api/v1/components/httpd');
        const port = body.listening[0]?.port;
        if (body.state === 'running' && port) return `http://127.0.0.1:${port}`;
        if (Date.now() > deadline) throw new Error(`httpd not running: ${JSON.stringify(body)}`);
        await sleep(100);
      }
    },
    async componentPid(id) {
      const { body } = await api<{ pid: number | null }>('GET', `/api/v1/components/${id}`);
      return body.pid;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return node;
}

/** Runs the CLI the way an operator would: `ferry …`, or a console command such as `stop_httpd`. */
export function runCli(args: string[], options: { cwd: string; configFile?: string; input?: string; command?: string }): Promise<CliResult> {
  const command = options.command ?? 'ferry';
  const bin = command === 'ferry' ? FERRY : join(BIN, command);
  if (!existsSync(bin)) throw new Error(`missing ${bin}: run npm install and the build first`);
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...(options.configFile ? { FERRY_CONFIG: options.configFile } : {}) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(options.input ?? '');
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls (bounded) until `check` holds; returns when it held. Tests only. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
