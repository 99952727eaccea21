import type { ByteReader } from './bytes.js';
import { decodeBase64 } from './base64.js';
import { As2Failure, TruncatedInput } from './errors.js';

/**
 * MIME entities (RFC 2045/2046) as AS2 uses them: a header block, then a body. Headers are read
 * from the wire with their exact bytes kept (a signature and a MIC cover them), and written with
 * CRLF line ends, which is the canonical form both need.
 */

const MAX_HEADER_BLOCK = 64 * 1024;
const CRLF = '\r\n';

export type HeaderList = readonly (readonly [name: string, value: string])[];

export class MimeHeaders {
  readonly #entries: HeaderList;

  constructor(entries: HeaderList) {
    this.#entries = entries;
  }

  /** From an HTTP header object (Node lower-cases names; repeated headers come as arrays). */
  static fromHttp(headers: Readonly<Record<string, string | string[] | undefined>>): MimeHeaders {
    const entries: [string, string][] = [];
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) entries.push([name, one]);
    }
    return new MimeHeaders(entries);
  }

  get entries(): HeaderList {
    return this.#entries;
  }

  /** The first value of a header, case-insensitively; trimmed. */
  get(name: string): string | undefined {
    const wanted = name.toLowerCase();
    return this.#entries.find(([n]) => n.toLowerCase() === wanted)?.[1].trim();
  }
}

export interface Entity {
  headers: MimeHeaders;
  /** The header block exactly as it arrived, blank line included (empty for HTTP-level headers). */
  rawHeaders: Buffer;
  body: AsyncIterable<Buffer>;
}

export interface HeaderValue {
  /** The value before the first `;`, lower-cased. */
  value: string;
  /** Parameters by lower-cased name, quotes removed. */
  params: Map<string, string>;
}

/** `type/subtype; a=b; c="d; e"` (RFC 2045 §5.1), also Content-Disposition. RFC 2231 `name*=` is decoded. */
export function parseHeaderValue(text: string): HeaderValue {
  const params = new Map<string, string>();
  let at = text.indexOf(';');
  const value = (at === -1 ? text : text.slice(0, at)).trim().toLowerCase();
  while (at !== -1 && at < text.length) {
    at++;
    const eq = text.indexOf('=', at);
    if (eq === -1) break;
    const name = text.slice(at, eq).trim().toLowerCase();
    let cursor = eq + 1;
    while (text[cursor] === ' ' || text[cursor] === '\t') cursor++;
    let paramValue: string;
    if (text[cursor] === '"') {
      let out = '';
      cursor++;
      while (cursor < text.length && text[cursor] !== '"') {
        if (text[cursor] === '\\' && cursor + 1 < text.length) cursor++;
        out += text[cursor];
        cursor++;
      }
      paramValue = out;
      at = text.indexOf(';', cursor);
    } else {
      const end = text.indexOf(';', cursor);
      paramValue = (end === -1 ? text.slice(cursor) : text.slice(cursor, end)).trim();
      at = end;
    }
    if (name.endsWith('*')) params.set(name.slice(0, -1), decodeExtended(paramValue));
    else if (name !== '' && !params.has(name)) params.set(name, paramValue);
  }
  return { value, params };
}

/** RFC 2231: `UTF-8''na%C3%AFve.txt`. */
function decodeExtended(value: string): string {
  const match = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!match) return value;
  try {
    const bytes = Buffer.from(match[2]!.replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
    return /^utf-?8$/i.test(match[1]!) ? bytes.toString('utf8') : bytes.toString('latin1');
  } catch {
    return value;
  }
}

export function contentTypeOf(headers: MimeHeaders): HeaderValue {
  return parseHeaderValue(headers.get('content-type') ?? 'text/plain');
}

/** Quotes a parameter value when it needs it. */
export function param(name: string, value: string): string {
  return /^[A-Za-z0-9!#$&+.^_`{}~-]+$/.test(value) ? `${name}=${value}` : `${name}="${value.replace(/["\\]/g, '\\$&')}"`;
}

/** A header block in canonical form: `Name: value` lines ending in CRLF, then the blank line. */
export function formatHeaders(headers: HeaderList): Buffer {
  return Buffer.from(headers.map(([name, value]) => `${name}: ${value}${CRLF}`).join('') + CRLF, 'latin1');
}

/**
 * Reads a header block (ending at a blank line, CRLF or bare LF) and leaves the reader at the body.
 * A block that starts with the blank line is an entity with no headers (text/plain by default).
 */
export async function readHeaderBlock(reader: ByteReader): Promise<{ headers: MimeHeaders; raw: Buffer }> {
  const lines: Buffer[] = [];
  let size = 0;
  for (;;) {
    let line: Buffer;
    try {
      line = await reader.line(MAX_HEADER_BLOCK - size, 'a MIME header block');
    } catch (err) {
      if (err instanceof TruncatedInput || err instanceof RangeError) {
        throw new As2Failure('unexpected-processing-error', `malformed MIME: ${err.message}`, { cause: err });
      }
      throw err;
    }
    lines.push(line);
    size += line.length;
    if (line.length === 1 || (line.length === 2 && line[0] === 0x0d)) break;
  }
  const raw = Buffer.concat(lines, size);
  return { headers: new MimeHeaders(parseHeaderLines(raw.toString('latin1'))), raw };
}

function parseHeaderLines(text: string): [string, string][] {
  const entries: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    if (/^[ \t]/.test(line)) {
      // A folded continuation belongs to the header before it.
      const last = entries.at(-1);
      if (!last) throw new As2Failure('unexpected-processing-error', 'malformed MIME: the header block starts with a continuation line');
      last[1] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new As2Failure('unexpected-processing-error', `malformed MIME: header line without a name: ${JSON.stringify(line.slice(0, 80))}`);
    entries.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return entries;
}

/** Reads an entity's header block; its body is what follows. */
export async function readEntity(reader: ByteReader): Promise<Entity> {
  const { headers, raw } = await readHeaderBlock(reader);
  return { headers, rawHeaders: raw, body: reader.rest() };
}

/** The body with its Content-Transfer-Encoding undone (binary, 8bit, 7bit pass; base64 decodes). */
export function decodedBody(entity: Entity): AsyncIterable<Buffer> {
  const encoding = (entity.headers.get('content-transfer-encoding') ?? 'binary').toLowerCase();
  switch (encoding) {
    case 'binary':
    case '8bit':
    case '7bit':
      return entity.body;
    case 'base64':
      return decodeBase64(entity.body);
    default:
      throw new As2Failure('unexpected-processing-error', `unsupported Content-Transfer-Encoding "${encoding}"`);
  }
}

/** Serializes an entity: canonical header block, then the body as is. */
export async function* entityBytes(headers: HeaderList, body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield formatHeaders(headers);
  yield* body;
}
