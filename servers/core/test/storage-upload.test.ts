import { randomBytes } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { pooledCalls, readAll, readFileVia, rejectsWith, sandbox, streamInto, upload } from './storage-helpers.js';

const partialOf = (home: string, name: string): string => path.join(home, `.${name}.ferry-partial`);

describe('storage: upload lifecycle', () => {
  it('abandon keeps the partial and never publishes; a resume continues it; commit publishes', async () => {
    const { storage, home } = await sandbox();
    const first = await storage.openWrite('/f.bin');
    expect(first.offset).toBe(0);
    await streamInto(first, 'hello');
    expect(first.bytesWritten).toBe(5);
    await first.abandon();
    await first.abandon(); // idempotent

    await rejectsWith(storage.stat('/f.bin'), 'FERRY_ERR_NOT_FOUND');
    expect(await storage.partialSize('/f.bin')).toBe(5);
    expect(await readdir(home)).toEqual(['.f.bin.ferry-partial']);
    expect(await storage.list('/')).toEqual([]);

    const resumed = await storage.openWrite('/f.bin', { offset: 5 });
    expect(resumed.offset).toBe(5);
    await streamInto(resumed, ' world');
    expect(await resumed.size()).toBe(11);
    const published = await resumed.commit();
    expect(published).toMatchObject({ name: 'f.bin', path: '/f.bin', type: 'file', size: 11 });
    expect((await readFileVia(storage, '/f.bin')).toString()).toBe('hello world');
    expect(await storage.partialSize('/f.bin')).toBeUndefined();
    expect(await readdir(home)).toEqual(['f.bin']);
  });

  it('resuming below the partial size truncates to the offset; append resumes at its end', async () => {
    const { storage } = await sandbox();
    const first = await storage.openWrite('/f');
    await streamInto(first, 'hello');
    await first.abandon();

    const rewind = await storage.openWrite('/f', { offset: 3 });
    expect(await rewind.size()).toBe(3);
    await streamInto(rewind, 'p');
    await rewind.abandon();

    const append = await storage.openWrite('/f', { append: true });
    expect(append.offset).toBe(4);
    await streamInto(append, '!');
    await append.commit();
    expect((await readFileVia(storage, '/f')).toString()).toBe('help!');
  });

  it('commit replaces the published file atomically: open readers keep the old content', async () => {
    const { storage, home } = await sandbox();
    await upload(storage, '/doc', 'old content');
    const before = await stat(path.join(home, 'doc'));
    const reader = await storage.openRead('/doc');

    const handle = await storage.openWrite('/doc');
    await streamInto(handle, 'new');
    // Until commit the published file is untouched.
    expect((await readFile(path.join(home, 'doc'))).toString()).toBe('old content');
    await handle.commit();

    expect((await readFile(path.join(home, 'doc'))).toString()).toBe('new');
    expect((await stat(path.join(home, 'doc'))).ino).not.toBe(before.ino);
    expect((await readAll(reader.stream())).toString()).toBe('old content');
    await reader.close();
  });

  it('an abandoned append leaves the published file untouched; the resumed append publishes', async () => {
    const { storage, home } = await sandbox();
    await upload(storage, '/log', 'published');
    const before = await stat(path.join(home, 'log'));

    const append = await storage.openWrite('/log', { append: true });
    expect(append.offset).toBe(9);
    await streamInto(append, ' more');
    await append.abandon();

    const after = await stat(path.join(home, 'log'));
    expect((await readFile(path.join(home, 'log'))).toString()).toBe('published');
    expect([after.ino, after.size, after.mtimeMs]).toEqual([before.ino, before.size, before.mtimeMs]);
    expect((await readFile(partialOf(home, 'log'))).toString()).toBe('published more');

    const resume = await storage.openWrite('/log', { offset: 14 });
    await streamInto(resume, '!');
    await resume.commit();
    expect((await readFileVia(storage, '/log')).toString()).toBe('published more!');
  });

  it('an offset inside the published file (no partial) copies its first bytes', async () => {
    const { storage } = await sandbox();
    await upload(storage, '/f', '0123456789');
    const handle = await storage.openWrite('/f', { offset: 4 });
    expect(await handle.size()).toBe(4);
    await streamInto(handle, 'abc');
    await handle.commit();
    expect((await readFileVia(storage, '/f')).toString()).toBe('0123abc');
  });

  it('a partial too short for the offset gives way to a copy of the published file', async () => {
    const { storage } = await sandbox();
    await upload(storage, '/f', '0123456789');
    const short = await storage.openWrite('/f');
    await streamInto(short, 'xy');
    await short.abandon();
    const handle = await storage.openWrite('/f', { offset: 6 });
    await streamInto(handle, '!');
    await handle.commit();
    expect((await readFileVia(storage, '/f')).toString()).toBe('012345!');
  });

  it('refuses an offset beyond both the partial and the published file, naming both sizes', async () => {
    const { storage } = await sandbox();
    await rejectsWith(storage.openWrite('/none', { offset: 5 }), 'FERRY_ERR_OFFSET_MISMATCH');

    await upload(storage, '/f', 'abc');
    const partial = await storage.openWrite('/f');
    await streamInto(partial, 'ab');
    await partial.abandon();
    const error = await storage.openWrite('/f', { offset: 4 }).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'FERRY_ERR_OFFSET_MISMATCH', details: { offset: 4, partialSize: 2, finalSize: 3 } });
    expect((error as Error).message).toMatch(/partial: 2.*file: 3/);
    // The refused resume destroyed nothing.
    expect(await storage.partialSize('/f')).toBe(2);
    expect((await readFileVia(storage, '/f')).toString()).toBe('abc');

    await rejectsWith(storage.openWrite('/f', { offset: -1 }), 'FERRY_ERR_BAD_REQUEST');
    await rejectsWith(storage.openWrite('/f', { offset: 1.5 }), 'FERRY_ERR_BAD_REQUEST');
  });

  it('discard deletes the partial and leaves the published file', async () => {
    const { storage, home } = await sandbox();
    await upload(storage, '/f', 'keep');
    const handle = await storage.openWrite('/f');
    await streamInto(handle, 'drop');
    await handle.discard();
    await handle.discard();
    await handle.abandon(); // settled handles ignore further closing
    expect(await readdir(home)).toEqual(['f']);
    expect((await readFileVia(storage, '/f')).toString()).toBe('keep');
  });

  it('uploads and reads 0-byte files', async () => {
    const { storage } = await sandbox();
    const handle = await storage.openWrite('/empty');
    expect(await handle.commit()).toMatchObject({ size: 0, type: 'file' });
    await upload(storage, '/empty2', Buffer.alloc(0));
    for (const name of ['/empty', '/empty2']) {
      const reader = await storage.openRead(name);
      expect(reader.size).toBe(0);
      expect(await readAll(reader.stream())).toHaveLength(0);
      expect(await reader.read(Buffer.alloc(4), 0)).toBe(0);
      await reader.close();
    }
    const append = await storage.openWrite('/empty', { append: true });
    expect(append.offset).toBe(0);
    await append.discard();
  });

  it('random-access writes (SFTP) land at their positions, holes read as zeros', async () => {
    const { storage } = await sandbox();
    const handle = await storage.openWrite('/r');
    await handle.write(Buffer.from('world'), 6);
    await handle.write(Buffer.from('hello '), 0);
    await handle.write(Buffer.from('!'), 20);
    expect(await handle.size()).toBe(21);
    expect(handle.bytesWritten).toBe(12);
    await handle.commit();
    const content = await readFileVia(storage, '/r');
    expect(content.subarray(0, 11).toString()).toBe('hello world');
    expect(content.subarray(11, 20)).toEqual(Buffer.alloc(9));
    expect(content.subarray(20).toString()).toBe('!');
  });

  it('writes taken on the spot (writeNow) land at their positions and count; refused once committed', async () => {
    const { storage } = await sandbox();
    const handle = await storage.openWrite('/n');
    // A network filesystem's file is never written on the event loop: the caller uses write().
    const onSpot = !pooledCalls();
    for (const [text, at] of [['world', 6], ['hello ', 0]] as const) {
      if (handle.writeNow?.(Buffer.from(text), at) !== onSpot) throw new Error(`writeNow should have answered ${onSpot}`);
      if (!onSpot) await handle.write(Buffer.from(text), at);
    }
    expect(handle.bytesWritten).toBe(11);
    expect(() => handle.writeNow?.(Buffer.from('x'), -1)).toThrow(/non-negative/);
    await handle.commit();
    expect((await readFileVia(storage, '/n')).toString()).toBe('hello world');
    expect(() => handle.writeNow?.(Buffer.from('late'), 11)).toThrow();
  });

  it('a second stream continues where the first finished', async () => {
    const { storage } = await sandbox();
    const handle = await storage.openWrite('/two');
    await streamInto(handle, 'first,');
    await streamInto(handle, 'second');
    expect(handle.bytesWritten).toBe(12);
    await handle.commit();
    expect((await readFileVia(storage, '/two')).toString()).toBe('first,second');
  });

  it('streams large files intact, batching buffered chunks', async () => {
    const { storage } = await sandbox();
    const data = randomBytes(8 * 1024 * 1024 + 123);
    const handle = await storage.openWrite('/big');
    // Many small chunks queue up behind each write and go out as one writev.
    const chunks = Array.from({ length: Math.ceil(data.length / 16384) }, (_, i) => data.subarray(i * 16384, (i + 1) * 16384));
    await pipeline(Readable.from(chunks), handle.stream());
    expect(handle.bytesWritten).toBe(data.length);
    await handle.commit();
    expect((await readFileVia(storage, '/big')).equals(data)).toBe(true);
  });

  it('refuses writing into a missing directory, onto a directory, or under a file', async () => {
    const { storage } = await sandbox();
    await storage.mkdir('/dir');
    await upload(storage, '/file', 'x');
    await rejectsWith(storage.openWrite('/missing/f'), 'FERRY_ERR_NOT_FOUND');
    await rejectsWith(storage.openWrite('/missing/deeper/f'), 'FERRY_ERR_NOT_FOUND');
    await rejectsWith(storage.openWrite('/dir'), 'FERRY_ERR_IS_A_DIRECTORY');
    await rejectsWith(storage.openWrite('/file/f'), 'FERRY_ERR_NOT_A_DIRECTORY');
    await rejectsWith(storage.stat('/missing'), 'FERRY_ERR_NOT_FOUND');
  });

  it('commit onto a name that became a directory fails and keeps the partial', async () => {
    const { storage } = await sandbox();
    const handle = await storage.openWrite('/x');
    await streamInto(handle, 'data');
    await storage.mkdir('/x');
    await rejectsWith(handle.commit(), 'FERRY_ERR_IS_A_DIRECTORY');
    expect(await storage.partialSize('/x')).toBe(4);
  });

  it('refuses commit before the stream finished and after a cut stream', async () => {
    const { storage } = await sandbox();
    const handle = await storage.openWrite('/x');
    const stream = handle.stream();
    stream.write('partial data');
    await expect(handle.commit()).rejects.toThrow(/before its stream finished/);
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    await rejectsWith(handle.commit(), 'FERRY_ERR_TRANSFER_ABORTED');
    await handle.abandon();
    await rejectsWith(storage.stat('/x'), 'FERRY_ERR_NOT_FOUND');
  });
});

