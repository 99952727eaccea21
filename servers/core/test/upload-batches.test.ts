import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UPLOAD_BATCH, UploadBatches, type UploadHandle } from '../src/storage/index.js';

/**
 * An upload that keeps what it is given, by position: `write()` completes on a later turn (as the
 * thread pool would), `writeNow()` takes a batch on the spot while `now` says so.
 */
function upload(offset = 0): UploadHandle & { now: boolean; fail?: Error; took: { at: number; bytes: Buffer; how: 'now' | 'write' }[]; data(): Buffer } {
  const took: { at: number; bytes: Buffer; how: 'now' | 'write' }[] = [];
  const handle = {
    path: '/u.bin',
    offset,
    bytesWritten: 0,
    now: false,
    fail: undefined as Error | undefined,
    took,
    data: () => Buffer.concat([...took].sort((a, b) => a.at - b.at).map((t) => t.bytes)),
    stream: () => {
      throw new Error('not used');
    },
    write: (buf: Buffer, position: number) =>
      new Promise<void>((resolve, reject) =>
        setImmediate(() => {
          if (handle.fail) return reject(handle.fail);
          took.push({ at: position, bytes: Buffer.from(buf), how: 'write' });
          resolve();
        }),
      ),
    writeNow: (buf: Buffer, position: number) => {
      if (!handle.now) return false;
      if (handle.fail) throw handle.fail;
      took.push({ at: position, bytes: Buffer.from(buf), how: 'now' });
      return true;
    },
    size: async () => 0,
    sync: async () => undefined,
    commit: async () => {
      throw new Error('not used');
    },
    abandon: async () => undefined,
    discard: async () => undefined,
  };
  return handle as never;
}

const quiet = { drain: () => undefined, failed: () => undefined };

describe('UploadBatches', () => {
  it('takes reads in place and in copies alike, and writes whole batches from the upload’s offset', async () => {
    const data = randomBytes(2 * UPLOAD_BATCH + 12345);
    const target = upload(1000);
    const batches = new UploadBatches(target, quiet);
    let at = 0;
    // Alternate: a read straight into the batch's free space, then a copied chunk.
    for (let turn = 0; at < data.length; turn++) {
      if (turn % 2 === 0) {
        const space = batches.space();
        expect(space.length).toBeGreaterThan(0);
        const bytes = Math.min(space.length, 70_000, data.length - at);
        data.copy(space, 0, at, at + bytes);
        batches.filled(bytes);
        at += bytes;
      } else {
        const chunk = data.subarray(at, Math.min(at + 50_000, data.length));
        batches.push(chunk);
        at += chunk.length;
      }
    }
    await batches.end();
    expect(target.took.map((t) => [t.at, t.bytes.length])).toEqual([
      [1000, UPLOAD_BATCH],
      [1000 + UPLOAD_BATCH, UPLOAD_BATCH],
      [1000 + 2 * UPLOAD_BATCH, 12345],
    ]);
    expect(target.data().equals(data)).toBe(true);
  });

  it('writes on the spot where the upload can, reusing the same buffer, and through write() where not', async () => {
    const target = upload();
    target.now = true;
    const batches = new UploadBatches(target, quiet);
    const data = randomBytes(3 * UPLOAD_BATCH + 10);
    const first = batches.space();
    data.copy(first, 0, 0, UPLOAD_BATCH);
    expect(batches.filled(UPLOAD_BATCH)).toBe(true);
    // Taken on the spot: the same pooled buffer serves the next batch.
    expect(batches.space().buffer).toBe(first.buffer);
    batches.push(data.subarray(UPLOAD_BATCH, 2 * UPLOAD_BATCH));
    target.now = false;
    batches.push(data.subarray(2 * UPLOAD_BATCH));
    await batches.end();
    expect(target.took.map((t) => t.how)).toEqual(['now', 'now', 'write', 'write']);
    expect(target.data().equals(data)).toBe(true);
  });

  it('asks the source to wait while many batches are being written, and says when to go on', async () => {
    const target = upload();
    let drained = 0;
    const batches = new UploadBatches(target, { drain: () => drained++, failed: () => undefined });
    const answers: boolean[] = [];
    for (let i = 0; i < 80; i++) answers.push(batches.filled(batches.space().length));
    expect(answers.indexOf(false)).toBeGreaterThan(0);
    expect(drained).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(1);
    await batches.end();
    expect(target.took.length).toBe(80);
    expect(() => batches.filled(batches.space().length + 1)).toThrow(RangeError);
    batches.release();
  });

  it('reports a failed write once, drops what follows, and ends with the failure', async () => {
    const target = upload();
    const failures: unknown[] = [];
    const batches = new UploadBatches(target, { drain: () => undefined, failed: (err) => failures.push(err) });
    target.fail = new Error('disk full');
    batches.filled(batches.space().length);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures).toEqual([target.fail]);
    expect(batches.filled(batches.space().length)).toBe(false);
    await expect(batches.end()).rejects.toBe(target.fail);
    // On the spot too: the failure comes after the caller's push/filled returned.
    const onSpot = upload();
    onSpot.now = true;
    onSpot.fail = new Error('gone');
    const seen: unknown[] = [];
    const more = new UploadBatches(onSpot, { drain: () => undefined, failed: (err) => seen.push(err) });
    expect(more.filled(more.space().length)).toBe(false);
    expect(seen).toEqual([]);
    await Promise.resolve();
    expect(seen).toEqual([onSpot.fail]);
    await expect(more.end()).rejects.toBe(onSpot.fail);
  });
});
