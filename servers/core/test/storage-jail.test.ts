import { mkdir, readdir, symlink, writeFile, rm, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fsCalls } from '../src/storage/fs-calls.js';
import { Jail, childPath, parseVirtual } from '../src/storage/jail.js';
import { readFileVia, rejectsWith, sandbox, streamInto, upload } from './storage-helpers.js';

describe('storage: path traversal', () => {
  it.each(['../x', '/../../etc/passwd', 'a/../../x', '/..', '..'])('refuses %s as outside the home', async (bad) => {
    const { storage } = await sandbox();
    await rejectsWith(storage.stat(bad), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.openRead(bad), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.openWrite(bad), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.list(bad), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.mkdir(bad), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.rename('/x', bad), 'FERRY_ERR_PATH_OUTSIDE_HOME');
  });

  it('applies .. inside the home and treats relative paths as relative to /', async () => {
    const { storage } = await sandbox();
    await storage.mkdir('/a');
    await upload(storage, 'b', 'bee');
    expect((await readFileVia(storage, 'a/../b')).toString()).toBe('bee');
    expect((await readFileVia(storage, '/a/./../b')).toString()).toBe('bee');
    expect(await storage.realpath('a/../b')).toBe('/b');
    expect(await storage.realpath('')).toBe('/');
    expect((await storage.stat('//a//')).path).toBe('/a');
  });

  it('refuses NUL bytes and names reserved for partial uploads', async () => {
    const { storage } = await sandbox();
    await rejectsWith(storage.stat('/a\0b'), 'FERRY_ERR_INVALID_PATH');
    await rejectsWith(storage.openWrite('/x\0'), 'FERRY_ERR_INVALID_PATH');
    await rejectsWith(storage.openRead('/.f.ferry-partial'), 'FERRY_ERR_INVALID_PATH');
    await rejectsWith(storage.openWrite('/.f.ferry-partial'), 'FERRY_ERR_INVALID_PATH');
    await rejectsWith(storage.rename('/f', '/.f.ferry-partial'), 'FERRY_ERR_INVALID_PATH');
    await rejectsWith(storage.mkdir('/d.ferry-partial/x', { recursive: true }), 'FERRY_ERR_INVALID_PATH');
    await rejectsWith(storage.symlink('/.f.ferry-partial', '/l'), 'FERRY_ERR_INVALID_PATH');
  });

  it('refuses what makes no sense on the home itself', async () => {
    const { storage } = await sandbox();
    await rejectsWith(storage.remove('/'), 'FERRY_ERR_PERMISSION_DENIED');
    await rejectsWith(storage.rmdir('/'), 'FERRY_ERR_PERMISSION_DENIED');
    await rejectsWith(storage.rmdir('a/..'), 'FERRY_ERR_PERMISSION_DENIED');
    await rejectsWith(storage.rename('/', '/x'), 'FERRY_ERR_PERMISSION_DENIED');
    await rejectsWith(storage.rename('/x', '/'), 'FERRY_ERR_PERMISSION_DENIED');
    await rejectsWith(storage.openWrite('/'), 'FERRY_ERR_IS_A_DIRECTORY');
    await rejectsWith(storage.openRead('/'), 'FERRY_ERR_IS_A_DIRECTORY');
    await rejectsWith(storage.mkdir('/'), 'FERRY_ERR_EXISTS');
    await storage.mkdir('/', { recursive: true });
    expect(await storage.stat('/')).toMatchObject({ name: '/', path: '/', type: 'directory' });
  });

  it('never names the host path in error messages', async () => {
    const { storage, home } = await sandbox();
    const error = await storage.openRead('/missing/file').catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'FERRY_ERR_NOT_FOUND', details: { path: '/missing/file' } });
    expect((error as Error).message).toContain('/missing/file');
    expect((error as Error).message).not.toContain(home);
    expect(JSON.stringify(error)).not.toContain(home);
  });
});

