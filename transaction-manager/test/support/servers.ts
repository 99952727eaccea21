// In-process Ferry daemons for the outbound client tests: real listeners on 127.0.0.1:<any port>,
// an SQLite store and a home in a temp dir, one account. Tests only.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { as2dSection, createAs2d } from '@ferry/as2d';
import { ComponentRuntime, createLogger, openStore, type Component, type Store } from '@ferry/core';
import { createFtpd, ftpdSection } from '@ferry/ftpd';
import { createHttpd, httpdSection } from '@ferry/httpd';
import { createSshd, sshdSection } from '@ferry/sshd';
import { siteSchema, type SiteConfig } from '../../src/outbound/index.js';

const exec = promisify(execFile);

export const USER = 'alice';
export const PASSWORD = 'correct horse battery';

const sink = new Writable({ write: (_chunk, _enc, done) => done() });

export interface Peer {
  runtime: ComponentRuntime;
  store: Store;
  dir: string;
  /** The account's home (what the peer stores), or as2d's inbox. */
  home: string;
  port: number;
  close(): Promise<void>;
}

interface Host {
  component: Component;
  config: unknown;
  name: string;
}

async function host(dir: string, id: string, store: Store, make: () => Host): Promise<ComponentRuntime> {
  const level = process.env.FERRY_TEST_LOG ?? 'silent';
  const log = createLogger({ component: id, level, ...(level === 'silent' ? { destination: sink as never } : {}) });
  const { component, config } = make();
  const runtime = new ComponentRuntime({ component, config: config as never, dataDir: join(dir, 'data'), store, log, loggingIntervalMs: 60_000, abortGraceMs: 2000 });
  await runtime.start();
  return runtime;
}

async function base(prefix: string): Promise<{ dir: string; home: string; store: Store }> {
  const dir = await mkdtemp(join(tmpdir(), `ferry-tm-${prefix}-`));
  const home = join(dir, 'home');
  await mkdir(home, { recursive: true });
  await mkdir(join(dir, 'data'), { recursive: true });
  const store = await openStore({ url: `sqlite:${join(dir, 'ferry.db')}`, dataDir: join(dir, 'data') });
  await store.accounts.create({ name: USER, password: PASSWORD, home });
  return { dir, home, store };
}

function closer(runtime: ComponentRuntime, store: Store, dir: string): () => Promise<void> {
  return async () => {
    await runtime.stopNow().catch(() => undefined);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  };
}

export interface SshPeer extends Peer {
  /** The fingerprints (SHA256:…) of its host keys, as ssh-keygen -lf prints them. */
  fingerprints: string[];
  keyFile: string;
}

export async function startSshPeer(): Promise<SshPeer> {
  const { dir, home, store } = await base('sshd');
  const keyFile = join(dir, 'id_ed25519');
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tm@test', '-f', keyFile]);
  await store.accounts.addSshKey(USER, (await readFile(`${keyFile}.pub`, 'utf8')).trim());
  const runtime = await host(dir, 'sshd', store, () => ({ component: createSshd(), config: sshdSection.schema.parse({ port: 0, host: '127.0.0.1' }), name: 'sftp' }));
  const keysDir = join(dir, 'data', 'ssh-host-keys');
  const fingerprints: string[] = [];
  for (const file of (await readdir(keysDir)).filter((f) => f.endsWith('.pub'))) {
    const { stdout } = await exec('ssh-keygen', ['-lf', join(keysDir, file)]);
    const fingerprint = stdout.split(' ')[1];
    if (fingerprint) fingerprints.push(fingerprint);
  }
  return { runtime, store, dir, home, port: runtime.listening[0]!.port, fingerprints, keyFile, close: closer(runtime, store, dir) };
}

/** Passive ports of our own, away from the ftpd suite's (31000+), so suites can run side by side. */
let nextPassive = 43000 + (process.pid % 40) * 200;

export interface FtpPeer extends Peer {
  implicitPort: number;
  /** The self-signed certificate it serves (a site's tls.ca). */
  cert: string;
}

