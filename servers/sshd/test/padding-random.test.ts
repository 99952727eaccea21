import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

describe('padding random bytes', () => {
  it('replaces crypto.randomFillSync, for ssh2 too, with one that fills as Node’s does', async () => {
    const before = crypto.randomFillSync;
    await import('../src/padding-random.js');
    expect(crypto.randomFillSync).not.toBe(before);
    // ssh2 is CommonJS and reads the function off the same module object.
    expect(createRequire(import.meta.url)('crypto').randomFillSync).toBe(crypto.randomFillSync);

    // Small fills land exactly where asked, and no two are alike.
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const packet = Buffer.alloc(64);
      crypto.randomFillSync(packet, 8, 16);
      expect(packet.subarray(0, 8).equals(Buffer.alloc(8))).toBe(true);
      expect(packet.subarray(24).equals(Buffer.alloc(40))).toBe(true);
      seen.add(packet.subarray(8, 24).toString('hex'));
    }
    expect(seen.size).toBe(2000);

    // Everything else is Node's own: a whole buffer, a large fill, a typed array.
    const whole = crypto.randomFillSync(Buffer.alloc(32));
    expect(whole.equals(Buffer.alloc(32))).toBe(false);
    const large = crypto.randomFillSync(Buffer.alloc(4096), 0, 4096);
    expect(large.equals(Buffer.alloc(4096))).toBe(false);
    const words = crypto.randomFillSync(new Uint32Array(8));
    expect(words.some((w) => w !== 0)).toBe(true);
    expect(() => crypto.randomFillSync(Buffer.alloc(8), 4, 8)).toThrow();
  });
});
