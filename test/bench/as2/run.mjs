#!/usr/bin/env node
// AS2, signed + encrypted (SHA-256, AES-256-CBC, RSA 2048), Ferry sender → Ferry receiver over
// loopback with a synchronous signed MDN, beside the time `openssl cms` itself needs to
// sign+encrypt and decrypt+verify the same payload (the limit). Usage: node test/bench/as2/run.mjs [rounds]
// Needs the build (`npm run build`, or `npx tsc -b servers/as2d`) and the openssl binary.
import { spawn, spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseCertificate, parsePrivateKey, sendMessage } from '@ferry/as2d';
import { freshDir, makeFile, median, sha256File, WORK } from '../lib/bench.mjs';

const ROUNDS = Math.min(Number(process.argv[2] ?? 3), 10);
const SMALL_MESSAGES = 50;
const MiB = 2 ** 20;
const MB = 1e6;

const dir = await freshDir('as2');
const run = (cmd, args) => {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
};

// Certificates: us (FERRY, receiving) and the partner (ALICE, sending), self-signed RSA 2048.
const party = async (id) => {
  const certFile = join(dir, `${id}.crt`);
  const keyFile = join(dir, `${id}.key`);
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '7', '-subj', `/CN=${id}`]);
  return { certFile, keyFile, certificate: parseCertificate(await readFile(certFile)), privateKey: parsePrivateKey(await readFile(keyFile)) };
};
const ferry = await party('FERRY');
const alice = await party('ALICE');

const files = {
  '1 MiB': await makeFile(join(WORK, 'one-mib.bin'), MiB),
  '100 MiB': await makeFile(join(WORK, 'hundred-mib.bin'), 100 * MiB),
};

/** What openssl cms needs for the same work: sign + encrypt, decrypt + verify (the fastest verify form). */
async function opensslSeconds(file) {
  const payload = await readFile(file);
  const entity = join(dir, 'entity.mime');
  await writeFile(entity, Buffer.concat([Buffer.from('Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n'), payload]));
  const f = (name) => join(dir, name);
  const sign = run('openssl', ['cms', '-sign', '-binary', '-md', 'sha256', '-signer', alice.certFile, '-inkey', alice.keyFile, '-in', entity, '-out', f('signed.smime')]);
  const encrypt = run('openssl', ['cms', '-encrypt', '-binary', '-aes256', '-in', f('signed.smime'), '-outform', 'DER', '-out', f('message.der'), ferry.certFile]);
  const decrypt = run('openssl', ['cms', '-decrypt', '-binary', '-inform', 'DER', '-in', f('message.der'), '-inkey', ferry.keyFile, '-recip', ferry.certFile, '-out', f('decrypted.smime')]);
  const verifySmime = run('openssl', ['cms', '-verify', '-binary', '-in', f('decrypted.smime'), '-CAfile', alice.certFile, '-out', '/dev/null']);
  // The same signature checked detached (no S/MIME parsing): OpenSSL at its fastest.
  run('openssl', ['cms', '-sign', '-binary', '-md', 'sha256', '-signer', alice.certFile, '-inkey', alice.keyFile, '-in', entity, '-outform', 'DER', '-out', f('detached.p7s')]);
  const verifyDetached = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', f('detached.p7s'), '-content', entity, '-CAfile', alice.certFile, '-out', '/dev/null']);
  for (const name of ['entity.mime', 'signed.smime', 'message.der', 'decrypted.smime', 'detached.p7s']) await rm(f(name), { force: true });
  return { signEncrypt: sign + encrypt, decryptVerify: decrypt + Math.min(verifySmime, verifyDetached) };
}

// The receiver, in a process of its own.
const inbox = join(dir, 'inbox');
const dataDir = join(dir, 'data');
const section = {
  port: 0,
  host: '127.0.0.1',
  as2Id: 'FERRY',
  certificate: ferry.certFile,
  privateKey: ferry.keyFile,
  maxMessageSize: '1GiB',
  partners: [{ id: 'ALICE', certificate: alice.certFile, inbox }],
};
const receiver = spawn(process.execPath, [join(import.meta.dirname, 'receiver.mjs'), JSON.stringify({ dataDir, section })], { stdio: ['ignore', 'pipe', 'inherit'] });
const { port } = await new Promise((resolve, reject) => {
  createInterface({ input: receiver.stdout }).once('line', (line) => resolve(JSON.parse(line)));
  receiver.once('exit', (code) => reject(new Error(`the receiver exited with ${code}`)));
});
const url = `http://127.0.0.1:${port}/as2`;

const send = async (file, messageId) => {
  const started = process.hrtime.bigint();
  const result = await sendMessage({
    from: { as2Id: 'ALICE', identity: { certificate: alice.certificate, privateKey: alice.privateKey } },
    to: { as2Id: 'FERRY', url, certificate: ferry.certificate },
    payload: { file },
    filename: messageId.replace(/\W/g, '') + '.bin',
    messageId,
    sign: 'sha-256',
    encrypt: 'aes256-cbc',
  });
  if (result.status !== 'processed') throw new Error(`${messageId}: ${result.status} ${result.detail}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
};

const rows = [];
try {
  // Warm-up: JIT, the first TLS-less connection, the store.
  await send(files['1 MiB'], '<warmup@bench>');

  const small = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < SMALL_MESSAGES; i++) await send(files['1 MiB'], `<s${round}-${i}@bench>`);
    small.push(Number(process.hrtime.bigint() - started) / 1e9 / SMALL_MESSAGES);
    await rm(inbox, { recursive: true, force: true });
  }
  const big = [];
  for (let round = 0; round < ROUNDS; round++) {
    big.push(await send(files['100 MiB'], `<b${round}@bench>`));
    if (round === 0 && (await sha256File(join(inbox, `b0bench.bin`))) !== (await sha256File(files['100 MiB']))) throw new Error('Ferry stored a different file');
    await rm(inbox, { recursive: true, force: true });
  }

  for (const [name, seconds, bytes] of [
    ['1 MiB', median(small), MiB],
    ['100 MiB', median(big), 100 * MiB],
  ]) {
    const ssl = [];
    for (let round = 0; round < ROUNDS; round++) ssl.push(await opensslSeconds(files[name]));
    const signEncrypt = median(ssl.map((s) => s.signEncrypt));
    const decryptVerify = median(ssl.map((s) => s.decryptVerify));
    rows.push({ name, seconds, bytes, signEncrypt, decryptVerify });
  }
} finally {
  receiver.kill('SIGTERM');
}

const lines = [
  `AS2 signed + encrypted (SHA-256, AES-256-CBC, RSA 2048), sync signed MDN, loopback, median of ${ROUNDS} rounds (${new Date().toISOString().slice(0, 10)})`,
  '| payload | Ferry messages/s | Ferry MB/s | Ferry s/message (send → stored → MDN verified) | openssl cms sign+encrypt s | openssl cms decrypt+verify s | openssl total s | Ferry ÷ openssl time |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const total = r.signEncrypt + r.decryptVerify;
    return `| ${r.name} | ${(1 / r.seconds).toFixed(1)} | ${(r.bytes / MB / r.seconds).toFixed(0)} | ${r.seconds.toFixed(3)} | ${r.signEncrypt.toFixed(3)} | ${r.decryptVerify.toFixed(3)} | ${total.toFixed(3)} | ${(r.seconds / total).toFixed(2)}× |`;
  }),
];
console.log(lines.join('\n'));