export async function startFtpPeer(): Promise<FtpPeer> {
  const { dir, home, store } = await base('ftpd');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert]);
  const from = nextPassive;
  nextPassive += 100;
  const runtime = await host(dir, 'ftpd', store, () => ({
    component: createFtpd(),
    config: ftpdSection.schema.parse({ port: 0, host: '127.0.0.1', passivePorts: `${from}-${from + 99}`, tls: { cert, key }, implicitTls: { port: 0 } }),
    name: 'ftp',
  }));
  const ftp = runtime.listening.find((l) => l.name === 'ftp');
  const ftps = runtime.listening.find((l) => l.name === 'ftps');
  if (!ftp || !ftps) throw new Error('ftpd reported no listener');
  return { runtime, store, dir, home, port: ftp.port, implicitPort: ftps.port, cert, close: closer(runtime, store, dir) };
}

export interface HttpPeer extends Peer {
  base: string;
  cert?: string;
}

export async function startHttpPeer(options: { tls?: boolean } = {}): Promise<HttpPeer> {
  const { dir, home, store } = await base('httpd');
  let tls: { cert: string; key: string } | undefined;
  if (options.tls) {
    tls = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', tls.key, '-out', tls.cert]);
  }
  const runtime = await host(dir, 'httpd', store, () => ({ component: createHttpd(), config: httpdSection.schema.parse({ port: 0, host: '127.0.0.1', ...(tls ? { tls } : {}) }), name: 'http' }));
  const port = runtime.listening[0]!.port;
  return { runtime, store, dir, home, port, base: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, ...(tls ? { cert: tls.cert } : {}), close: closer(runtime, store, dir) };
}

export interface As2Party {
  id: string;
  certFile: string;
  keyFile: string;
}

async function party(dir: string, id: string): Promise<As2Party> {
  const certFile = join(dir, `${id}.crt`);
  const keyFile = join(dir, `${id}.key`);
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${id}/O=Ferry test`]);
  return { id, certFile, keyFile };
}

export interface As2Peer extends Peer {
  /** We (the tm) send as ALICE; the peer is FERRY; MALLORY is a stranger. */
  alice: As2Party;
  ferry: As2Party;
  mallory: As2Party;
  url: string;
}

export async function startAs2Peer(): Promise<As2Peer> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-tm-as2d-'));
  const home = join(dir, 'inbox');
  await mkdir(join(dir, 'data'), { recursive: true });
  const store = await openStore({ url: `sqlite:${join(dir, 'ferry.db')}`, dataDir: join(dir, 'data') });
  const [alice, ferry, mallory] = await Promise.all([party(dir, 'ALICE'), party(dir, 'FERRY'), party(dir, 'MALLORY')]);
  const runtime = await host(dir, 'as2d', store, () => ({
    component: createAs2d(),
    config: as2dSection.schema.parse({
      port: 0,
      host: '127.0.0.1',
      as2Id: ferry.id,
      certificate: ferry.certFile,
      privateKey: ferry.keyFile,
      partners: [{ id: alice.id, certificate: alice.certFile, inbox: home }],
    }),
    name: 'as2',
  }));
  const port = runtime.listening[0]!.port;
  return { runtime, store, dir, home, port, alice, ferry, mallory, url: `http://127.0.0.1:${port}/as2`, close: closer(runtime, store, dir) };
}

/** A site parsed by the real schema, as the tm would get it from ferry.yaml. */
export function site(input: Record<string, unknown>): SiteConfig {
  return siteSchema.parse(input);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function randomFile(dir: string, name: string, size: number): Promise<{ path: string; data: Buffer }> {
  const data = randomBytes(size);
  const path = join(dir, name);
  await writeFile(path, data);
  return { path, data };
}

export const SIZES = [0, 1 << 20, 20 << 20] as const;

/** Move options with a fresh signal and a progress log. */
export function moveOptions(extra: { signal?: AbortSignal; messageId?: string } = {}): { signal: AbortSignal; onProgress(bytes: number): void; progress: number[]; messageId?: string } {
  const progress: number[] = [];
  return { signal: extra.signal ?? new AbortController().signal, onProgress: (bytes) => progress.push(bytes), progress, ...(extra.messageId ? { messageId: extra.messageId } : {}) };
}
