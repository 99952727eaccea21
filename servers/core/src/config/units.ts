import { FerryError } from '../errors.js';

/** What a duration may look like; shown in every error about one. */
export const DURATION_FORMS = 'a duration like 30s, 5m, 24h, 2d, 1h30m or 500ms, or a number of seconds';

/**
 * What a size may look like. Every multiple is binary: K/KB/KiB = 2^10, M/MB/MiB = 2^20,
 * G/GB/GiB = 2^30, T/TB/TiB = 2^40. SecureTransport writes `uploadChunkSize` as "100 MB" and means
 * a chunk buffer, for which powers of two are what everyone expects; a decimal MB that differs from
 * MiB by 5% would only surprise.
 */
export const SIZE_FORMS = 'a size like 100MB, 64KiB, 1GiB or 2G (K, M, G, T are multiples of 1024), or a number of bytes';

const DURATION_UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

const SIZE_UNIT_BYTES: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  kb: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mb: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gb: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tb: 2 ** 40,
  tib: 2 ** 40,
};

const PLAIN_NUMBER = /^\d+(?:\.\d+)?$/;
// Sticky, so "1h30m" is consumed part by part and anything left over is caught. `ms` is tried
// before `m`, and a unit may not run on into letters ("5min" is rejected, not read as 5m + "in").
const DURATION_PART = /\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)(?![a-z])/y;
const SIZE_TEXT = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

function invalid(what: string, input: unknown, allowed: string): FerryError {
  return new FerryError('FERRY_ERR_CONFIG_INVALID', `invalid ${what} ${JSON.stringify(input) ?? String(input)}: expected ${allowed}`, {
    details: { value: input, allowed },
  });
}

function checkedMs(ms: number, input: unknown): number {
  if (!Number.isFinite(ms) || ms < 0 || ms > Number.MAX_SAFE_INTEGER) throw invalid('duration', input, DURATION_FORMS);
  return Math.round(ms);
}

/**
 * A duration in milliseconds. A bare number, or a string of digits, is seconds (SecureTransport
 * states every timeout in seconds); otherwise one or more `<number><unit>` parts, units ms s m h d,
 * each unit at most once ("1h30m"). Lower-case units only: `M` would read as months to some.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') return checkedMs(input * 1_000, input);
  if (typeof input !== 'string') throw invalid('duration', input, DURATION_FORMS);
  const text = input.trim();
  if (PLAIN_NUMBER.test(text)) return checkedMs(Number(text) * 1_000, input);

  let total = 0;
  const seen = new Set<string>();
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const match = DURATION_PART.exec(text);
    const unit = match?.[2] as keyof typeof DURATION_UNIT_MS | undefined;
    // A repeated unit ("1m1m") is more likely a typo than a sum anyone meant.
    if (!match || !unit || seen.has(unit)) throw invalid('duration', input, DURATION_FORMS);
    seen.add(unit);
    total += Number(match[1]) * DURATION_UNIT_MS[unit];
  }
  if (seen.size === 0) throw invalid('duration', input, DURATION_FORMS);
  return checkedMs(total, input);
}

/** A size in bytes: a whole number of bytes, or a number with a binary unit (see SIZE_FORMS), whole in bytes. */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw invalid('size', input, SIZE_FORMS);
    return input;
  }
  if (typeof input !== 'string') throw invalid('size', input, SIZE_FORMS);
  const match = SIZE_TEXT.exec(input.trim());
  const factor = match ? SIZE_UNIT_BYTES[(match[2] ?? '').toLowerCase()] : undefined;
  if (!match || factor === undefined) throw invalid('size', input, SIZE_FORMS);
  // Multiplying by a power of two is exact, so a fraction left over means a part of a byte ("1.5").
  const bytes = Number(match[1]) * factor;
  if (!Number.isSafeInteger(bytes)) throw invalid('size', input, SIZE_FORMS);
  return bytes;
}
