import { isIP } from 'node:net';
import { z } from 'zod';
import { FerryError, isFerryError } from '../errors.js';
import { DURATION_FORMS, SIZE_FORMS, parseDuration, parseSize } from './units.js';

/**
 * Zod helpers for config values people write by hand. Each one accepts the forms a person would
 * type (and, for env overrides, the same forms as strings), outputs the value code wants (ms,
 * bytes, numbers), and on failure reports the accepted forms in `params.allowed`, which the loader
 * puts in its error message. A section's own `.refine()` may pass `params: { allowed }` the same way.
 *
 * Defaults: `.default()` takes the output (`duration().default(30_000)`), `.prefault()` takes the
 * input and parses it (`duration().prefault('30s')`).
 */

const PORT_FORMS = 'a port number from 0 to 65535 (0 picks any free port)';
const PORT_RANGE_FORMS = 'a port range like 30000-30100 (two ports from 1 to 65535, the first not above the second)';
const HOST_FORMS = 'an IP address or a host name, like 0.0.0.0, ::, 127.0.0.1 or localhost';

export interface PortRange {
  from: number;
  to: number;
}

/** Wraps a parse function that throws FerryError into a schema that reports an issue instead. */
function parsedBy<In, Out>(allowed: string, problem: string, parse: (input: In) => Out) {
  return z.custom<In>().transform((input, ctx): Out => {
    try {
      return parse(input);
    } catch (err) {
      if (!isFerryError(err)) throw err;
      ctx.issues.push({ code: 'custom', message: problem, input, params: { allowed } });
      return z.NEVER;
    }
  });
}

function reject(input: unknown, allowed: string): never {
  throw new FerryError('FERRY_ERR_CONFIG_INVALID', `invalid value ${JSON.stringify(input)}: expected ${allowed}`, {
    details: { value: input, allowed },
  });
}

function parsePort(input: unknown, allowed: string, min: number): number {
  const port = typeof input === 'string' && /^\s*\d+\s*$/.test(input) ? Number(input) : input;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < min || port > 65_535) reject(input, allowed);
  return port;
}

/** A duration in milliseconds: `30s`, `5m`, `1h30m`, `500ms`, or a number of seconds. */
export function duration() {
  return parsedBy<string | number, number>(DURATION_FORMS, 'not a duration', parseDuration);
}

/** A size in bytes: `100MB`, `64KiB`, `1GiB`, or a number of bytes (binary multiples). */
export function size() {
  return parsedBy<string | number, number>(SIZE_FORMS, 'not a size', parseSize);
}

/** A TCP port, 0–65535; 0 asks the OS for any free port (what tests use). */
export function port() {
  return parsedBy<number | string, number>(PORT_FORMS, 'not a port', (input) => parsePort(input, PORT_FORMS, 0));
}

/** `"30000-30100"` (or an already parsed `{ from, to }`) → `{ from, to }`, e.g. FTP passive ports. */
export function portRange() {
  return parsedBy<string | PortRange, PortRange>(PORT_RANGE_FORMS, 'not a port range', (input) => {
    let from: unknown;
    let to: unknown;
    if (typeof input === 'string') {
      const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(input);
      if (!match) reject(input, PORT_RANGE_FORMS);
      [from, to] = [match[1], match[2]];
    } else if (typeof input === 'object' && input !== null) {
      ({ from, to } = input);
    } else {
      reject(input, PORT_RANGE_FORMS);
    }
    const range = { from: parsePort(from, PORT_RANGE_FORMS, 1), to: parsePort(to, PORT_RANGE_FORMS, 1) };
    if (range.from > range.to) reject(input, PORT_RANGE_FORMS);
    return range;
  });
}

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 253 chars at most.
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** An address to bind to or connect to: IPv4, IPv6 or a host name. Output unchanged. */
export function hostAddress() {
  return parsedBy<string, string>(HOST_FORMS, 'not a host address', (input) => {
    if (typeof input !== 'string' || (isIP(input) === 0 && !HOST_NAME.test(input))) reject(input, HOST_FORMS);
    return input;
  });
}
