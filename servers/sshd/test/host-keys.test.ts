import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@ferry/core';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHostKeys, newHostKey } from '../src/host-keys.js';

const log = createLogger({ component: 'sshd', level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) as never });

describe('host keys', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('are created on first start (ed25519 and RSA, owner-only), reused after, and readable by OpenSSH', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'ferry-keys-')), 'keys');
    dirs.push(dir);
    const first = await loadHostKeys(dir, log);
    expect(first).toHaveLength(2);
    for (const file of ['ssh_host_ed25519_key', 'ssh_host_rsa_key']) {
      expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
      // OpenSSH derives the same public key from the private one as the .pub file says.
      const derived = spawnSync('ssh-keygen', ['-y', '-f', join(dir, file)], { encoding: 'utf8' });
      expect(derived.status, derived.stderr).toBe(0);
      const pub = (await readFile(join(dir, `${file}.pub`), 'utf8')).split(' ').slice(0, 2).join(' ');
      expect(derived.stdout.trim().split(' ').slice(0, 2).join(' ')).toBe(pub);
    }
    expect(await loadHostKeys(dir, log)).toEqual(first);
  });

  it('makes ed25519 keys ssh2 always parses (its own generator fails on ~1 in 250)', async () => {
    for (let i = 0; i < 500; i++) {
      const parsed = ssh2.utils.parseKey(await newHostKey('ed25519', 'test'));
      expect(parsed instanceof Error ? parsed.message : parsed.type).toBe('ssh-ed25519');
    }
  });

  it('refuses a key file it cannot use, naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-keys-'));
    dirs.push(dir);
    await import('node:fs/promises').then((fs) => fs.writeFile(join(dir, 'ssh_host_ed25519_key'), 'not a key'));
    await expect(loadHostKeys(dir, log)).rejects.toThrow(/sshd\.hostKeys: cannot use host key .*ssh_host_ed25519_key/);
  });
});
