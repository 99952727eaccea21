import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FerryError } from '../src/errors.js';
import { storageError } from '../src/storage/errno.js';
import { localStorage } from '../src/storage/index.js';
import { readAll, readFileVia, rejectsWith, sandbox, streamInto, stuckSink, upload } from './storage-helpers.js';

describe('storage: reads', () => {
  it('streams ranges: from the open offset to an inclusive end', async () => {
    const { storage } = await sandbox();
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    await upload(storage, '/r', data);

    const whole = await storage.openRead('/r');
    expect([whole.size, whole.offset]).toEqual([1000, 0]);
    expect((await readAll(whole.stream())).equals(data)).toBe(true);
    // A handle streams as often as asked, each stream independent.
    expect((await readAll(whole.stream({ end: 9 }))).equals(data.subarray(0, 10))).toBe(true);
    await whole.close();

    const ranged = await storage.openRead('/r', { offset: 100 });
    expect((await readAll(ranged.stream({ end: 199 }))).equals(data.subarray(100, 200))).toBe(true);
    expect((await readAll(ranged.stream({ highWaterMark: 7 }))).equals(data.subarray(100))).toBe(true);
    expect(await readAll(ranged.stream({ end: 50 }))).toHaveLength(0);
    await ranged.close();

    const atEnd = await storage.openRead('/r', { offset: 1000 });
    expect(await readAll(atEnd.stream())).toHaveLength(0);
    await atEnd.close();
    await rejectsWith(storage.openRead('/r', { offset: 1001 }), 'FERRY_ERR_OFFSET_MISMATCH');
    await rejectsWith(storage.openRead('/r', { offset: -1 }), 'FERRY_ERR_BAD_REQUEST');
  });

  it('serves random-access reads (SFTP)', async () => {
    const { storage } = await sandbox();
    await upload(storage, '/r', 'abcdefghij');
    const handle = await storage.openRead('/r');
    const buf = Buffer.alloc(4);
    expect(await handle.read(buf, 3)).toBe(4);
    expect(buf.toString()).toBe('defg');
    expect(await handle.read(buf, 8)).toBe(2);
    expect(buf.subarray(0, 2).toString()).toBe('ij');
    expect(await handle.read(buf, 10)).toBe(0);
    await handle.close();
    await handle.close();
  });

  it('streams a large file intact with the default high-water mark', async () => {
    const { storage, home } = await sandbox();
    const data = randomBytes(5 * 1024 * 1024 + 17);
    await writeFile(path.join(home, 'big'), data);
    const handle = await storage.openRead('/big', { offset: 17 });
    expect((await readAll(handle.stream())).equals(data.subarray(17))).toBe(true);
    await handle.close();
  });

  it('close() stops a stream still running instead of hanging', async () => {
    const { storage, home } = await sandbox();
    await writeFile(path.join(home, 'big'), randomBytes(4 * 1024 * 1024));
    const handle = await storage.openRead('/big');
    const stream = handle.stream({ highWaterMark: 64 * 1024 });
    stream.pipe(stuckSink());
    await new Promise((resolve) => stream.once('data', resolve));
    await handle.close();
    expect(stream.destroyed).toBe(true);
  });

  it('refuses directories, missing files and FIFOs without blocking', async () => {
    const { storage, home } = await sandbox();
    await storage.mkdir('/d');
    await rejectsWith(storage.openRead('/d'), 'FERRY_ERR_IS_A_DIRECTORY');
    await rejectsWith(storage.openRead('/nope'), 'FERRY_ERR_NOT_FOUND');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [path.join(home, 'fifo')]);
    await rejectsWith(storage.openRead('/fifo'), 'FERRY_ERR_PERMISSION_DENIED');
    await rejectsWith(storage.openWrite('/fifo'), 'FERRY_ERR_PERMISSION_DENIED');
    expect((await storage.lstat('/fifo')).type).toBe('other');
  });
});

