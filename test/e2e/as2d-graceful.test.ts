import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, makeDir, ROOT, sleep, startNode, until, yamlConfig, type RunningNode } from './harness.js';

/**
 * as2d with real processes and real partners' tools: OpenSSL builds the AS2 messages, curl posts
 * them. A large message is being received when the graceful stop is asked for: it completes with its
 * MDN, a new message gets 503 + Retry-After, the process exits right after, and after the restart
 * the partner's resend (same Message-ID) is delivered exactly once.
 *
 * Two hosts: the component process driven over the supervisor's IPC (always), and the node with
 * `stop_as2d -g -timeout 60` (once as2d is in the node's catalog).
 */

const exec = promisify(execFile);
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

interface Party {
  certFile: string;
  keyFile: string;
}

async function party(dir: string, id: string): Promise<Party> {
  const certFile = join(dir, `${id}.crt`);
  const keyFile = join(dir, `${id}.key`);
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '7', '-subj', `/CN=${id}`]);
  return { certFile, keyFile };
}

interface Message {
  headers: Record<string, string>;
  bodyFile: string;
  /** The entity OpenSSL signed: the MIC in the MDN is its SHA-256. */
  signed: Buffer;
}

/** OpenSSL as the partner: sign (SHA-256), then encrypt (AES-256-CBC) for us. */
async function message(dir: string, alice: Party, ferry: Party, payload: Buffer, filename: string, messageId: string): Promise<Message> {
  const tag = randomBytes(4).toString('hex');
  const signed = Buffer.concat([Buffer.from(`Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-Disposition: attachment; filename="${filename}"\r\n\r\n`), payload]);
  await writeFile(join(dir, `${tag}.mime`), signed);
  await exec('openssl', ['cms', '-sign', '-binary', '-md', 'sha256', '-signer', alice.certFile, '-inkey', alice.keyFile, '-in', join(dir, `${tag}.mime`), '-out', join(dir, `${tag}.smime`)]);
  await exec('openssl', ['cms', '-encrypt', '-binary', '-aes256', '-outform', 'DER', '-in', join(dir, `${tag}.smime`), '-out', join(dir, `${tag}.p7m`), ferry.certFile]);
  return {
    headers: {
      'AS2-Version': '1.1',
      'AS2-From': 'ALICE',
      'AS2-To': 'FERRY',
      'Message-ID': messageId,
      'Content-Type': 'application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m',
      'Disposition-Notification-To': 'edi@alice.example',
      'Disposition-Notification-Options': 'signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256',
    },
    bodyFile: join(dir, `${tag}.p7m`),
    signed,
  };
}

interface Posted {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  endedAt: number;
}

function post(url: string, msg: Message, rate?: string): Promise<Posted> {
  const args = ['-sS', '-i', '-X', 'POST', '--data-binary', `@${msg.bodyFile}`, ...Object.entries(msg.headers).flatMap(([n, v]) => ['-H', `${n}: ${v}`]), ...(rate ? ['--limit-rate', rate] : []), url];
  const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  return new Promise((resolve) =>
    child.on('close', () => {
      let raw = Buffer.concat(out);
      while (/^HTTP\/[\d.]+ 1\d\d/.test(raw.toString('latin1', 0, 16))) raw = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
      const end = raw.indexOf('\r\n\r\n');
      const lines = (end === -1 ? '' : raw.subarray(0, end).toString('latin1')).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(lines[0] ?? '')?.[1] ?? 0), headers, body: end === -1 ? Buffer.alloc(0) : raw.subarray(end + 4), endedAt: Date.now() });
    }),
  );
}

/** Verifies the signed MDN with `openssl cms -verify` and returns its Received-Content-MIC. */
async function mdnMic(dir: string, ferry: Party, answer: Posted): Promise<string | undefined> {
  const file = join(dir, `mdn-${randomBytes(4).toString('hex')}.smime`);
  await writeFile(file, Buffer.concat([Buffer.from(`Content-Type: ${answer.headers['content-type']}\r\n\r\n`), answer.body]));
  const { stdout } = await exec('openssl', ['cms', '-verify', '-CAfile', ferry.certFile, '-in', file]);
  expect(stdout).toMatch(/Disposition: automatic-action\/MDN-sent-automatically; processed\r?\n/);
  return /Received-Content-MIC: (.*?)\r?\n/.exec(stdout)?.[1];
}

