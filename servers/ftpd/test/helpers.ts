import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ComponentRuntime, createLogger, openStore, type Store } from '@ferry/core';
import { createFtpd, ftpdSection } from '../src/index.js';
export { sha256, sha256File, randomFile, stateReached, eventually } from '../../../test/support/common.js';

export const USER = 'alice';
export const PASSWORD = 'correct horse battery';

const sink = new Writable({ write: (_chunk, _enc, done) => done() });

export interface Harness {
  runtime: ComponentRuntime;
  store: Store;
  dir: string;
  home: string;
  port: number;
  /** The implicit FTPS port, when configured. */
  implicitPort: number | undefined;
  cert: string;
  close(): Promise<void>;
}

/** A self-signed certificate in `dir` (openssl, as issue 4 says), gone with the harness. */
async function selfSignedCert(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert]);
  if (r.code !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { cert, key };
}

let nextPassive = 31000 + (process.pid % 50) * 200;

/**
 * An in-process ftpd on 127.0.0.1:<any port> with TLS (explicit, and implicit on another port),
 * an SQLite store in a temp dir and one account. Each harness gets its own passive range so that
 * test files running side by side never share one.
 */
export async function startFtpd(section: Record<string, unknown> = {}, options: { abortGraceMs?: number } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-ftpd-'));
  const dataDir = join(dir, 'data');
  const home = join(dir, 'home');
  const store = await openStore({ url: `sqlite:${join(dir, 'ferry.db')}`, dataDir });
  await store.accounts.create({ name: USER, password: PASSWORD, home });
  await mkdir(home, { recursive: true });
  const tls = await selfSignedCert(dir);
  const from = nextPassive;
  nextPassive += 100;
  const config = ftpdSection.schema.parse({
    port: 0,
    host: '127.0.0.1',
    passivePorts: `${from}-${from + 99}`,
    tls,
    implicitTls: { port: 0 },
    ...section,
  });
  const level = process.env.FERRY_TEST_LOG ?? 'silent';
  const log = createLogger({ component: 'ftpd', level, ...(level === 'silent' ? { destination: sink as never } : {}) });
  const runtime = new ComponentRuntime({ component: createFtpd(), config, dataDir, store, log, loggingIntervalMs: 60_000, abortGraceMs: options.abortGraceMs ?? 2000 });
  await runtime.start();
  const ftp = runtime.listening.find((l) => l.name === 'ftp');
  if (!ftp) throw new Error('ftpd reported no listener');
  return {
    runtime,
    store,
    dir,
    home,
    port: ftp.port,
    implicitPort: runtime.listening.find((l) => l.name === 'ftps')?.port,
    cert: tls.cert,
    async close() {
      await runtime.stopNow().catch(() => undefined);
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export type Mode = 'plain' | 'explicit' | 'implicit';

/** curl arguments for a URL path on the harness in one of the three modes. */
export function curlArgs(h: Harness, mode: Mode, path: string): string[] {
  const auth = ['-u', `${USER}:${PASSWORD}`];
  if (mode === 'implicit') return ['-sS', '--fail', '-k', ...auth, `ftps://127.0.0.1:${h.implicitPort}${path}`];
  const tls = mode === 'explicit' ? ['--ssl-reqd', '-k'] : [];
  return ['-sS', '--fail', ...tls, ...auth, `ftp://127.0.0.1:${h.port}${path}`];
}

/** An lftp script against the harness in one of the three modes. */
export async function lftp(h: Harness, mode: Mode, commands: string[]): Promise<RunResult> {
  const settings = [
    'set ssl:verify-certificate no',
    'set net:max-retries 1',
    'set net:timeout 10',
    'set cmd:fail-exit yes',
    mode === 'plain' ? 'set ftp:ssl-allow no' : 'set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ftp:ssl-protect-list yes',
    // lftp loads its CA file for every TLS data connection; the system bundle costs ~50 ms each.
    `set ssl:ca-file ${h.cert}`,
  ];
  const url = mode === 'implicit' ? `ftps://127.0.0.1:${h.implicitPort}` : `ftp://127.0.0.1:${h.port}`;
  const script = [...settings, `open -u '${USER},${PASSWORD}' ${url}`, ...commands, 'bye', ''].join('\n');
  const file = join(h.dir, `lftp-${process.hrtime.bigint()}.lftp`);
  await writeFile(file, script);
  return run('lftp', ['-f', file]);
}

/**
 * A raw control connection: what the client writes, byte for byte, and each reply as it comes.
 * For what real clients never send (split commands, garbage, bounces).
 */
export class RawControl {
  readonly socket: Socket;
  #buffer = '';
  #waiters: (() => void)[] = [];
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.#buffer += d;
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawControl> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawControl(socket)));
      socket.once('error', reject);
    });
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** The next complete reply (multi-line replies as one string); null when the server closed. */
  async reply(timeoutMs = 5000): Promise<string | null> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const end = completeReply(this.#buffer);
      if (end > 0) {
        const reply = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end);
        return reply;
      }
      if (this.closed) return null;
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms (have: ${JSON.stringify(this.#buffer)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a command and returns its reply. */
  async command(line: string): Promise<string | null> {
    this.send(`${line}\r\n`);
    return this.reply();
  }

  async login(): Promise<void> {
    expectCode(await this.reply(), 220);
    expectCode(await this.command(`USER ${USER}`), 331);
    expectCode(await this.command(`PASS ${PASSWORD}`), 230);
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/** Length of the first complete reply in `buffer` (RFC 959 multi-line aware), or 0. */
function completeReply(buffer: string): number {
  const first = /^(\d{3})([ -])/.exec(buffer);
  if (!first) return buffer.indexOf('\r\n') >= 0 ? buffer.indexOf('\r\n') + 2 : 0;
  if (first[2] === ' ') {
    const end = buffer.indexOf('\r\n');
    return end >= 0 ? end + 2 : 0;
  }
  const last = new RegExp(`(^|\\r\\n)${first[1]} [^\\r\\n]*\\r\\n`).exec(buffer);
  return last ? last.index + last[0].length : 0;
}

export function expectCode(reply: string | null, code: number): string {
  if (reply === null || !reply.startsWith(String(code))) throw new Error(`expected ${code}, got ${JSON.stringify(reply)}`);
  return reply;
}

/** PASV on a raw control connection, then the data connection to the port it announced. */
export async function rawPassive(control: RawControl): Promise<Socket> {
  const reply = expectCode(await control.command('PASV'), 227);
  const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(reply);
  if (!m) throw new Error(`bad PASV reply ${reply}`);
  const port = Number(m[5]) * 256 + Number(m[6]);
  return new Promise((resolve, reject) => {
    const socket = connect(port, `${m[1]}.${m[2]}.${m[3]}.${m[4]}`, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything a data connection delivers until the server closes it. */
export function readAll(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}
