import { describe, expect, it } from 'vitest';
import { z } from 'zod';
// The config index, not the package index: these tests should not depend on the rest of core.
import { duration, hostAddress, parseDuration, parseSize, port, portRange, size } from '../src/config/index.js';
import { isFerryError } from '../src/errors.js';

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('parseDuration', () => {
  it.each([
    [90, 90_000],
    [0, 0],
    [1.5, 1_500],
    ['90', 90_000],
    ['86400', 86_400_000],
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['2d', 172_800_000],
    ['1h30m', 5_400_000],
    ['1h 30m 15s', 5_415_000],
    [' 30 s ', 30_000],
    ['1.5h', 5_400_000],
  ] as const)('%j → %i ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['', '30 sec', '5min', '-5', '1m1m', '30S', 'h', '1h30', 'abc', '5M'])('rejects %j naming it and the accepted forms', (input) => {
    const err = errorOf(() => parseDuration(input));
    expect(isFerryError(err, 'FERRY_ERR_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain(JSON.stringify(input));
    expect((err as Error).message).toContain('a duration like 30s, 5m, 24h');
    expect((err as Error).message).toContain('or a number of seconds');
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects the number %d', (input) => {
    expect(() => parseDuration(input)).toThrow(/invalid duration/);
  });
});

describe('parseSize', () => {
  it.each([
    [1024, 1024],
    ['100MB', 100 * 2 ** 20],
    ['100 MB', 100 * 2 ** 20],
    ['64KiB', 64 * 1024],
    ['64kb', 64 * 1024],
    ['1GiB', 2 ** 30],
    ['2G', 2 * 2 ** 30],
    ['1.5K', 1536],
    ['512', 512],
    ['512B', 512],
    ['1TB', 2 ** 40],
  ] as const)('%j → %i bytes (binary multiples)', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each(['', '100 XB', 'MB', '-1MB', '1.5', '10 MB extra'])('rejects %j naming it and the accepted forms', (input) => {
    const err = errorOf(() => parseSize(input));
    expect(isFerryError(err, 'FERRY_ERR_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain(JSON.stringify(input));
    expect((err as Error).message).toContain('a size like 100MB');
  });

  it.each([-1, 1.5, Number.NaN])('rejects the number %d', (input) => {
    expect(() => parseSize(input)).toThrow(/invalid size/);
  });
});

describe('schema helpers', () => {
  it('duration() and size() output ms and bytes, and report the accepted forms', () => {
    expect(duration().parse('1h')).toBe(3_600_000);
    expect(size().parse('100MB')).toBe(104_857_600);
    const result = duration().safeParse(true);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: 'custom', params: { allowed: expect.stringContaining('a duration like') } });
  });

  it('prefault parses the default, default takes the output', () => {
    const schema = z.object({ a: duration().prefault('30s'), b: duration().default(5_000) });
    expect(schema.parse({})).toEqual({ a: 30_000, b: 5_000 });
  });

  it('port() takes 0-65535, also as a numeric string', () => {
    expect(port().parse(0)).toBe(0);
    expect(port().parse(65_535)).toBe(65_535);
    expect(port().parse('8081')).toBe(8081);
    for (const bad of [-1, 65_536, 80.5, 'http', null]) expect(port().safeParse(bad).success).toBe(false);
  });

  it('portRange() turns "30000-30100" into { from, to } and is idempotent', () => {
    expect(portRange().parse('30000-30100')).toEqual({ from: 30_000, to: 30_100 });
    expect(portRange().parse({ from: 30_000, to: 30_100 })).toEqual({ from: 30_000, to: 30_100 });
    for (const bad of ['30100-30000', '0-10', '1-70000', '30000', 30_000]) expect(portRange().safeParse(bad).success).toBe(false);
  });

  it('hostAddress() takes IPs and host names', () => {
    for (const good of ['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost', 'files.example.com']) expect(hostAddress().parse(good)).toBe(good);
    for (const bad of ['', 'no spaces', 'under_score', '-x.com', 80]) expect(hostAddress().safeParse(bad).success).toBe(false);
  });
});
