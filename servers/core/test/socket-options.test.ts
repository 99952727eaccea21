import { closeSync, openSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { setReceiveLowWater, socketOptionsAvailable } from '../src/index.js';

/** A connected pair on loopback: the server's socket (flowing) and the client's. */
async function pair(): Promise<{ server: Socket; client: Socket; close(): void }> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const client = connect((listener.address() as AddressInfo).port, '127.0.0.1');
  const server = await accepted;
  return {
    server,
    client,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

function fdOf(socket: Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

describe('native socket options', () => {
  it('are built with the package (a compiler is part of the test setup)', () => {
    expect(socketOptionsAvailable).toBe(true);
  });

  it('SO_RCVLOWAT: the reader is woken only once that many bytes wait, or at the end', async () => {
    const { server, client, close } = await pair();
    try {
      let received = 0;
      server.on('data', (chunk: Buffer) => (received += chunk.length));
      const ended = new Promise((resolve) => server.once('end', resolve));
      expect(setReceiveLowWater(fdOf(server), 64 * 1024)).toBe(true);
      client.write(Buffer.alloc(1000));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toBe(0);
      client.write(Buffer.alloc(64 * 1024));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toBe(65 * 1024 - 24);
      client.end(Buffer.alloc(10)); // below the mark, but the end wakes the reader
      await ended;
      expect(received).toBe(65 * 1024 - 14);
    } finally {
      close();
    }
  });

  it('says no for something that is not a socket', () => {
    const file = openSync('/dev/null', 'r');
    try {
      expect(setReceiveLowWater(file, 1024)).toBe(false);
    } finally {
      closeSync(file);
    }
    expect(setReceiveLowWater(-1, 1024)).toBe(false);
  });
});
