import { randomBytes } from 'node:crypto';
import { ByteReader, collect } from './bytes.js';
import { As2Failure, TruncatedInput } from './errors.js';
import { readEntity, type Entity } from './mime.js';

/**
 * multipart/signed (RFC 1847) and multipart/report bodies, read as a stream: the first part (the
 * signed content, any size) is handed on as it arrives, byte for byte as it was signed; the parts
 * after it (a signature, MDN fields) are small and read whole. The line break before a boundary
 * belongs to the boundary: CRLF as RFC 2046 has it, or a bare LF where the body is framed with bare
 * LFs (OpenSSL's S/MIME output) — there a CR before the boundary is content, and was signed as such.
 */

const MAX_SMALL_PART = 1 << 20;
const CR = Buffer.from('\r');
const EMPTY = Buffer.alloc(0);
const [DASH, CR_BYTE, LF_BYTE, SPACE, TAB] = [0x2d, 0x0d, 0x0a, 0x20, 0x09];

function malformed(message: string, cause?: unknown): As2Failure {
  return new As2Failure('unexpected-processing-error', `malformed multipart body: ${message}`, cause === undefined ? {} : { cause });
}

export function newBoundary(): string {
  return `----=_Ferry_${randomBytes(18).toString('base64url')}`;
}

export function boundaryOf(params: Map<string, string>): string {
  const boundary = params.get('boundary');
  if (!boundary || boundary.length > 200) throw malformed('the Content-Type has no usable boundary parameter');
  return boundary;
}

/** Reads a multipart body part by part; bytes before the first boundary (a preamble) are skipped. */
export class MultipartReader {
  readonly #reader: ByteReader;
  readonly #delimiter: Buffer;
  readonly #dashBoundary: Buffer;
  #started = false;
  #closed = false;
  /** A part was handed out and not read to its end: the next call reads past the rest. */
  #inPart = false;
  /** Boundary lines end in a bare LF (seen on the first one): then no CR is taken from the content. */
  #bareLf = false;
  #boundaryLines = 0;

  constructor(body: AsyncIterable<Buffer>, boundary: string) {
    this.#reader = new ByteReader(body);
    this.#dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
    this.#delimiter = Buffer.from(`\n--${boundary}`, 'latin1');
  }

  /** The next part's raw bytes (headers and body), streamed; null after the closing boundary. */
  async nextPart(): Promise<AsyncGenerator<Buffer> | null> {
    if (this.#closed) return null;
    try {
      if (this.#inPart) for await (const _rest of this.#reader.until(this.#delimiter, 'a multipart body part'));
      this.#inPart = false;
      if (!this.#started) await this.#skipPreamble();
      else await this.#reader.read(this.#delimiter.length, 'a boundary');
      this.#started = true;
      const after = await this.#reader.peek(2);
      if (after.length === 2 && after[0] === 0x2d && after[1] === 0x2d) {
        this.#closed = true;
        return null;
      }
      // Transport padding (spaces) may follow a boundary up to its line break.
      const line = await this.#reader.line(1024, 'a boundary line');
      if (this.#boundaryLines++ === 0) this.#bareLf = line.length < 2 || line[line.length - 2] !== 0x0d;
    } catch (err) {
      if (err instanceof TruncatedInput || err instanceof RangeError) throw malformed(err.message, err);
      throw err;
    }
    this.#inPart = true;
    return this.#partBytes();
  }

  /** Reads the next part whole (a signature, MDN fields): headers parsed, body gathered. */
  async nextSmallPart(what: string): Promise<{ entity: Entity; body: Buffer } | null> {
    const part = await this.nextPart();
    if (!part) return null;
    const entity = await readEntity(new ByteReader(part));
    const body = await collect(entity.body, MAX_SMALL_PART, what).catch((err: unknown) => {
      throw malformed(err instanceof Error ? err.message : String(err), err);
    });
    return { entity, body };
  }

  /** After the closing boundary: drops the epilogue. */
  async finish(): Promise<void> {
    // Parts nobody asked for (there should be none) are read past, up to the closing boundary.
    while ((await this.nextPart()) !== null);
    await this.#reader.skipRest();
  }

  async *#partBytes(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const trimmed = yield* this.#reader.until(this.#delimiter, 'a multipart body part', !this.#bareLf);
        if (await this.#atBoundary()) break;
        // Content that only starts like our boundary (a longer one of a nested multipart): keep it.
        yield Buffer.concat([trimmed ? CR : EMPTY, await this.#reader.read(this.#delimiter.length)]);
      }
      this.#inPart = false;
    } catch (err) {
      if (err instanceof TruncatedInput) throw malformed('the closing boundary is missing (truncated message?)', err);
      throw err;
    }
  }

  /** After a delimiter: "--", or transport padding up to the line break, makes it a boundary. */
  async #atBoundary(): Promise<boolean> {
    const after = await this.#reader.peek(this.#delimiter.length + 2);
    if (after.length < this.#delimiter.length + 2) return true;
    const [a, b] = [after[this.#delimiter.length], after[this.#delimiter.length + 1]];
    return (a === DASH && b === DASH) || a === CR_BYTE || a === LF_BYTE || a === SPACE || a === TAB;
  }

  async #skipPreamble(): Promise<void> {
    const start = await this.#reader.peek(this.#dashBoundary.length);
    if (start.equals(this.#dashBoundary)) {
      await this.#reader.read(this.#dashBoundary.length);
      return;
    }
    for await (const _preamble of this.#reader.until(this.#delimiter, 'a multipart preamble'));
    await this.#reader.read(this.#delimiter.length);
  }
}
