import { generateKeyPair, randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FerryError, type Logger } from '@ferry/core';
import { describeHostKey } from './driver.js';

export type HostKeyType = 'ed25519' | 'rsa';

/** The host keys every Ferry sshd serves, in OpenSSH's file names. */
const HOST_KEYS: readonly { type: HostKeyType; file: string }[] = [
  { type: 'ed25519', file: 'ssh_host_ed25519_key' },
  { type: 'rsa', file: 'ssh_host_rsa_key' },
];

const generate = promisify(generateKeyPair);

/**
 * Reads the host keys from `dir`, creating the missing ones (and the directory) on first start.
 * A key is written to a temporary name and renamed, so a crash never leaves half a key behind; the
 * private key is readable by its owner only, as OpenSSH insists.
 */
export async function loadHostKeys(dir: string, log: Logger): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keys: string[] = [];
  for (const { type, file } of HOST_KEYS) {
    const path = join(dir, file);
    const comment = `ferry-sshd-${type}`;
    let privateKey = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw hostKeyError(path, err.code ?? String(err), err);
    });
    const created = privateKey === undefined;
    privateKey ??= await newHostKey(type, comment);
    let described: ReturnType<typeof describeHostKey>;
    try {
      described = describeHostKey(privateKey, comment);
    } catch (err) {
      throw hostKeyError(path, err instanceof Error ? err.message : String(err), err);
    }
    if (created) {
      await writeAtomically(`${path}.pub`, `${described.publicKeyLine}\n`, 0o644);
      await writeAtomically(path, privateKey, 0o600);
      log.info({ event: 'sshd.host-key.created', type, file: path }, `created ${type} host key ${path}`);
    }
    log.info({ event: 'sshd.host-key', type: described.type, fingerprint: described.fingerprint }, `host key ${described.type} ${described.fingerprint}`);
    keys.push(privateKey);
  }
  return keys;
}

/**
 * node:crypto makes the keys (ssh2's own generator drops a leading zero byte from about one
 * ed25519 public key in 250, which its parser then refuses). RSA is written as PKCS#1 PEM, which
 * ssh2 and OpenSSH read; ed25519 has no PEM form OpenSSH reads, so it is written in OpenSSH's format.
 */
export async function newHostKey(type: HostKeyType, comment: string): Promise<string> {
  if (type === 'rsa') {
    const { privateKey } = await generate('rsa', { modulusLength: 3072 });
    return privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  }
  const { privateKey } = await generate('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return openSshEd25519(Buffer.from(jwk.d ?? '', 'base64url'), Buffer.from(jwk.x ?? '', 'base64url'), comment);
}

/** An unencrypted ed25519 key in OpenSSH's private key format (PROTOCOL.key in OpenSSH's sources). */
function openSshEd25519(seed: Buffer, publicKey: Buffer, comment: string): string {
  const string = (value: Buffer | string): Buffer => {
    const bytes = typeof value === 'string' ? Buffer.from(value) : value;
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const publicBlob = Buffer.concat([string('ssh-ed25519'), string(publicKey)]);
  const check = randomBytes(4);
  const secret = Buffer.concat([check, check, publicBlob, string(Buffer.concat([seed, publicKey])), string(comment)]);
  const padding = Buffer.from(Array.from({ length: (8 - (secret.length % 8)) % 8 }, (_, i) => i + 1));
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    string('none'),
    string('none'),
    string(''),
    count,
    string(publicBlob),
    string(Buffer.concat([secret, padding])),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n');
}

async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeFile(temporary, content, { mode, flag: 'wx' });
  await chmod(temporary, mode);
  await rename(temporary, path);
}

function hostKeyError(path: string, problem: string, cause: unknown): FerryError {
  return new FerryError('FERRY_ERR_CONFIG_INVALID', `sshd.hostKeys: cannot use host key ${path} (${problem})`, {
    cause,
    details: { key: 'sshd.hostKeys', value: path },
  });
}