describe('storage: symlinks pointing out of the home', () => {
  it('refuses reads, listings, stat and readlink through a link to /etc', async () => {
    const { storage, home } = await sandbox();
    await symlink('/etc', path.join(home, 'etc'));
    await rejectsWith(storage.openRead('/etc/passwd'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.stat('/etc/passwd'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.stat('/etc'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.list('/etc'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.lstat('/etc/passwd'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.readlink('/etc'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.realpath('/etc'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.setTimes('/etc/passwd', new Date(0), new Date(0)), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    // The link itself is visible (lstat semantics), it just leads nowhere.
    expect(await storage.lstat('/etc')).toMatchObject({ type: 'symlink', path: '/etc' });
    expect((await storage.list('/')).map((entry) => [entry.name, entry.type])).toEqual([['etc', 'symlink']]);
  });

  it('refuses writes, mkdir and renames through or onto a link to another directory', async () => {
    const { storage, home, outside } = await sandbox();
    await symlink(outside, path.join(home, 'out'));
    await upload(storage, '/a.txt', 'aaa');

    await rejectsWith(storage.openWrite('/out/x'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.openWrite('/out/x', { append: true }), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.partialSize('/out/x'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.mkdir('/out/sub'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.mkdir('/out/sub/deeper', { recursive: true }), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.rename('/a.txt', '/out/a.txt'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.rename('/a.txt', '/out'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.rename('/out', '/elsewhere'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.symlink('/out/x', '/l'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.remove('/out/x'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.rmdir('/out/x'), 'FERRY_ERR_PATH_OUTSIDE_HOME');

    expect(await readdir(outside)).toEqual([]);
    expect((await readFileVia(storage, '/a.txt')).toString()).toBe('aaa');
    // Removing the link only removes the link.
    await storage.remove('/out');
    expect(await readdir(home)).toEqual(['a.txt']);
  });

  it('refuses links to files outside, relative links that climb out and dangling links', async () => {
    const { storage, home, outside } = await sandbox();
    await writeFile(path.join(outside, 'secret.txt'), 'secret');
    await symlink(path.join(outside, 'secret.txt'), path.join(home, 'secret'));
    await symlink('../outside', path.join(home, 'rel'));
    await symlink(path.join(outside, 'not-yet'), path.join(home, 'dangling'));

    await rejectsWith(storage.openRead('/secret'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.openWrite('/secret'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.openRead('/rel/secret.txt'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.openWrite('/dangling'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.mkdir('/dangling', { recursive: true }), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.stat('/dangling'), 'FERRY_ERR_PATH_OUTSIDE_HOME');

    expect((await readFile(path.join(outside, 'secret.txt'))).toString()).toBe('secret');
    expect((await readdir(outside)).sort()).toEqual(['secret.txt']);
  });

  it('re-resolves on every call: a directory swapped for a link out is refused at once', async () => {
    const { storage, home, outside } = await sandbox();
    await storage.mkdir('/d');
    await upload(storage, '/d/f', 'inside');
    await writeFile(path.join(outside, 'f'), 'outside');
    expect((await storage.stat('/d/f')).size).toBe(6);

    await rm(path.join(home, 'd'), { recursive: true });
    await symlink(outside, path.join(home, 'd'));
    await rejectsWith(storage.stat('/d/f'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.openRead('/d/f'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
  });

  it('refuses a commit whose directory was swapped for a link out during the upload', async () => {
    const { storage, home, outside } = await sandbox();
    await storage.mkdir('/d');
    const handle = await storage.openWrite('/d/f');
    await streamInto(handle, 'data');
    await rm(path.join(home, 'd'), { recursive: true });
    await symlink(outside, path.join(home, 'd'));
    await rejectsWith(handle.commit(), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    expect(await readdir(outside)).toEqual([]);
  });
});

describe('storage: symlinks inside the home', () => {
  it('reads, writes and lists through a link to an in-home directory', async () => {
    const { storage, home } = await sandbox();
    await storage.mkdir('/real-docs');
    await symlink(path.join(home, 'real-docs'), path.join(home, 'docs'));
    await symlink('real-docs', path.join(home, 'docs-rel'));

    await upload(storage, '/docs/a.txt', 'through the link');
    expect((await readFileVia(storage, '/docs-rel/a.txt')).toString()).toBe('through the link');
    expect((await storage.list('/docs')).map((entry) => entry.path)).toEqual(['/docs/a.txt']);
    expect(await storage.stat('/docs')).toMatchObject({ type: 'directory', path: '/docs' });
    expect(await storage.lstat('/docs')).toMatchObject({ type: 'symlink' });
    expect(await storage.realpath('/docs/a.txt')).toBe('/real-docs/a.txt');
    expect(await storage.realpath('/docs-rel/new/deeper')).toBe('/real-docs/new/deeper');
    expect(await storage.readlink('/docs')).toBe('/real-docs');
    expect(await storage.readlink('/docs-rel')).toBe('/real-docs');
    await storage.mkdir('/docs/sub');
    expect((await storage.stat('/real-docs/sub')).type).toBe('directory');
  });

  it('writes to the target of a final in-home file link, keeping the link', async () => {
    const { storage } = await sandbox();
    await upload(storage, '/target.txt', 'old');
    await storage.symlink('/target.txt', '/alias');
    await upload(storage, '/alias', 'new');
    expect((await readFileVia(storage, '/target.txt')).toString()).toBe('new');
    expect((await storage.lstat('/alias')).type).toBe('symlink');
  });

  it('creates links with symlink() only to in-home targets, stored relative', async () => {
    const { storage, home } = await sandbox();
    await storage.mkdir('/a/b', { recursive: true });
    await upload(storage, '/a/f', 'eff');
    await storage.symlink('/a/f', '/a/b/link');
    expect((await readFileVia(storage, '/a/b/link')).toString()).toBe('eff');
    expect(await storage.readlink('/a/b/link')).toBe('/a/f');
    const { readlink } = await import('node:fs/promises');
    expect(await readlink(path.join(home, 'a/b/link'))).toBe('../f');
    await storage.symlink('not-yet', '/pending');
    expect(await storage.readlink('/pending')).toBe('/not-yet');
    await rejectsWith(storage.stat('/pending'), 'FERRY_ERR_NOT_FOUND');
    await rejectsWith(storage.symlink('../x', '/l'), 'FERRY_ERR_PATH_OUTSIDE_HOME');
    await rejectsWith(storage.symlink('/a/f', '/a/f'), 'FERRY_ERR_EXISTS');
    await mkdir(path.join(home, 'plain'));
    await rejectsWith(storage.readlink('/plain'), 'FERRY_ERR_INVALID_PATH');
  });
});

describe('storage: host paths spelled from virtual ones', () => {
  it('joins and splits as path.join and path.relative do, for a home and for the root as home', () => {
    for (const home of ['/srv/ftp/alice', '/']) {
      const jail = new Jail(home, fsCalls('inline'));
      for (const input of ['/', 'a', '/a/b/c.bin', 'x/../y/./z']) {
        const vp = parseVirtual(input, 'test');
        const host = jail.lexical(vp);
        expect(host).toBe(vp.isRoot ? home : path.join(home, ...vp.segments));
        expect(jail.toVirtual(host)).toBe(vp.path);
      }
      expect(childPath(home, '.f.bin.ferry-partial')).toBe(path.join(home, '.f.bin.ferry-partial'));
    }
    // Outside the home (callers check containment first) the old spelling is kept.
    expect(new Jail('/srv/ftp/alice', fsCalls('inline')).toVirtual('/srv/ftp/bob/x')).toBe('/../bob/x');
  });
});
