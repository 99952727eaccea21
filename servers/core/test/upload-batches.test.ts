import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UPLOAD_BATCH, UploadBatches } from '../src/storage/index.js';

/** A sink that keeps every write, each completed on the next turn. */
function sink(): { stream: Writable; writes: Buffer[]; finished: Promise<void> } {
  const writes: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: 2 * UPLOAD_BATCH,
    write(chunk: Buffer, _encoding, done) {
      writes.push(Buffer.from(chunk));
      setImmediate(done);
    },
  });
  const finished = new Promise<void>((resolve) => stream.once('finish', resolve));
  return { stream, writes, finished };
}

describe('UploadBatches', () => {
  it('takes reads in place and in copies alike, and writes whole batches in order', async () => {
    const data = randomBytes(2 * UPLOAD_BATCH + 12345);
    const { stream, writes, finished } = sink();
    const batches = new UploadBatches(stream);
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
    batches.end();
    await finished;
    expect(writes.map((w) => w.length)).toEqual([UPLOAD_BATCH, UPLOAD_BATCH, 12345]);
    expect(Buffer.concat(writes).equals(data)).toBe(true);
  });

  it('says when the sink is full, and refuses a count beyond the space it gave', () => {
    const { stream } = sink();
    const batches = new UploadBatches(stream);
    const results: boolean[] = [];
    for (let i = 0; i < 3; i++) results.push(batches.filled(batches.space().length));
    // The sink holds two batches before it asks the source to wait.
    expect(results).toEqual([true, false, false]);
    expect(() => batches.filled(batches.space().length + 1)).toThrow(RangeError);
    batches.release();
  });
});

describe('UploadBatches with a sink that takes batches on the spot', () => {
  it('hands each full batch over at once and reuses its buffer, falling back to write() when refused', async () => {
    const { stream, writes, finished } = sink();
    const taken: Buffer[] = [];
    let accept = true;
    const direct = Object.assign(stream, {
      writeNow(chunk: Buffer): boolean {
        if (!accept) return false;
        taken.push(Buffer.from(chunk));
        return true;
      },
    });
    const batches = new UploadBatches(direct);
    const data = randomBytes(3 * UPLOAD_BATCH + 10);
    const first = batches.space();
    data.copy(first, 0, 0, UPLOAD_BATCH);
    expect(batches.filled(UPLOAD_BATCH)).toBe(true);
    // Taken on the spot: the same pooled buffer serves the next batch.
    expect(batches.space().buffer).toBe(first.buffer);
    batches.push(data.subarray(UPLOAD_BATCH, 2 * UPLOAD_BATCH));
    accept = false;
    batches.push(data.subarray(2 * UPLOAD_BATCH));
    batches.end();
    await finished;
    expect(taken.map((b) => b.length)).toEqual([UPLOAD_BATCH, UPLOAD_BATCH]);
    expect(writes.map((b) => b.length)).toEqual([UPLOAD_BATCH, 10]);
    expect(Buffer.concat([...taken, ...writes]).equals(data)).toBe(true);
  });

  it('asks the source to wait once a batch taken on the spot failed', () => {
    const { stream } = sink();
    stream.on('error', () => undefined);
    const failing = Object.assign(stream, {
      writeNow(): boolean {
        stream.destroy(new Error('disk full'));
        return true;
      },
    });
    const batches = new UploadBatches(failing);
    expect(batches.filled(batches.space().length)).toBe(false);
    batches.release();
  });
});
