import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TransferRegistry, type ReadHandle } from '@ferry/core';
import { Cut } from '../src/cut.js';
import { sendFile } from '../src/transfer-io.js';

/** A file held in memory; each read resolves on a later turn (as the thread pool's would), and `shrinkTo` cuts it short. */
function fileOf(data: Buffer, shrinkTo = data.length): ReadHandle & { reads: number[] } {
  const reads: number[] = [];
  return {
    path: '/f.bin',
    size: data.length,
    offset: 0,
    reads,
    stream: () => Readable.from([]),
    read: (buf, position) =>
      new Promise((resolve) =>
        setImmediate(() => {
          reads.push(position);
          resolve(data.copy(buf, 0, position, Math.min(shrinkTo, position + buf.length)));
        }),
      ),
    close: async () => undefined,
  };
}

/** Sends `file` over a loopback connection; resolves with what the client received. */
async function download(file: ReadHandle): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  const received = new Promise<Buffer>((resolve) => client.once('end', () => resolve(Buffer.concat(chunks))));
  const socket = await accepted;
  const transfer = new TransferRegistry('ftpd').begin({ protocol: 'ftp', account: 'a', remoteAddress: null, path: file.path, direction: 'download', size: file.size });
  try {
    await sendFile(file, socket, transfer, new Cut());
    return await received;
  } finally {
    client.destroy();
    socket.destroy();
    server.close();
  }
}

describe('sendFile', () => {
  it('sends a file of several chunks whole and in order', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 12345);
    const file = fileOf(data);
    expect((await download(file)).equals(data)).toBe(true);
    expect(file.reads).toEqual([0, 1, 2, 3].map((i) => i * 1024 * 1024));
  });

  it('sends what there is when the file came up short, with two buffers and with one', async () => {
    const big = randomBytes(2 * 1024 * 1024 + 100);
    expect((await download(fileOf(big, 1024 * 1024 + 7))).equals(big.subarray(0, 1024 * 1024 + 7))).toBe(true);
    const small = randomBytes(5000);
    const short = fileOf(small, 3000);
    expect((await download(short)).equals(small.subarray(0, 3000))).toBe(true);
    // One buffer: after the short read, the next read waited for the write of the first.
    expect(short.reads).toEqual([0, 3000]);
  });
});
