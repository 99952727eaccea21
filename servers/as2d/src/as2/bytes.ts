import { TruncatedInput } from './errors.js';

const EMPTY = Buffer.alloc(0);
const CR = 0x0d;
const LF = 0x0a;

/**
 * Pull-style reading over a stream of chunks: exact reads for ASN.1 headers, bounded lines for MIME
 * headers, and pass-through streaming for bodies (chunks are handed on as they come, never
 * gathered). This is what lets a message of any size be decrypted, verified and stored in one pass
 * with flat memory.
 */
export class ByteReader {
  readonly #source: AsyncIterator<Buffer>;
  #buffer: Buffer = EMPTY;
  #ended = false;
  #position = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** Bytes handed out so far. */
  get position(): number {
    return this.#position;
  }

  /** True once at least `n` bytes are buffered; false when the input ends first. */
  async ensure(n: number): Promise<boolean> {
    while (this.#buffer.length < n) {
      if (!(await this.#pull())) return false;
    }
    return true;
  }

  /** Up to `n` bytes, without consuming them (fewer only at the end of the input). */
  async peek(n: number): Promise<Buffer> {
    await this.ensure(n);
    return this.#buffer.subarray(0, Math.min(n, this.#buffer.length));
  }

  async atEnd(): Promise<boolean> {
    return !(await this.ensure(1));
  }

  /** Exactly `n` bytes; `what` names the structure in the error when the input is shorter. */
  async read(n: number, what = 'a structure'): Promise<Buffer> {
    if (!(await this.ensure(n))) throw new TruncatedInput(what);
    return this.#take(n);
  }

  /** Exactly `n` bytes, as the chunks arrive. */
  async *stream(n: number, what = 'a structure'): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#buffer.length === 0 && !(await this.#pull())) throw new TruncatedInput(what);
      const part = this.#take(Math.min(left, this.#buffer.length));
      left -= part.length;
      yield part;
    }
  }

  /** Everything that is left. */
  async *rest(): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.#buffer.length > 0) yield this.#take(this.#buffer.length);
      if (!(await this.#pull())) return;
    }
  }

  /** Reads and drops whatever is left (an epilogue, a refused body). */
  async skipRest(): Promise<void> {
    for await (const _chunk of this.rest());
  }

  /**
   * One line, its LF included (a CR before it too). `max` bounds it: a header block is never
   * allowed to grow without end.
   */
  async line(max: number, what = 'a header line'): Promise<Buffer> {
    let from = 0;
    for (;;) {
      const at = this.#buffer.indexOf(LF, from);
      if (at !== -1) {
        if (at + 1 > max) throw new RangeError(`${what} is longer than ${max} bytes`);
        return this.#take(at + 1);
      }
      if (this.#buffer.length > max) throw new RangeError(`${what} is longer than ${max} bytes`);
      from = this.#buffer.length;
      if (!(await this.#pull())) throw new TruncatedInput(what);
    }
  }

  /**
   * The bytes before `delimiter`, streamed; the reader is left at the delimiter. With `trimCr`, a CR
   * right before the delimiter is not part of the content (a MIME boundary owns the line break in
   * front of it, CRLF or a bare LF); the return value says whether one was left out.
   */
  async *until(delimiter: Buffer, what: string, trimCr = false): AsyncGenerator<Buffer, boolean> {
    for (;;) {
      const at = this.#buffer.indexOf(delimiter);
      if (at !== -1) {
        const end = trimCr && at > 0 && this.#buffer[at - 1] === CR ? at - 1 : at;
        if (end > 0) yield this.#take(end);
        if (at > end) this.#take(at - end);
        return at > end;
      }
      // Hold back enough for a delimiter split across chunks, plus the CR that may precede it.
      const safe = this.#buffer.length - delimiter.length;
      if (safe > 0) yield this.#take(safe);
      if (!(await this.#pull())) throw new TruncatedInput(what);
    }
  }

  #take(n: number): Buffer {
    const out = this.#buffer.subarray(0, n);
    this.#buffer = n === this.#buffer.length ? EMPTY : this.#buffer.subarray(n);
    this.#position += n;
    return out;
  }

  async #pull(): Promise<boolean> {
    if (this.#ended) return false;
    const next = await this.#source.next();
    if (next.done) {
      this.#ended = true;
      return false;
    }
    const chunk = next.value;
    if (chunk.length > 0) this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    return true;
  }
}

/** Runs `observe` over every chunk on its way through (hashing, counting). */
export async function* tap(source: AsyncIterable<Buffer>, observe: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    observe(chunk);
    yield chunk;
  }
}

/** Gathers a small stream (a signature, an MDN) into one buffer, refusing more than `max` bytes. */
export async function collect(source: AsyncIterable<Buffer>, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > max) throw new RangeError(`${what} is larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export async function* once(data: Buffer): AsyncGenerator<Buffer> {
  if (data.length > 0) yield data;
}
