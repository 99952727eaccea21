import type { Readable } from 'node:stream';
import { FerryError } from '@ferry/core';
import type { Exchange } from './exchange.js';

/** The request body as the receiver reads it: bounded, and a cut reported as a cut. */

/** Content-Length, when the partner announced one. */
export function declaredLength(exchange: Exchange): number | null {
  const value = exchange.headers['content-length'];
  if (value === undefined) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

export function tooLarge(max: number): FerryError {
  return new FerryError('FERRY_ERR_TOO_LARGE', `the message is larger than ${max} bytes`, { details: { limit: max } });
}

/**
 * The request body with the size limit, and a partner who goes away reported as such. One iterator
 * for the whole request: what processing leaves unread (after a refusal) is drained from it.
 */
export class RequestBody {
  readonly #chunks: AsyncIterator<Buffer>;
  #total = 0;

  constructor(
    private readonly body: Readable,
    private readonly max: number,
  ) {
    this.#chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Bytes read so far (what a refused message is recorded with). */
  get bytes(): number {
    return this.#total;
  }

  async *chunks(): AsyncGenerator<Buffer> {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await this.#chunks.next();
      } catch (err) {
        throw new FerryError('FERRY_ERR_TRANSFER_ABORTED', 'the partner closed the connection during the message', { cause: err });
      }
      if (next.done) break;
      this.#total += next.value.length;
      if (this.#total > this.max) throw tooLarge(this.max);
      yield next.value;
    }
    if ((this.body as Readable & { complete?: boolean }).complete === false) {
      throw new FerryError('FERRY_ERR_TRANSFER_ABORTED', 'the partner closed the connection during the message');
    }
  }

  /** Reads and drops what is left (a body answered without being processed), bounded by the limit. */
  async drain(): Promise<void> {
    if (this.body.readableEnded) return;
    for await (const _chunk of this.chunks());
  }
}
