import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPasswordHash } from '../src/store/password.js';

/** How long one check takes, in ms, and what it answered. */
async function timed(password: string, stored: string): Promise<{ ok: boolean; ms: number }> {
  const started = performance.now();
  const ok = await verifyPasswordHash(password, stored);
  return { ok, ms: performance.now() - started };
}

describe('password checks', () => {
  it('remembers a right password for its stored hash only: the next check skips scrypt, a wrong one never does', async () => {
    const stored = await hashPassword('correct horse battery staple');
    const first = await timed('correct horse battery staple', stored);
    expect(first.ok).toBe(true);
    const again = await timed('correct horse battery staple', stored);
    expect(again.ok).toBe(true);
    // scrypt at N=16384, r=8 takes tens of milliseconds; the remembered check a few microseconds.
    expect(again.ms).toBeLessThan(first.ms / 5);
    const wrong = await timed('correct horse battery stable', stored);
    expect(wrong.ok).toBe(false);
    expect(wrong.ms).toBeGreaterThan(again.ms * 5);
    // The same password under a new hash (a password change that happens to repeat it): checked afresh.
    const rehashed = await hashPassword('correct horse battery staple');
    const fresh = await timed('correct horse battery staple', rehashed);
    expect(fresh.ok).toBe(true);
    expect(fresh.ms).toBeGreaterThan(again.ms * 5);
    // NFC: composed and decomposed spellings are one password, remembered or not.
    const accented = await hashPassword('caf\u00e9 au lait');
    expect(await verifyPasswordHash('cafe\u0301 au lait', accented)).toBe(true);
    expect(await verifyPasswordHash('cafe\u0301 au lait', accented)).toBe(true);
    expect(await verifyPasswordHash('cafe au lait', accented)).toBe(false);
  });
});
