import fs from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileDescriptor } from '../src/storage/descriptor.js';
import { fsCalls, type MetadataMode } from '../src/storage/fs-calls.js';

const dirs: string[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function openFile(mode: MetadataMode): Promise<{ file: FileDescriptor; where: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-fd-'));
  dirs.push(dir);
  const where = path.join(dir, 'f.bin');
  const calls = fsCalls(mode);
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
  return { file: new FileDescriptor(await calls.open(where, flags, 0o600), calls), where };
}

describe.each(['inline', 'pooled'] as const)('storage: FileDescriptor with %s metadata calls', (mode) => {
  it('writes at positions, large writes and vectors included, and reads its size', async () => {
    const { file, where } = await openFile(mode);
    await file.write(Buffer.from('hello'), 0, 5, 0);
    const big = Buffer.alloc(300 * 1024, 7); // above the inline limit: through the thread pool
    await file.write(big, 0, big.length, 5);
    await file.writev([Buffer.from('a'), Buffer.from('b')], 5 + big.length);
    expect((await file.stat()).size).toBe(5 + big.length + 2);
    await file.close();
    const stored = await readFile(where);
    expect(stored.subarray(0, 5).toString()).toBe('hello');
    expect(stored.subarray(-2).toString()).toBe('ab');
  });

  it('closes only once the writes in flight are done, and refuses new ones after close()', async () => {
    const { file, where } = await openFile(mode);
    let release: () => void = () => undefined;
    const real = fs.write;
    // Holds the one pooled write until the test lets it go.
    vi.spyOn(fs, 'write').mockImplementation(((...args: unknown[]) => {
      const done = args.at(-1) as (err: Error | null, n: number) => void;
      release = () => (real as (...a: unknown[]) => void)(...args.slice(0, -1), done);
    }) as typeof fs.write);
    const big = Buffer.alloc(300 * 1024, 1); // above the inline limit: through the thread pool
    const writing = file.write(big, 0, big.length, 0);
    const closing = file.close();
    let closed = false;
    void closing.then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false);
    await expect(file.write(big, 0, 10, 0)).rejects.toMatchObject({ code: 'EBADF' });
    release();
    await writing;
    await closing;
    expect(closed).toBe(true);
    expect((await readFile(where)).length).toBe(big.length);
    expect(file.close()).toBe(closing); // idempotent
  });
});

describe('storage: FileDescriptor, where its writes are made', () => {
  const chunk = Buffer.alloc(64 * 1024, 2);

  it('writes inline only while it is the only file being written in the process', async () => {
    const inline = vi.spyOn(fs, 'writeSync');
    const pooled = vi.spyOn(fs, 'write');
    const a = await openFile('inline');
    const b = await openFile('inline');
    await a.file.write(chunk, 0, chunk.length, 0);
    expect([inline.mock.calls.length, pooled.mock.calls.length]).toEqual([1, 0]);
    await b.file.write(chunk, 0, chunk.length, 0);
    await a.file.write(chunk, 0, chunk.length, chunk.length);
    expect([inline.mock.calls.length, pooled.mock.calls.length]).toEqual([1, 2]);
    await b.file.close();
    await a.file.write(chunk, 0, chunk.length, 2 * chunk.length);
    expect([inline.mock.calls.length, pooled.mock.calls.length]).toEqual([2, 2]);
    await a.file.close();
    expect((await readFile(a.where)).equals(Buffer.concat([chunk, chunk, chunk]))).toBe(true);
    expect((await readFile(b.where)).equals(chunk)).toBe(true);
  });

  it('after inline writes the kernel held up, writes go through the thread pool for a second', async () => {
    let now = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const realWriteSync = fs.writeSync.bind(fs) as (...args: unknown[]) => number;
    let slow = 50; // as dirty-page throttling would
    const inline = vi.spyOn(fs, 'writeSync').mockImplementation(((...args: unknown[]) => {
      now += slow;
      return realWriteSync(...args);
    }) as typeof fs.writeSync);
    const pooled = vi.spyOn(fs, 'write');
    const { file, where } = await openFile('inline');
    const write = (index: number): Promise<unknown> => file.write(chunk, 0, chunk.length, index * chunk.length);
    // One slow write, then a long quiet while: a hiccup, nothing changes.
    await write(0);
    now += 5000;
    await write(1);
    await write(2);
    await write(3);
    expect([inline.mock.calls.length, pooled.mock.calls.length]).toEqual([4, 0]);
    // Those were three slow writes within a second: the pool takes over for a second.
    await write(4);
    now += 999;
    await write(5);
    expect([inline.mock.calls.length, pooled.mock.calls.length]).toEqual([4, 2]);
    now += 2;
    slow = 0;
    await write(6);
    expect([inline.mock.calls.length, pooled.mock.calls.length]).toEqual([5, 2]);
    await file.close();
    expect((await readFile(where)).length).toBe(7 * chunk.length);
  });
});

describe('storage: writes taken on the spot (writeNow)', () => {
  const chunk = Buffer.alloc(64 * 1024, 3);

  it('writes at once only where write() would be inline, whole even when the kernel writes part', async () => {
    const a = await openFile('inline');
    const b = await openFile('inline');
    const pooled = await openFile('pooled');
    const real = fs.writeSync.bind(fs) as (fd: number, buf: Buffer, off: number, len: number, pos: number) => number;
    let first = true;
    // The first call writes only half, as a full disk or a signal can make it.
    const inline = vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buf: Buffer, off: number, len: number, pos: number) => {
      const count = first ? len / 2 : len;
      first = false;
      return real(fd, buf, off, count, pos);
    }) as typeof fs.writeSync);
    expect(a.file.writeNow(chunk, 0)).toBe(true);
    expect(inline.mock.calls.length).toBe(2);
    expect(pooled.file.writeNow(chunk, 0)).toBe(false); // a network filesystem's file: never on the event loop
    await pooled.file.close(); // it counted as a file being written until now
    await b.file.write(chunk, 0, chunk.length, 0); // two files being written now
    expect(a.file.writeNow(chunk, chunk.length)).toBe(false);
    await b.file.close();
    expect(a.file.writeNow(chunk, chunk.length)).toBe(true);
    await a.file.close();
    expect(a.file.writeNow(chunk, 0)).toBe(false);
    expect((await readFile(a.where)).equals(Buffer.concat([chunk, chunk]))).toBe(true);
  });
});

describe('storage: FileDescriptor on the spot (statNow, closeNow)', () => {
  it('closes at once with inline calls and nothing in flight; otherwise says no and close() decides', async () => {
    const inline = await openFile('inline');
    expect(inline.file.statNow()?.size).toBe(0);
    expect(inline.file.closeNow()).toBe(true);
    await inline.file.close(); // already closed: resolves at once
    expect(inline.file.closeNow()).toBe(false);
    expect(inline.file.statNow()).toBeUndefined();

    const pooled = await openFile('pooled');
    expect(pooled.file.statNow()).toBeUndefined();
    expect(pooled.file.closeNow()).toBe(false);
    await pooled.file.close();

    const busy = await openFile('inline');
    const big = Buffer.alloc(300 * 1024, 6); // above the inline limit: a pooled write, in flight
    const writing = busy.file.write(big, 0, big.length, 0);
    expect(busy.file.closeNow()).toBe(false);
    await writing;
    expect(busy.file.closeNow()).toBe(true);
    expect((await readFile(busy.where)).equals(big)).toBe(true);
  });
});
