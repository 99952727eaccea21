import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ComponentRuntime, createLogger, openStore, type Store } from '@ferry/core';
import ssh2 from 'ssh2';
import type { ConnectConfig, SFTPWrapper } from 'ssh2';
import { createSshd, sshdSection } from '../src/index.js';
export { sha256, sha256File, randomFile, stateReached, eventually } from '../../../test/support/common.js';

export const USER = 'alice';
export const PASSWORD = 'correct horse battery';

const sink = new Writable({ write: (_chunk, _enc, done) => done() });

export interface Harness {
  runtime: ComponentRuntime;
  store: Store;
  dir: string;
  home: string;
  dataDir: string;
  port: number;
  /** Private key file of an ed25519 key registered for USER (for OpenSSH clients, `-i`). */
  keyFile: string;
  /** OpenSSH client options that reach this server non-interactively. */
  sshOptions: string[];
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** An in-process sshd on 127.0.0.1:<any port>, an SQLite store in a temp dir, one account with a password and a key. */
export async function startSshd(section: Record<string, unknown> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-sshd-'));
  const dataDir = join(dir, 'data');
  const home = join(dir, 'home');
  await mkdir(home, { recursive: true });
  const store = await openStore({ url: `sqlite:${join(dir, 'ferry.db')}`, dataDir });
  await store.accounts.create({ name: USER, password: PASSWORD, home });
  const keyFile = join(dir, 'id_ed25519');
  const keygen = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@test', '-f', keyFile]);
  if (keygen.status !== 0) throw new Error(`ssh-keygen failed: ${keygen.stderr.toString()}`);
  await store.accounts.addSshKey(USER, (await readFile(`${keyFile}.pub`, 'utf8')).trim());
  const config = sshdSection.schema.parse({ port: 0, host: '127.0.0.1', ...section });
  const level = process.env.FERRY_TEST_LOG ?? 'silent';
  const log = createLogger({ component: 'sshd', level, ...(level === 'silent' ? { destination: sink as never } : {}) });
  const make = () => new ComponentRuntime({ component: createSshd(), config, dataDir, store, log, loggingIntervalMs: 60_000, abortGraceMs: 2000 });
  const h: Harness = {
    runtime: make(),
    store,
    dir,
    home,
    dataDir,
    port: 0,
    keyFile,
    sshOptions: [],
    async restart() {
      await h.runtime.stopNow().catch(() => undefined);
      h.runtime = make();
      await boot();
    },
    async close() {
      await h.runtime.stopNow().catch(() => undefined);
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  const boot = async (): Promise<void> => {
    await h.runtime.start();
    const listening = h.runtime.listening[0];
    if (!listening) throw new Error('sshd reported no listener');
    h.port = listening.port;
    h.sshOptions = [
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes',
      '-o', 'LogLevel=ERROR',
      '-i', keyFile,
      '-P', String(h.port),
    ];
  };
  await boot();
  return h;
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs OpenSSH `sftp -b -` with `commands` on stdin, as USER, in `cwd`. */
export function sftpBatch(h: Harness, commands: string[], options: { cwd?: string; extra?: string[] } = {}): Promise<ProcessResult> & { kill(): void } {
  const child = spawn('sftp', [...h.sshOptions, ...(options.extra ?? []), '-b', '-', `${USER}@127.0.0.1`], {
    cwd: options.cwd ?? h.dir,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(`${commands.join('\n')}\n`);
  return collect(child);
}

export function scp(h: Harness, args: string[], cwd?: string): Promise<ProcessResult> {
  const child = spawn('scp', [...h.sshOptions, ...args], { cwd: cwd ?? h.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child);
}

function collect(child: ReturnType<typeof spawn>): Promise<ProcessResult> & { kill(): void } {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<ProcessResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  }) as Promise<ProcessResult> & { kill(): void };
  done.kill = () => child.kill('SIGKILL');
  return done;
}

export interface Ssh2Session {
  client: InstanceType<typeof ssh2.Client>;
  sftp: SFTPWrapper;
  end(): void;
}

/** An ssh2 client logged in with the password, with its SFTP session open. */
export function ssh2Connect(h: Harness, config: Partial<ConnectConfig> = {}): Promise<Ssh2Session> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.on('error', reject);
    client.on('ready', () => {
      client.sftp((err, sftp) => {
        if (err) return reject(err);
        resolve({ client, sftp, end: () => client.end() });
      });
    });
    client.connect({ host: '127.0.0.1', port: h.port, username: USER, password: PASSWORD, readyTimeout: 10_000, ...config });
  });
}

/** Promisified ssh2 SFTP calls the tests use. */
export const p = {
  readdir: (s: SFTPWrapper, path: string) => new Promise<{ filename: string }[]>((ok, ko) => s.readdir(path, (e, l) => (e ? ko(e) : ok(l)))),
  mkdir: (s: SFTPWrapper, path: string) => new Promise<void>((ok, ko) => s.mkdir(path, (e) => (e ? ko(e) : ok()))),
  stat: (s: SFTPWrapper, path: string) => new Promise<{ size: number }>((ok, ko) => s.stat(path, (e, st) => (e ? ko(e) : ok(st)))),
  open: (s: SFTPWrapper, path: string, flags: 'r' | 'w' | 'a') => new Promise<Buffer>((ok, ko) => s.open(path, flags, (e, h) => (e ? ko(e) : ok(h)))),
  write: (s: SFTPWrapper, h: Buffer, data: Buffer, position: number) =>
    new Promise<void>((ok, ko) => s.write(h, data, 0, data.length, position, (e) => (e ? ko(e) : ok()))),
  close: (s: SFTPWrapper, h: Buffer) => new Promise<void>((ok, ko) => s.close(h, (e) => (e ? ko(e) : ok()))),
  unlink: (s: SFTPWrapper, path: string) => new Promise<void>((ok, ko) => s.unlink(path, (e) => (e ? ko(e) : ok()))),
  rename: (s: SFTPWrapper, from: string, to: string) => new Promise<void>((ok, ko) => s.rename(from, to, (e) => (e ? ko(e) : ok()))),
  rmdir: (s: SFTPWrapper, path: string) => new Promise<void>((ok, ko) => s.rmdir(path, (e) => (e ? ko(e) : ok()))),
  fastPut: (s: SFTPWrapper, local: string, remote: string) => new Promise<void>((ok, ko) => s.fastPut(local, remote, (e) => (e ? ko(e) : ok()))),
  fastGet: (s: SFTPWrapper, remote: string, local: string) => new Promise<void>((ok, ko) => s.fastGet(remote, local, (e) => (e ? ko(e) : ok()))),
};
