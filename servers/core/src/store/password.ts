import { createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashes are self-describing strings, `scrypt$N$r$p$saltB64$hashB64`, so that the cost can
 * be raised (or another algorithm added) later without invalidating the hashes already stored.
 */
const COST = { N: 16384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** Bounds for parameters read back from the store, so a tampered row cannot make a login eat the host. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

function derive(password: string, salt: Buffer, keyLength: number, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default ceiling (32 MiB) would refuse a raised N.
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    // NFC: the same password typed on two systems may arrive composed or decomposed.
    scrypt(password.normalize('NFC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/**
 * Passwords found right recently, per stored hash: a client that logs in for every file (many MFT
 * partners' scripts do; lftp and curl do per run) pays scrypt's 30-40 ms of CPU once per ten
 * minutes, not every time. Kept is an HMAC of the password under a key this process drew at start,
 * never the password, so a memory dump holds nothing to test guesses against without that key
 * too. Bound to the stored hash: a new password (a new salt, a new hash) misses at once. Only
 * successes are kept; a wrong password always costs the full scrypt.
 */
const RECENT_MS = 10 * 60_000;
const RECENT_MAX = 10_000;
const recentKey = randomBytes(32);
const recent = new Map<string, { digest: Buffer; until: number }>();

function digestOf(password: string): Buffer {
  return createHmac('sha256', recentKey).update(password.normalize('NFC')).digest();
}

function recentlyVerified(password: string, stored: string): boolean {
  const known = recent.get(stored);
  if (known === undefined) return false;
  if (known.until <= Date.now()) {
    recent.delete(stored);
    return false;
  }
  return timingSafeEqual(known.digest, digestOf(password));
}

function remember(password: string, stored: string): void {
  recent.delete(stored);
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value as string);
  recent.set(stored, { digest: digestOf(password), until: Date.now() + RECENT_MS });
}

/** False for a wrong password and for a hash this code cannot read. */
export async function verifyPasswordHash(password: string, stored: string): Promise<boolean> {
  if (recentlyVerified(password, stored)) return true;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map((part) => Number(part));
  if (!isPowerOfTwo(N) || N > MAX_N || !inRange(r, 1, MAX_R) || !inRange(p, 1, MAX_P)) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  if (salt.length === 0 || expected.length < 16) return false;
  const actual = await derive(password, salt, expected.length, { N, r, p });
  if (!timingSafeEqual(actual, expected)) return false;
  remember(password, stored);
  return true;
}

let decoy: Promise<string> | undefined;

/**
 * Spends the same scrypt work as a real check and answers false: used for unknown names, so that
 * the response time does not tell which account names exist.
 */
export async function rejectAfterHashing(password: string): Promise<false> {
  decoy ??= hashPassword(randomBytes(SALT_BYTES).toString('base64'));
  await verifyPasswordHash(password, await decoy);
  return false;
}

function isPowerOfTwo(n: number | undefined): n is number {
  return n !== undefined && Number.isInteger(n) && n > 1 && (n & (n - 1)) === 0;
}

function inRange(n: number | undefined, min: number, max: number): n is number {
  return n !== undefined && Number.isInteger(n) && n >= min && n <= max;
}
