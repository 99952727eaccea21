import type { ByteReader } from './bytes.js';

/**
 * Streaming BER/DER: headers one at a time from a ByteReader (so that a CMS structure of any size is
 * read as it arrives), small elements whole (handed to asn1js/pkijs), and the few encodings the
 * writers need. Indefinite lengths (what streaming CMS producers, OpenSSL `-stream` and
 * BouncyCastle among them, write) are read like definite ones.
 */

export const TAG = {
  integer: 0x02,
  octetString: 0x04,
  constructedOctetString: 0x24,
  oid: 0x06,
  sequence: 0x30,
  set: 0x31,
  context0: 0xa0,
  context1: 0xa1,
  context0Primitive: 0x80,
} as const;

export const EOC = Buffer.from([0, 0]);
const INDEFINITE = 0x80;

export interface DerHeader {
  /** The identifier octet (class, constructed bit, tag number below 31). */
  tag: number;
  constructed: boolean;
  /** Content length; null for the indefinite form. */
  length: number | null;
  /** Reader position where the content ends (definite lengths only). */
  end: number | null;
  raw: Buffer;
}

export class MalformedDer extends Error {
  constructor(message: string) {
    super(`malformed CMS structure: ${message}`);
    this.name = 'MalformedDer';
  }
}

export async function readHeader(reader: ByteReader, what = 'a CMS structure'): Promise<DerHeader> {
  const first = await reader.read(2, what);
  const tag = first[0]!;
  // High tag numbers (31+) never occur in the CMS structures AS2 uses.
  if ((tag & 0x1f) === 0x1f) throw new MalformedDer(`unsupported high tag number in ${what}`);
  const constructed = (tag & 0x20) !== 0;
  const lengthByte = first[1]!;
  if (lengthByte === INDEFINITE) {
    if (!constructed) throw new MalformedDer(`indefinite length on a primitive element in ${what}`);
    return { tag, constructed, length: null, end: null, raw: first };
  }
  if (lengthByte < 0x80) return { tag, constructed, length: lengthByte, end: reader.position + lengthByte, raw: first };
  const count = lengthByte & 0x7f;
  // Six bytes already describe 256 TiB; anything longer is an attack or garbage.
  if (count > 6) throw new MalformedDer(`length of ${count} bytes in ${what}`);
  const bytes = await reader.read(count, what);
  let length = 0;
  for (const byte of bytes) length = length * 256 + byte;
  return { tag, constructed, length, end: reader.position + length, raw: Buffer.concat([first, bytes]) };
}

export async function expectHeader(reader: ByteReader, tag: number, what: string): Promise<DerHeader> {
  const header = await readHeader(reader, what);
  if (header.tag !== tag) throw new MalformedDer(`expected tag 0x${tag.toString(16)} for ${what}, found 0x${header.tag.toString(16)}`);
  return header;
}

/** One whole element (header and content), at most `max` bytes: small structures only. */
export async function readElement(reader: ByteReader, max: number, what = 'a CMS element'): Promise<Buffer> {
  const header = await readHeader(reader, what);
  return Buffer.concat([header.raw, ...(await contentOf(reader, header, max - header.raw.length, what))]);
}

async function contentOf(reader: ByteReader, header: DerHeader, max: number, what: string): Promise<Buffer[]> {
  if (header.length !== null) {
    if (header.length > max) throw new MalformedDer(`${what} is larger than ${max} bytes`);
    return [await reader.read(header.length, what)];
  }
  const parts: Buffer[] = [];
  let size = 0;
  for (;;) {
    if (await atEoc(reader)) {
      parts.push(await reader.read(2, what));
      return parts;
    }
    const child = await readHeader(reader, what);
    const inner = await contentOf(reader, child, max - size - child.raw.length, what);
    parts.push(child.raw, ...inner);
    size += child.raw.length + inner.reduce((n, b) => n + b.length, 0);
    if (size > max) throw new MalformedDer(`${what} is larger than ${max} bytes`);
  }
}

async function atEoc(reader: ByteReader): Promise<boolean> {
  const next = await reader.peek(2);
  return next.length === 2 && next[0] === 0 && next[1] === 0;
}

/**
 * True once `container`'s content is over; an indefinite container's end-of-contents octets are
 * consumed here.
 */
export async function atContainerEnd(reader: ByteReader, container: DerHeader): Promise<boolean> {
  if (container.end !== null) {
    if (reader.position > container.end) throw new MalformedDer('an element runs past its container');
    return reader.position === container.end;
  }
  if (!(await atEoc(reader))) return false;
  await reader.read(2);
  return true;
}

/** Skips what is left of `container` (optional trailing attributes), element by element. */
export async function closeContainer(reader: ByteReader, container: DerHeader, max = 1 << 20): Promise<Buffer[]> {
  const skipped: Buffer[] = [];
  while (!(await atContainerEnd(reader, container))) skipped.push(await readElement(reader, max));
  return skipped;
}

/**
 * The content octets of an OCTET STRING (or an IMPLICIT [n] one), streamed: primitive, or
 * constructed from segments, of definite or indefinite length.
 */
export async function* octets(reader: ByteReader, header: DerHeader, what: string): AsyncGenerator<Buffer> {
  if (!header.constructed) {
    yield* reader.stream(header.length ?? 0, what);
    return;
  }
  while (!(await atContainerEnd(reader, header))) {
    const segment = await readHeader(reader, what);
    if ((segment.tag & 0xdf) !== TAG.octetString) throw new MalformedDer(`a segment of ${what} is not an OCTET STRING`);
    yield* octets(reader, segment, what);
  }
}

export function encodeLength(length: number | null): Buffer {
  if (length === null) return Buffer.from([INDEFINITE]);
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A header: definite when `length` is given, indefinite (BER, streaming) when null. */
export function header(tag: number, length: number | null): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(length)]);
}

export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([header(tag, content.length), content]);
}
