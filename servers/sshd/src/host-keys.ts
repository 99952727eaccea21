import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError, type Logger } from '@ferry/core';
import { describeHostKey, generateHostKey, type HostKeyType } from './driver.js';

/** The host keys every Ferry sshd serves, in OpenSSH's file names. */
const HOST_KEYS: readonly { type: HostKeyType; file: string }[] = [
  { type: 'ed25519', file: 'ssh_host_ed25519_key' },
  { type: 'rsa', file: 'ssh_host_rsa_key' },
];

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
    let privateKey = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw hostKeyError(path, err.code ?? String(err), err);
    });
    if (privateKey === undefined) {
      const created = await generateHostKey(type, `ferry-sshd-${type}`);
      await writeAtomically(`${path}.pub`, `${created.publicKey}\n`, 0o644);
      await writeAtomically(path, created.privateKey, 0o600);
      privateKey = created.privateKey;
      log.info({ event: 'sshd.host-key.created', type, file: path }, `created ${type} host key ${path}`);
    }
    let described: { type: string; fingerprint: string };
    try {
      described = describeHostKey(privateKey);
    } catch (err) {
      throw hostKeyError(path, err instanceof Error ? err.message : String(err), err);
    }
    log.info({ event: 'sshd.host-key', type: described.type, fingerprint: described.fingerprint }, `host key ${described.type} ${described.fingerprint}`);
    keys.push(privateKey);
  }
  return keys;
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
