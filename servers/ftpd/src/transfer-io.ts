import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Transfer } from '@ferry/core';
import type { DataSocket } from './data-channel.js';

/**
 * Moving bytes over a data connection, with backpressure both ways and progress reported to the
 * transfer registry per chunk. `signal` cuts the transfer (ABOR, the control connection gone, the
 * core's abort at a drain deadline): the streams are destroyed and the promise rejects.
 */

/** How long a finished data connection waits for the client's FIN before it is dropped. */
const LINGER_MS = 5000;

/** Upload: the data connection into `sink` until the client's EOF, all of it written. */
export async function receive(socket: DataSocket, sink: Writable, transfer: Transfer, signal: AbortSignal): Promise<void> {
  const done = pipeline(socket, sink, { signal });
  // Attached after pipe() so that the data flows to both listeners from the first chunk.
  socket.on('data', (chunk: Buffer) => transfer.progress(chunk.length));
  await done;
}

/** Download: `source` onto the data connection, then EOF (and TLS close_notify) once all is sent. */
export async function send(source: Readable, socket: DataSocket, transfer: Transfer, signal: AbortSignal): Promise<void> {
  const done = pipeline(source, socket, { signal });
  source.on('data', (chunk: Buffer) => transfer.progress(chunk.length));
  await done;
  linger(socket);
}

/** A listing: the whole text, then EOF. */
export async function sendText(text: string, socket: DataSocket, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', reject);
    socket.end(text, () => {
      signal.removeEventListener('abort', onAbort);
      socket.off('error', reject);
      resolve();
    });
  });
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
