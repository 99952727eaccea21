import fs, { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { p, ssh2Connect, startSshd, type Harness, type Ssh2Session } from './helpers.js';

function fsync(s: Ssh2Session, handle: Buffer): Promise<void> {
  return new Promise<void>((ok, ko) => s.sftp.ext_openssh_fsync(handle, (e) => (e ? ko(e) : ok())));
}

/** fsync@openssh.com (`put -f`) really syncs the partial file the writes went to. */
describe('fsync@openssh.com', () => {
  let h: Harness;
  // The server runs in this process; storage syncs through node:fs's fsync.
  type Fsync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;
  const spyFsync = () => vi.spyOn(fs as unknown as { fsync: Fsync }, 'fsync');

  beforeAll(async () => {
    h = await startSshd();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    await h?.close();
  });

  it('answers once every earlier write is in the partial and fsynced, before the file is published', async () => {
    const s = await ssh2Connect(h);
    try {
      const handle = await p.open(s.sftp, '/durable.bin', 'w');
      // Not awaited: fsync must wait for both writes, whatever order the replies come in.
      const writes = [p.write(s.sftp, handle, Buffer.from('first '), 0), p.write(s.sftp, handle, Buffer.from('second'), 6)];
      const synced: string[] = [];
      const partial = join(h.home, '.durable.bin.ferry-partial');
      const sync = spyFsync().mockImplementation((_fd, done) => {
        // What the fsync covers: the partial holds both writes when it is called.
        readFile(partial, 'utf8').then((text) => (synced.push(text), done(null)), done);
      });
      await fsync(s, handle);
      await Promise.all(writes);
      expect(sync).toHaveBeenCalledTimes(1);
      expect(synced).toEqual(['first second']);
      expect(existsSync(join(h.home, 'durable.bin'))).toBe(false);
      sync.mockRestore();
      await p.close(s.sftp, handle);
      expect(await readFile(join(h.home, 'durable.bin'), 'utf8')).toBe('first second');
    } finally {
      s.end();
    }
  });

  it('fails when the sync fails, and is a no-op on a file opened for reading', async () => {
    const s = await ssh2Connect(h);
    try {
      const handle = await p.open(s.sftp, '/failing.bin', 'w');
      await p.write(s.sftp, handle, Buffer.from('data'), 0);
      spyFsync().mockImplementationOnce((_fd, done) => done(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })));
      await expect(fsync(s, handle)).rejects.toThrow(/storage failure \(EIO\)|failure/i);
      await p.close(s.sftp, handle);

      const sync = spyFsync();
      const read = await p.open(s.sftp, '/failing.bin', 'r');
      await fsync(s, read);
      await p.close(s.sftp, read);
      expect(sync).not.toHaveBeenCalled();
    } finally {
      s.end();
    }
  });
});