function as2dSection(pkiDir: string, inbox: string): Record<string, unknown> {
  return {
    port: 0,
    host: '127.0.0.1',
    as2Id: 'FERRY',
    certificate: join(pkiDir, 'FERRY.crt'),
    privateKey: join(pkiDir, 'FERRY.key'),
    partners: [{ id: 'ALICE', certificate: join(pkiDir, 'ALICE.crt'), inbox }],
  };
}

let dir: string;
let alice: Party;
let ferry: Party;

beforeAll(async () => {
  dir = await makeDir('ferry-e2e-as2d-');
  [alice, ferry] = await Promise.all([party(dir, 'ALICE'), party(dir, 'FERRY')]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The component process as the supervisor runs it: forked, `init` over IPC, stop by IPC message. */
class As2dProcess {
  readonly states: string[] = [];
  port = 0;
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;

  constructor(entry: string, config: Record<string, unknown>) {
    // No execArgv: the test runner's own flags (source conditions) must not reach the built component.
    this.#child = fork(entry, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.exited = new Promise((done) => this.#child.on('exit', (code) => done(code)));
    this.#child.on('message', (m: { type: string; state?: string; listening?: { port: number } }) => {
      if (m.type === 'state' && m.state) this.states.push(m.state);
      if (m.type === 'listening' && m.listening) this.port = m.listening.port;
    });
    this.#child.send({ type: 'init', config });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  stop(mode: 'graceful' | 'immediate', deadline: number | null): void {
    this.#child.send({ type: 'stop', mode, deadline });
  }

  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}

describe('as2d graceful stop: the component process over the supervisor IPC', () => {
  it('completes the large message with its MDN, refuses a new one with 503, exits at once; the resend after restart is delivered once', async () => {
    const built = join(ROOT, 'servers/as2d/dist/index.js');
    if (!existsSync(built)) throw new Error(`missing ${built}: run the build first`);
    const base = join(dir, 'ipc');
    const inbox = join(base, 'inbox');
    await mkdir(join(base, 'data'), { recursive: true });
    const entry = join(base, 'as2d-main.mjs');
    await writeFile(
      entry,
      `import { runComponentProcess } from ${JSON.stringify(join(ROOT, 'servers/core/dist/index.js'))};\n` +
        `import { createAs2d } from ${JSON.stringify(built)};\n` +
        'await runComponentProcess(createAs2d);\n',
    );
    const { as2dSection: section } = (await import(built)) as { as2dSection: { schema: { parse(v: unknown): unknown } } };
    const config = {
      dataDir: join(base, 'data'),
      store: { url: `sqlite:${join(base, 'data', 'ferry.db')}` },
      gracefulShutdown: { loggingInterval: 1000 },
      log: { level: 'warn' },
      as2d: section.schema.parse(as2dSection(dir, inbox)),
    };

    const large = randomBytes(8 * 2 ** 20);
    const big = await message(dir, alice, ferry, large, 'large.bin', '<large-1@alice>');
    const late = await message(dir, alice, ferry, Buffer.from('late order'), 'late.edi', '<late-1@alice>');

    let as2d = new As2dProcess(entry, config);
    try {
      await until(() => as2d.port > 0 && as2d.states.includes('running'), 20_000, 'as2d to listen');
      const url = `http://127.0.0.1:${as2d.port}/as2`;
      const receiving = post(url, big, '2M');
      await sleep(1000);
      as2d.stop('graceful', Date.now() + 60_000);
      await until(() => as2d.states.includes('draining'), 5000, 'draining');

      const refused = await post(url, late);
      expect(refused.status).toBe(503);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

      const answer = await receiving;
      expect(answer.status).toBe(200);
      expect(await mdnMic(dir, ferry, answer)).toBe(`${createHash('sha256').update(big.signed).digest('base64')}, sha-256`);
      expect(await as2d.exited).toBe(0);
      expect(Date.now() - answer.endedAt).toBeLessThan(3000);
      expect(sha256(await readFile(join(inbox, 'large.bin')))).toBe(sha256(large));

      as2d = new As2dProcess(entry, config);
      await until(() => as2d.port > 0 && as2d.states.includes('running'), 20_000, 'as2d to listen again');
      const again = `http://127.0.0.1:${as2d.port}/as2`;
      for (let i = 0; i < 2; i++) {
        const resent = await post(again, late);
        expect(resent.status).toBe(200);
        expect(await mdnMic(dir, ferry, resent)).toBe(`${createHash('sha256').update(late.signed).digest('base64')}, sha-256`);
      }
      expect((await readdir(inbox)).sort()).toEqual(['large.bin', 'late.edi']);
      as2d.stop('graceful', Date.now() + 10_000);
      expect(await as2d.exited).toBe(0);
    } finally {
      as2d.kill();
    }
  });
});

describe('as2d graceful stop: stop_as2d -g -timeout 60 on a node', () => {
  let node: RunningNode;
  const inbox = () => join(node.dir, 'inbox');

  beforeAll(async () => {
    const section = (inboxDir: string) => {
      const s = as2dSection(dir, inboxDir);
      const partner = (s.partners as Record<string, string>[])[0]!;
      return [
        'as2d:',
        '  port: 0',
        '  host: 127.0.0.1',
        '  as2Id: FERRY',
        `  certificate: ${String(s.certificate)}`,
        `  privateKey: ${String(s.privateKey)}`,
        '  partners:',
        `    - {id: ALICE, certificate: ${partner.certificate}, inbox: ${inboxDir}}`,
      ].join('\n');
    };
    const nodeDir = await makeDir('ferry-e2e-as2d-node-');
    node = await startNode({ dir: nodeDir, config: (dataDir) => yamlConfig(dataDir, section(join(nodeDir, 'inbox'))) });
  });

  afterAll(async () => {
    await node?.stop();
  });

  async function as2dUrl(): Promise<string> {
    let port = 0;
    await until(
      async () => {
        const { body } = await node.api<{ state: string; listening: { port: number }[] }>('GET', '/api/v1/components/as2d');
        port = body.state === 'running' ? (body.listening[0]?.port ?? 0) : 0;
        return port > 0;
      },
      20_000,
      'as2d to run',
    );
    return `http://127.0.0.1:${port}/as2`;
  }

  /** The SecureTransport console commands, as an operator types them. */
  const stopAs2d = (args: string[]) =>
    node.cli(args, { command: 'stop_as2d' });
  const startAs2d = () => node.cli([], { command: 'start_as2d' });

  it('the message being received completes with its MDN, a new one gets 503, as2d exits right after; the resend is delivered once', async () => {
    const url = await as2dUrl();
    const pid = await node.componentPid('as2d');
    const large = randomBytes(8 * 2 ** 20);
    const big = await message(dir, alice, ferry, large, 'large.bin', '<node-large@alice>');
    const late = await message(dir, alice, ferry, Buffer.from('late order'), 'late.edi', '<node-late@alice>');

    const receiving = post(url, big, '2M');
    await until(async () => (await node.api<unknown[]>('GET', '/api/v1/transfers')).body.length === 1, 10_000, 'the message to be a transfer');
    const stop = stopAs2d(['-g', '-timeout', '60']);
    await until(async () => (await node.api<{ state: string }>('GET', '/api/v1/components/as2d')).body.state === 'draining', 5000, 'draining');

    const refused = await post(url, late);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

    const answer = await receiving;
    expect(answer.status).toBe(200);
    expect(await mdnMic(dir, ferry, answer)).toBe(`${createHash('sha256').update(big.signed).digest('base64')}, sha-256`);
    await until(() => !isAlive(pid!), 5000, 'as2d to exit');
    expect(Date.now() - answer.endedAt).toBeLessThan(2000);
    const cli = await stop;
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect(sha256(await readFile(join(inbox(), 'large.bin')))).toBe(sha256(large));

    expect((await startAs2d()).code).toBe(0);
    const again = await as2dUrl();
    for (let i = 0; i < 2; i++) expect((await post(again, late)).status).toBe(200);
    expect((await readdir(inbox())).sort()).toEqual(['large.bin', 'late.edi']);
    // History rows are written in batches, a few milliseconds after their transfer ends.
    const lateRows = async () => (await node.api<{ path: string; outcome: string }[]>('GET', '/api/v1/history?limit=10')).body.filter((h) => h.path === '/late.edi');
    await until(async () => (await lateRows()).length > 0, 5000, 'late.edi in the history');
    expect(await lateRows()).toHaveLength(1);
  });
});
