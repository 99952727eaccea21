import { FerryError } from '@ferry/core';
import { badRequest } from './error-map.js';

/** An inclusive byte range, as HTTP and fs spell them. */
export interface ByteRange {
  start: number;
  end: number;
}

const DIGITS = /^\d+$/;

function int(text: string | undefined): number | undefined {
  if (text === undefined || !DIGITS.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * A download's `Range` header against the file size. undefined means "send the whole file": no
 * header, another unit, several ranges or a malformed one (RFC 9110 lets a server ignore those).
 * A well-formed single range that starts beyond the end is refused with 416.
 */
export function parseRange(value: string | undefined, size: number): ByteRange | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value);
  if (!match) return undefined;
  const first = match[1] === '' ? undefined : int(match[1]);
  const last = match[2] === '' ? undefined : int(match[2]);
  const unsatisfiable = (): FerryError =>
    badRequest('range-not-satisfiable', `range ${value.trim()} is outside the file (${size} bytes)`, { size });
  if (first === undefined) {
    // Suffix range: the last n bytes.
    if (last === undefined) return undefined;
    if (last === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - last), end: size - 1 };
  }
  if (last !== undefined && last < first) return undefined;
  if (first >= size) throw unsatisfiable();
  return { start: first, end: last === undefined ? size - 1 : Math.min(last, size - 1) };
}

/** An upload's `Content-Range`: `bytes N-M/T`, `bytes N-*\/T`, `bytes N-M/*` or `bytes N-*\/*`. */
export interface UploadRange {
  start: number;
  /** Last byte of this body, when given. */
  end?: number;
  /** Size of the whole file, when given. */
  total?: number;
}

export function parseContentRange(value: string | undefined): UploadRange | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*bytes\s+(\d+)-(\d+|\*)\/(\d+|\*)\s*$/i.exec(value);
  const start = int(match?.[1]);
  if (!match || start === undefined) {
    throw new FerryError('FERRY_ERR_BAD_REQUEST', `Content-Range ${JSON.stringify(value)}: expected bytes N-M/T, bytes N-*/T or bytes N-*/*`);
  }
  const end = match[2] === '*' ? undefined : int(match[2]);
  const total = match[3] === '*' ? undefined : int(match[3]);
  if ((match[2] !== '*' && end === undefined) || (match[3] !== '*' && total === undefined)) {
    throw new FerryError('FERRY_ERR_BAD_REQUEST', `Content-Range ${JSON.stringify(value)}: number out of range`);
  }
  if ((end !== undefined && end < start) || (total !== undefined && (start > total || (end !== undefined && end >= total)))) {
    throw new FerryError('FERRY_ERR_BAD_REQUEST', `Content-Range ${JSON.stringify(value)}: the range does not fit`);
  }
  return { start, ...(end === undefined ? {} : { end }), ...(total === undefined ? {} : { total }) };
}

/** Content-Length as a number; undefined for a chunked body. */
export function contentLength(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = int(value.trim());
  if (n === undefined) throw new FerryError('FERRY_ERR_BAD_REQUEST', 'malformed Content-Length');
  return n;
}