describe('storage: one writer per partial', () => {
  it('a newer upload of the same file takes over; the older handle is aborted', async () => {
    const { storage, home } = await sandbox();
    const stale = await storage.openWrite('/s');
    await stale.write(Buffer.from('stale'), 0);
    const fresh = await storage.openWrite('/s', { offset: 5 });

    await rejectsWith(stale.write(Buffer.from('late'), 5), 'FERRY_ERR_TRANSFER_ABORTED');
    await rejectsWith(stale.commit(), 'FERRY_ERR_TRANSFER_ABORTED');
    await stale.discard(); // must not delete the partial now owned by `fresh`
    expect(await storage.partialSize('/s')).toBe(5);

    await fresh.write(Buffer.from('-fresh'), 5);
    await fresh.commit();
    expect((await readFile(path.join(home, 's'))).toString()).toBe('stale-fresh');
  });

  it('aborts the stale handle stream with a typed error', async () => {
    const { storage } = await sandbox();
    const stale = await storage.openWrite('/s');
    const stream = stale.stream();
    const failed = new Promise<unknown>((resolve) => stream.once('error', resolve));
    stream.write('some');
    const fresh = await storage.openWrite('/s');
    expect(await failed).toMatchObject({ code: 'FERRY_ERR_TRANSFER_ABORTED' });
    await streamInto(fresh, 'fresh');
    await fresh.commit();
    expect((await readFileVia(storage, '/s')).toString()).toBe('fresh');
  });

  it('applies across Storage instances over the same home', async () => {
    const { storage, home } = await sandbox();
    const { localStorage } = await import('../src/storage/index.js');
    const other = await localStorage(home);
    const stale = await storage.openWrite('/s');
    const fresh = await other.openWrite('/s');
    await rejectsWith(stale.write(Buffer.from('x'), 0), 'FERRY_ERR_TRANSFER_ABORTED');
    await fresh.discard();
  });

  it('a partial replaced behind the handle (another process) is not published', async () => {
    const { storage, home } = await sandbox();
    const handle = await storage.openWrite('/p');
    await streamInto(handle, 'mine');
    const { rm } = await import('node:fs/promises');
    await rm(partialOf(home, 'p'));
    await writeFile(partialOf(home, 'p'), 'theirs');
    await rejectsWith(handle.commit(), 'FERRY_ERR_TRANSFER_ABORTED');
    await rejectsWith(storage.stat('/p'), 'FERRY_ERR_NOT_FOUND');
  });
});
