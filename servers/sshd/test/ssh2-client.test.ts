import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IO_SIZE } from '../src/index.js';
import { p, PASSWORD, randomFile, sha256, sha256File, ssh2Connect, startSshd, USER, type Harness } from './helpers.js';

/** ssh2's own client (password logins), and what the daemon answers beyond what OpenSSH shows. */
describe('ssh2 client', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startSshd();
  });

  afterAll(async () => {
    await h?.close();
  });

  it.each([0, 1, 1024 * 1024, 100 * 1024 * 1024])('fastPut and fastGet %i bytes byte-identical', async (size) => {
    const source = await randomFile(h.dir, `s${size}.bin`, size);
    const s = await ssh2Connect(h);
    try {
      await p.fastPut(s.sftp, source.path, `/s${size}.bin`);
      expect(await sha256File(join(h.home, `s${size}.bin`))).toBe(sha256(source.data));
      await p.fastGet(s.sftp, `/s${size}.bin`, join(h.dir, `s${size}.back`));
      expect(await sha256File(join(h.dir, `s${size}.back`))).toBe(sha256(source.data));
    } finally {
      s.end();
    }
  });

  it('lists, renames, deletes, makes and removes directories', async () => {
    const s = await ssh2Connect(h);
    try {
      await p.mkdir(s.sftp, '/d');
      const handle = await p.open(s.sftp, '/d/one.txt', 'w');
      await p.write(s.sftp, handle, Buffer.from('hello'), 0);
      await p.close(s.sftp, handle);
      expect((await p.readdir(s.sftp, '/d')).map((e) => e.filename)).toEqual(['one.txt']);
      await p.rename(s.sftp, '/d/one.txt', '/d/two.txt');
      expect(await readFile(join(h.home, 'd', 'two.txt'), 'utf8')).toBe('hello');
      await expect(p.rmdir(s.sftp, '/d')).rejects.toThrow(/not empty/);
      await p.unlink(s.sftp, '/d/two.txt');
      await p.rmdir(s.sftp, '/d');
      expect(existsSync(join(h.home, 'd'))).toBe(false);
      await expect(p.stat(s.sftp, '/d')).rejects.toThrow(/no such file/i);
    } finally {
      s.end();
    }
  });

  it('advertises large reads and writes through limits@openssh.com', async () => {
    const s = await ssh2Connect(h);
    try {
      await new Promise((r) => setTimeout(r, 50)); // ssh2 asks for the limits right after the handshake
      const internals = s.sftp as unknown as { _extensions: Record<string, string>; _maxReadLen: number; _maxWriteLen: number };
      expect(internals._extensions).toMatchObject({ 'posix-rename@openssh.com': '1', 'limits@openssh.com': '1', 'fsync@openssh.com': '1' });
      expect(internals._maxReadLen).toBe(DEFAULT_IO_SIZE);
      expect(internals._maxWriteLen).toBe(DEFAULT_IO_SIZE);
    } finally {
      s.end();
    }
  });

  it('a plain RENAME does not replace, posix-rename does', async () => {
    const s = await ssh2Connect(h);
    try {
      for (const name of ['x', 'y']) {
        const handle = await p.open(s.sftp, `/${name}.txt`, 'w');
        await p.write(s.sftp, handle, Buffer.from(name), 0);
        await p.close(s.sftp, handle);
      }
      // ssh2 uses posix-rename only through ext_openssh_rename.
      const plain = new Promise<void>((ok, ko) => s.sftp.rename('/x.txt', '/y.txt', (e) => (e ? ko(e) : ok())));
      await expect(plain).rejects.toThrow(/already exists/);
      await new Promise<void>((ok, ko) => s.sftp.ext_openssh_rename('/x.txt', '/y.txt', (e) => (e ? ko(e) : ok())));
      expect(await readFile(join(h.home, 'y.txt'), 'utf8')).toBe('x');
    } finally {
      s.end();
    }
  });

  it('answers statvfs and fsync', async () => {
    const s = await ssh2Connect(h);
    try {
      const vfs = await new Promise<{ f_bsize: number; f_blocks: number }>((ok, ko) =>
        s.sftp.ext_openssh_statvfs('/', (e, st) => (e ? ko(e) : ok(st as { f_bsize: number; f_blocks: number }))),
      );
      expect(vfs.f_bsize).toBeGreaterThan(0);
      expect(vfs.f_blocks).toBeGreaterThan(0);
      const handle = await p.open(s.sftp, '/synced.txt', 'w');
      await p.write(s.sftp, handle, Buffer.from('data'), 0);
      await new Promise<void>((ok, ko) => s.sftp.ext_openssh_fsync(handle, (e) => (e ? ko(e) : ok())));
      await p.close(s.sftp, handle);
      expect(await readFile(join(h.home, 'synced.txt'), 'utf8')).toBe('data');
    } finally {
      s.end();
    }
  });

  it('an upload is invisible under its name until CLOSE, and stat shows what is stored so far', async () => {
    const s = await ssh2Connect(h);
    try {
      const handle = await p.open(s.sftp, '/growing.bin', 'w');
      await p.write(s.sftp, handle, Buffer.alloc(1000, 1), 0);
      expect(existsSync(join(h.home, 'growing.bin'))).toBe(false);
      // The partial's size, so that a resuming client knows where to continue.
      expect((await p.stat(s.sftp, '/growing.bin')).size).toBe(1000);
      expect((await p.readdir(s.sftp, '/')).map((e) => e.filename)).not.toContain('growing.bin');
      await p.close(s.sftp, handle);
      expect((await stat(join(h.home, 'growing.bin'))).size).toBe(1000);
    } finally {
      s.end();
    }
  });

  it('every open file is a transfer in the registry, ended once on close', async () => {
    await randomFile(h.home, 'tracked.bin', 300_000);
    const s = await ssh2Connect(h);
    try {
      const down = await p.open(s.sftp, '/tracked.bin', 'r');
      const up = await p.open(s.sftp, '/tracked-up.bin', 'w');
      await p.write(s.sftp, up, Buffer.alloc(5000, 7), 0);
      const snapshots = h.runtime.transfers.list();
      expect(snapshots).toHaveLength(2);
      expect(snapshots.find((t) => t.direction === 'download')).toMatchObject({ path: '/tracked.bin', size: 300_000, protocol: 'sftp', account: USER });
      expect(snapshots.find((t) => t.direction === 'upload')).toMatchObject({ path: '/tracked-up.bin', bytes: 5000, account: USER });
      const buf = Buffer.alloc(300_000);
      let at = 0;
      while (at < buf.length) {
        at += await new Promise<number>((ok, ko) => s.sftp.read(down, buf, at, buf.length - at, at, (e, n) => (e ? ko(e) : ok(n))));
      }
      await p.close(s.sftp, down);
      await p.close(s.sftp, up);
      expect(h.runtime.transfers.size).toBe(0);
      await expect.poll(async () => (await h.store.history.list({ limit: 2 })).map((r) => `${r.path} ${r.outcome} ${r.bytes}`).sort()).toEqual([
        '/tracked-up.bin completed 5000',
        '/tracked.bin completed 300000',
      ]);
    } finally {
      s.end();
    }
  });

  it('answers requests for handles it never gave with a failure, not a crash', async () => {
    const s = await ssh2Connect(h);
    try {
      const bogus = Buffer.from([0, 0, 0, 99]);
      await expect(p.close(s.sftp, bogus)).rejects.toThrow(/invalid handle/);
      await expect(p.write(s.sftp, bogus, Buffer.from('x'), 0)).rejects.toThrow(/invalid handle/);
      expect((await p.readdir(s.sftp, '/')).length).toBeGreaterThan(0);
    } finally {
      s.end();
    }
  });

  it('refuses a wrong password, an unknown account and an unregistered key', async () => {
    await expect(ssh2Connect(h, { password: 'wrong' })).rejects.toThrow(/authentication methods failed/);
    await expect(ssh2Connect(h, { username: 'nobody' })).rejects.toThrow(/authentication methods failed/);
    const { privateKey } = await new Promise<{ privateKey: string }>((ok, ko) =>
      ssh2.utils.generateKeyPair('ed25519', (e, keys) => (e ? ko(e) : ok({ privateKey: keys.private }))),
    );
    await expect(ssh2Connect(h, { password: undefined, privateKey })).rejects.toThrow(/authentication methods failed/);
  });

  it('too many failed logins end the connection with the reason', async () => {
    const strict = await startSshd({ maxAuthTries: 3 });
    try {
      const client = new ssh2.Client();
      let attempts = 0;
      const ended = new Promise<Error>((resolve) => client.on('error', resolve));
      client.connect({
        host: '127.0.0.1',
        port: strict.port,
        username: USER,
        readyTimeout: 30_000,
        // Wrong passwords for as long as the server listens.
        authHandler: (_methods, _partial, next) => {
          attempts++;
          next({ type: 'password', username: USER, password: `wrong-${attempts}` });
        },
      });
      expect((await ended).message).toMatch(/too many authentication failures/);
      expect(attempts).toBe(3);
    } finally {
      await strict.close();
    }
  });

  it('logs in with a registered key', async () => {
    const s = await ssh2Connect(h, { password: undefined, privateKey: await readFile(h.keyFile) });
    s.end();
  });

  it('ends with no transfer and no session left', async () => {
    expect(h.runtime.transfers.size).toBe(0);
    await expect.poll(() => h.runtime.sessions.size).toBe(0);
    expect(PASSWORD).toBeTruthy();
  });
});