describe('storage: directories and names', () => {
  it('lists a directory of a few thousand entries whole and in order', async () => {
    const { storage, home } = await sandbox();
    await mkdir(path.join(home, 'many'));
    const names = Array.from({ length: 2500 }, (_, i) => `f${String(i).padStart(5, '0')}`);
    await Promise.all(names.map((name) => writeFile(path.join(home, 'many', name), '')));
    expect((await storage.list('/many')).map((entry) => entry.name)).toEqual(names);
  });

  it('lists sorted entries with types and virtual paths, hiding partial uploads', async () => {
    const { storage } = await sandbox();
    await storage.mkdir('/dir/sub', { recursive: true });
    await upload(storage, '/dir/b.txt', 'bb');
    await upload(storage, '/dir/a.txt', 'a');
    await storage.symlink('/dir/a.txt', '/dir/link');
    const pending = await storage.openWrite('/dir/c.txt');
    await streamInto(pending, 'pending');
    await pending.abandon();

    const entries = await storage.list('/dir');
    expect(entries.map(({ name, path: p, type, size }) => ({ name, path: p, type, size }))).toEqual([
      { name: 'a.txt', path: '/dir/a.txt', type: 'file', size: 1 },
      { name: 'b.txt', path: '/dir/b.txt', type: 'file', size: 2 },
      { name: 'link', path: '/dir/link', type: 'symlink', size: expect.any(Number) },
      { name: 'sub', path: '/dir/sub', type: 'directory', size: expect.any(Number) },
    ]);
    expect(entries[0]?.mtime).toBeInstanceOf(Date);
    expect((entries[0]?.mode ?? 0) & 0o170000).toBe(0o100000);
    expect((await storage.list('/')).map((entry) => entry.path)).toEqual(['/dir']);
    await rejectsWith(storage.list('/dir/a.txt'), 'FERRY_ERR_NOT_A_DIRECTORY');
    await rejectsWith(storage.list('/missing'), 'FERRY_ERR_NOT_FOUND');
  });

  it('mkdir: parents must exist unless recursive; existing names are refused', async () => {
    const { storage } = await sandbox();
    await rejectsWith(storage.mkdir('/a/b'), 'FERRY_ERR_NOT_FOUND');
    await storage.mkdir('/a');
    await rejectsWith(storage.mkdir('/a'), 'FERRY_ERR_EXISTS');
    await storage.mkdir('/a/b/c', { recursive: true });
    await storage.mkdir('/a/b/c', { recursive: true });
    expect((await storage.stat('/a/b/c')).type).toBe('directory');
    await upload(storage, '/a/f', 'x');
    await rejectsWith(storage.mkdir('/a/f', { recursive: true }), 'FERRY_ERR_EXISTS');
    await rejectsWith(storage.mkdir('/a/f/g', { recursive: true }), 'FERRY_ERR_NOT_A_DIRECTORY');
    await rejectsWith(storage.mkdir('/a/f/g'), 'FERRY_ERR_NOT_A_DIRECTORY');
  });

  it('rmdir removes empty directories only; leftover partials do not count', async () => {
    const { storage, home } = await sandbox();
    await storage.mkdir('/d/e', { recursive: true });
    await rejectsWith(storage.rmdir('/d'), 'FERRY_ERR_DIRECTORY_NOT_EMPTY');
    await storage.rmdir('/d/e');
    const pending = await storage.openWrite('/d/upload');
    await streamInto(pending, 'x');
    await pending.abandon();
    await storage.rmdir('/d');
    expect(await readdir(home)).toEqual([]);
    await upload(storage, '/f', 'x');
    await rejectsWith(storage.rmdir('/f'), 'FERRY_ERR_NOT_A_DIRECTORY');
    await rejectsWith(storage.rmdir('/nope'), 'FERRY_ERR_NOT_FOUND');
  });

  it('remove deletes files and links, not directories', async () => {
    const { storage, home } = await sandbox();
    await upload(storage, '/f', 'x');
    await storage.mkdir('/d');
    await storage.symlink('/f', '/l');
    await rejectsWith(storage.remove('/d'), 'FERRY_ERR_IS_A_DIRECTORY');
    await storage.remove('/l');
    expect((await storage.stat('/f')).type).toBe('file');
    await storage.remove('/f');
    await rejectsWith(storage.remove('/f'), 'FERRY_ERR_NOT_FOUND');
    expect(await readdir(home)).toEqual(['d']);
  });

  it('rename moves files and directories, replacing files, never into itself', async () => {
    const { storage } = await sandbox();
    await upload(storage, '/a', 'A');
    await upload(storage, '/b', 'B');
    await storage.rename('/a', '/b');
    expect((await readFileVia(storage, '/b')).toString()).toBe('A');
    await rejectsWith(storage.stat('/a'), 'FERRY_ERR_NOT_FOUND');
    await rejectsWith(storage.rename('/a', '/c'), 'FERRY_ERR_NOT_FOUND');

    await storage.mkdir('/d/e', { recursive: true });
    await rejectsWith(storage.rename('/d', '/d/e/d'), 'FERRY_ERR_INVALID_PATH');
    await rejectsWith(storage.rename('/b', '/d'), 'FERRY_ERR_IS_A_DIRECTORY');
    await rejectsWith(storage.rename('/b', '/missing/b'), 'FERRY_ERR_NOT_FOUND');
    await storage.rename('/d', '/moved');
    expect((await storage.stat('/moved/e')).type).toBe('directory');
    await storage.rename('/b', '/moved/e/b');
    expect((await storage.stat('/moved/e/b')).size).toBe(1);
  });

  it('setTimes sets modification times; statfs reports the volume', async () => {
    const { storage } = await sandbox();
    await upload(storage, '/f', 'x');
    const mtime = new Date('2020-01-02T03:04:05Z');
    await storage.setTimes('/f', mtime, mtime);
    expect((await storage.stat('/f')).mtime.getTime()).toBe(mtime.getTime());
    await rejectsWith(storage.setTimes('/nope', mtime, mtime), 'FERRY_ERR_NOT_FOUND');
    const space = await storage.statfs?.();
    expect(space?.bsize).toBeGreaterThan(0);
    expect(space?.blocks).toBeGreaterThan(0);
  });

  it('opens homes: realpath as home, createHome, missing or non-directory homes refused', async () => {
    const { home } = await sandbox();
    const viaLink = path.join(home, '..', 'home-link');
    await symlink(home, viaLink);
    expect((await localStorage(viaLink)).home).toBe(home);
    const created = path.join(home, '..', 'new', 'home');
    expect((await localStorage(created, { createHome: true })).home).toBe(created);
    await rejectsWith(localStorage(path.join(home, '..', 'absent')), 'FERRY_ERR_NOT_FOUND');
    await writeFile(path.join(home, 'file'), 'x');
    await rejectsWith(localStorage(path.join(home, 'file')), 'FERRY_ERR_NOT_A_DIRECTORY');
  });
});

