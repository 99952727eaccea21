import type { TLSSocket } from 'node:tls';
import { UploadBatches, type ReadHandle, type Transfer, type UploadHandle } from '@ferry/core';
import type { Cut } from './cut.js';
import type { DataSocket } from './data-channel.js';
import { readInto, type InboundData } from './direct-reads.js';
import { ReceiveLowWater } from './low-water.js';

/**
 * Moving bytes over a data connection, with backpressure both ways and progress reported to the
 * transfer registry per chunk. `cut` cuts the transfer (ABOR, the control connection gone, the
 * core's abort at a drain deadline): the streams are destroyed and the promise rejects.
 */

/** How long a finished data connection waits for the client's FIN before it is dropped. */
const LINGER_MS = 5000;
/** Download reads: a 1 GiB file is about a thousand reads and writes. */
const READ_CHUNK = 1024 * 1024;
const READ_BUFFERS = 2;

/**
 * Upload: the data connection into `upload` until the client's EOF, all of it written, then our
 * side of the connection closed (closeReceived). The bytes gather in pooled 64 KiB buffers, each
 * written as one call once full (see UploadBatches): a plain connection reads straight into them
 * (direct-reads.ts), a TLS one has each decrypted chunk copied in. The socket keeps being read
 * while batches are written, up to UploadBatches' limit. A plain connection's reader is woken
 * per 256 KiB while its client sends fast (ReceiveLowWater).
 */
export function receive(socket: InboundData, upload: UploadHandle, transfer: Transfer, cut: Cut): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // Its events come later (a write's completion), once `settle` below exists.
    const batches = new UploadBatches(upload, { drain: () => socket.resume(), failed: (err) => settle(err) });
    let settled = false;
    let stopListening = (): void => undefined;
    let lowWater: ReceiveLowWater | undefined;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      stopListening();
      lowWater?.stop();
      if (err === undefined) {
        closeReceived(socket);
        resolve();
        return;
      }
      socket.destroy();
      readInto(socket, undefined);
      batches.release();
      reject(err);
    };
    stopListening = cut.listen(settle);
    if (settled) return;
    const direct = readInto(socket, {
      space: () => batches.space(),
      filled: (bytes) => {
        transfer.progress(bytes);
        lowWater?.read(bytes);
        return batches.filled(bytes);
      },
      push: (chunk) => {
        transfer.progress(chunk.length);
        return batches.push(chunk);
      },
    });
    if (direct) lowWater = ReceiveLowWater.follow(socket);
    else {
      socket.on('data', (chunk: Buffer) => {
        transfer.progress(chunk.length);
        if (!batches.push(chunk)) socket.pause();
      });
    }
    const onEnd = (): void => {
      batches.end().then(() => settle(), settle);
    };
    socket.once('close', () => {
      if (!socket.readableEnded) settle(new Error('the data connection was cut'));
    });
    socket.once('error', settle);
    // A client with nothing to send may have come and gone already (a 0-byte upload over TLS).
    if (socket.readableEnded) onEnd();
    else if (socket.destroyed) settle(new Error('the data connection was cut'));
    else {
      socket.once('end', onEnd);
      socket.resume();
    }
  });
}

/**
 * Download: the file from its offset onto the data connection, then EOF (and TLS close_notify).
 * Two buffers are reused throughout: one is read into while the other is on its way out, so the
 * disk and the socket work at the same time and no buffer is allocated per chunk (a fresh
 * 1 MiB per read costs a 1 GiB download about twice the CPU, in page faults and GC). The read of
 * the next chunk starts before this chunk's write: read after it, the two took turns, and a
 * 1 GiB download ran at 0.87× vsftpd's speed here.
 */
export async function sendFile(file: ReadHandle, socket: DataSocket, transfer: Transfer, cut: Cut): Promise<void> {
  const remaining = file.size - file.offset;
  const chunk = Math.max(1, Math.min(READ_CHUNK, remaining));
  const buffers = Array.from({ length: remaining > chunk ? READ_BUFFERS : 1 }, () => Buffer.allocUnsafe(chunk));
  const sent: Promise<void>[] = buffers.map(() => Promise.resolve());
  let failure: unknown;
  const fail = (err: unknown): void => {
    failure ??= err;
  };
  const stopListening = cut.listen((reason) => {
    fail(reason);
    socket.destroy();
  });
  socket.on('error', fail);
  try {
    let position = file.offset;
    let turn = 0;
    const readChunk = (index: number, at: number): Promise<number> => {
      const buffer = buffers[index] as Buffer;
      const want = Math.min(buffer.length, file.size - at);
      return file.read(want === buffer.length ? buffer : buffer.subarray(0, want), at);
    };
    let reading: Promise<number> | undefined = position < file.size ? readChunk(turn, position) : undefined;
    while (reading !== undefined) {
      const read = await reading;
      reading = undefined;
      if (read === 0 || failure !== undefined) break; // the file shrank below its size at open
      position += read;
      transfer.progress(read);
      const buffer = buffers[turn] as Buffer;
      const out = read === buffer.length ? buffer : buffer.subarray(0, read);
      const next = (turn + 1) % buffers.length;
      // The next chunk is read (on the thread pool) while this one is written, not after: the
      // write itself is a copy of a whole chunk on this thread, as long as the read.
      if (next !== turn && position < file.size) {
        await sent[next];
        if (failure === undefined) reading = readChunk(next, position);
      }
      sent[turn] = new Promise((resolve) => {
        socket.write(out, (err) => {
          if (err) fail(err);
          resolve();
        });
      });
      // One buffer (a file that fits one chunk and then came up short): its write goes first.
      if (next === turn && position < file.size) {
        await sent[turn];
        if (failure === undefined) reading = readChunk(turn, position);
      }
      turn = next;
    }
    await Promise.all(sent);
    if (failure === undefined) await endWriting(socket);
  } finally {
    stopListening();
  }
  if (failure !== undefined) throw failure;
  linger(socket);
}

/** Ends our side and waits until all of it was handed to the kernel (or the connection died). */
async function endWriting(socket: DataSocket): Promise<void> {
  await new Promise<void>((resolve) => {
    socket.end(() => resolve());
    socket.once('close', () => resolve());
  });
  if (!socket.writableFinished) throw new Error('the data connection closed before everything was sent');
}

/**
 * All of an upload was read: our side of the data connection closes now, before the commit and its
 * reply, as RFC 959 orders it (the client may wait for it); Node would send that FIN only once the
 * commit's microtasks are done. Over TLS the close_notify comes first, which end() sends.
 */
function closeReceived(socket: InboundData): void {
  if ((socket as TLSSocket).encrypted === true) socket.end();
  else socket.destroy();
}

/** A listing: the whole text, then EOF. */
export async function sendText(text: string, socket: DataSocket, cut: Cut): Promise<void> {
  const stopListening = cut.listen(() => socket.destroy());
  try {
    socket.write(text);
    await endWriting(socket);
  } finally {
    stopListening();
  }
  linger(socket);
}

/**
 * Our side is done; the client closes its own. Reading on (and discarding) lets its FIN be seen
 * so the socket closes normally — a socket closed with unread bytes would send a reset instead.
 */
function linger(socket: DataSocket): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
}
