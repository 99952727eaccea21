import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FAST_LOW_WATER, ReceiveLowWater } from '../src/low-water.js';

describe('ReceiveLowWater', () => {
  it('holds back a fast client’s small remainder, and lets it through once the client slows', async () => {
    const listener = createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
    const client = connect((listener.address() as AddressInfo).port, '127.0.0.1');
    const server = await accepted;
    const lowWater = ReceiveLowWater.follow(server);
    let feeding: NodeJS.Timeout | undefined;
    try {
      expect(lowWater).toBeDefined();
      let received = 0;
      let arrivedAt = 0;
      server.on('data', (chunk: Buffer) => {
        received += chunk.length;
        arrivedAt = performance.now();
      });
      // A fast client, as far as the checks can tell: bytes read all the time. The mark goes up.
      feeding = setInterval(() => lowWater?.read(2 * FAST_LOW_WATER), 10);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sentAt = performance.now();
      client.write(Buffer.alloc(1000));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toBe(0);
      // The client slows down: within a check or two the mark is back to one byte, and the kernel
      // wakes the reader for what waits.
      clearInterval(feeding);
      for (let i = 0; i < 100 && received === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(received).toBe(1000);
      expect(arrivedAt - sentAt).toBeGreaterThanOrEqual(100);
    } finally {
      clearInterval(feeding);
      lowWater?.stop();
      client.destroy();
      server.destroy();
      listener.close();
    }
  });
});