describe('storage: errno mapping', () => {
  const errno = (code: string): Error => Object.assign(new Error(`${code}: failed, open '/srv/host/path'`), { code });

  it.each([
    ['ENOENT', 'FERRY_ERR_NOT_FOUND'],
    ['EEXIST', 'FERRY_ERR_EXISTS'],
    ['ENOTDIR', 'FERRY_ERR_NOT_A_DIRECTORY'],
    ['EISDIR', 'FERRY_ERR_IS_A_DIRECTORY'],
    ['ENOTEMPTY', 'FERRY_ERR_DIRECTORY_NOT_EMPTY'],
    ['EACCES', 'FERRY_ERR_PERMISSION_DENIED'],
    ['EPERM', 'FERRY_ERR_PERMISSION_DENIED'],
    ['ELOOP', 'FERRY_ERR_PATH_OUTSIDE_HOME'],
    ['ENOSPC', 'FERRY_ERR_IO'],
    ['EIO', 'FERRY_ERR_IO'],
  ])('%s → %s, naming the virtual path and keeping the cause', (code, expected) => {
    const cause = errno(code);
    const mapped = storageError(cause, 'write', '/a/b');
    expect(mapped).toBeInstanceOf(FerryError);
    expect(mapped).toMatchObject({ code: expected, details: { path: '/a/b', errno: code } });
    expect(mapped.cause).toBe(cause);
    expect(mapped.message).toContain('/a/b');
    expect(mapped.message).not.toContain('/srv/host/path');
  });

  it('maps errors without errno to FERRY_ERR_IO and passes Ferry errors through', () => {
    expect(storageError(new Error('odd'), 'read', '/x').code).toBe('FERRY_ERR_IO');
    const own = new FerryError('FERRY_ERR_EXISTS', 'x');
    expect(storageError(own, 'read', '/x')).toBe(own);
  });

  it.skipIf(os.userInfo().uid === 0)('reports EACCES from the filesystem as permission denied', async () => {
    const { storage, home } = await sandbox();
    await mkdir(path.join(home, 'locked'));
    await writeFile(path.join(home, 'locked', 'f'), 'x');
    await writeFile(path.join(home, 'unreadable'), 'x');
    await chmod(path.join(home, 'unreadable'), 0o000);
    await chmod(path.join(home, 'locked'), 0o000);
    try {
      await rejectsWith(storage.openRead('/unreadable'), 'FERRY_ERR_PERMISSION_DENIED');
      await rejectsWith(storage.list('/locked'), 'FERRY_ERR_PERMISSION_DENIED');
      await rejectsWith(storage.openWrite('/locked/g'), 'FERRY_ERR_PERMISSION_DENIED');
    } finally {
      await chmod(path.join(home, 'locked'), 0o755);
    }
  });
});
