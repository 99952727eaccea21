import { createHash, type Hash } from 'node:crypto';
import { DIGESTS, parseDigestName, type DigestName } from './algorithms.js';

/**
 * The Message Integrity Check an MDN returns (RFC 4130 §7.3.1): a digest, base64, named by its
 * micalg. Which bytes it covers is decided by unpack.ts and pack.ts in the same way:
 *   - signed: the signed MIME entity (headers and body) exactly as signed;
 *   - encrypted, not signed: the decrypted MIME entity;
 *   - neither: the body, without headers.
 */
export interface Mic {
  /** Base64 digest. */
  value: string;
  algorithm: DigestName;
}

/** `Received-Content-MIC: <base64>, <micalg>` */
export function formatMic(mic: Mic): string {
  return `${mic.value}, ${mic.algorithm}`;
}

export function parseMic(text: string): Mic | undefined {
  const comma = text.lastIndexOf(',');
  if (comma === -1) return undefined;
  const algorithm = parseDigestName(text.slice(comma + 1));
  const value = text.slice(0, comma).trim();
  return algorithm && value ? { value, algorithm } : undefined;
}

export function sameMic(a: Mic, b: Mic): boolean {
  return a.algorithm === b.algorithm && a.value === b.value;
}

/** Several digests over the same bytes at once (a signature digest and a MIC may differ). */
export class Digests {
  readonly #hashes = new Map<DigestName, Hash>();
  #results: Map<DigestName, Buffer> | undefined;

  constructor(names: Iterable<DigestName>) {
    for (const name of names) if (!this.#hashes.has(name)) this.#hashes.set(name, createHash(DIGESTS[name].node));
  }

  update(chunk: Buffer): void {
    for (const hash of this.#hashes.values()) hash.update(chunk);
  }

  has(name: DigestName): boolean {
    return this.#hashes.has(name);
  }

  /** Finishes every digest (once) and returns one of them. */
  digest(name: DigestName): Buffer {
    this.#results ??= new Map([...this.#hashes].map(([n, h]) => [n, h.digest()]));
    const result = this.#results.get(name);
    if (!result) throw new Error(`digest ${name} was not computed`);
    return result;
  }

  mic(name: DigestName): Mic {
    return { value: this.digest(name).toString('base64'), algorithm: name };
  }
}
