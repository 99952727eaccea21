import { DIGEST_NAMES, parseDigestName, type DigestName, type EncryptionName } from './algorithms.js';
import { ByteReader, tap } from './bytes.js';
import type { Certificate, Identity } from './certificates.js';
import { openEnvelope, type EnvelopeTrace, type OpenedEnvelope } from './cms-envelope.js';
import { parseSignature, verifySignature, type SignatureTrace } from './cms-sign.js';
import { decompressCms } from './compress.js';
import { As2Failure } from './errors.js';
import { Digests, type Mic } from './mic.js';
import { contentTypeOf, decodedBody, readEntity, type Entity, type HeaderValue } from './mime.js';
import { boundaryOf, MultipartReader } from './multipart.js';

/**
 * Receiving: peels a message layer by layer — decrypt, verify, decompress, in whatever order the
 * sender wrapped them — as one stream, and hands the innermost entity to `deliver` before its first
 * byte is read. Checks that can only be made at the end (a signature, a GCM tag, a CBC padding)
 * settle when `unpack` settles: `deliver` may write the payload to a partial file, and the caller
 * moves it into place only once `unpack` has resolved.
 */

const MAX_DEPTH = 6;

export interface UnpackTrace {
  /** The outermost envelope, if any. */
  encryption?: EnvelopeTrace;
  /** The outermost signature, once verified. */
  signature?: SignatureTrace;
  compressed: boolean;
}

/** What the message looks like around the innermost entity, when `deliver` is called. */
export interface Wrapping {
  /** Inside a multipart/signed (the signature itself is checked after the content). */
  signed: boolean;
  encrypted: boolean;
  compressed: boolean;
}

export interface UnpackOptions<T> {
  /** Ours, to decrypt; without one an encrypted message fails with decryption-failed. */
  identity?: Identity | undefined;
  /** The only certificates a signature may verify with: the partner's. */
  partnerCertificates: readonly Certificate[];
  /** The MIC algorithm the partner asked for; default: the signature's micalg, else sha-256. */
  micAlgorithm?: DigestName | undefined;
  /** Algorithms this partner may use; anything else is insufficient-message-security. */
  accept?: { encryptions?: readonly EncryptionName[]; digests?: readonly DigestName[] };
  /** Bound on decompressed content. */
  maxContentBytes: number;
  /** Consumes the innermost entity's body (already transfer-decoded). */
  deliver(entity: Entity, wrapping: Wrapping): Promise<T>;
}

export interface Unpacked<T> {
  result: T;
  trace: UnpackTrace;
  mic: Mic;
}

const PKCS7_MIME = new Set(['application/pkcs7-mime', 'application/x-pkcs7-mime']);
const PKCS7_SIGNATURE = new Set(['application/pkcs7-signature', 'application/x-pkcs7-signature']);

export async function unpack<T>(outer: Entity, options: UnpackOptions<T>): Promise<Unpacked<T>> {
  return new Unpacking(options).run(outer);
}

class Unpacking<T> {
  readonly trace: UnpackTrace = { compressed: false };
  readonly #options: UnpackOptions<T>;
  #signedDepth = 0;
  #signedMic: Mic | undefined;
  #plainMic: Digests | undefined;

  constructor(options: UnpackOptions<T>) {
    this.#options = options;
  }

  get #micAlgorithm(): DigestName {
    return this.#options.micAlgorithm ?? 'sha-256';
  }

  async run(outer: Entity): Promise<Unpacked<T>> {
    const type = contentTypeOf(outer.headers);
    let entity = outer;
    if (this.#kind(type) !== 'enveloped' && this.#kind(type) !== 'signed') {
      // Neither signed nor encrypted: the MIC covers the body as it came (RFC 4130 §7.3.1).
      this.#plainMic = new Digests([this.#micAlgorithm]);
      const digests = this.#plainMic;
      entity = { ...outer, body: tap(outer.body, (chunk) => digests.update(chunk)) };
    }
    const result = await this.#walk(entity, 0);
    const mic = this.#signedMic ?? this.#plainMic?.mic(this.#micAlgorithm);
    if (!mic) throw new Error('no MIC was computed');
    return { result, trace: this.trace, mic };
  }

  #kind(type: HeaderValue): 'enveloped' | 'compressed' | 'opaque-signed' | 'signed' | 'content' {
    if (type.value === 'multipart/signed') return 'signed';
    if (!PKCS7_MIME.has(type.value)) return 'content';
    const smime = type.params.get('smime-type')?.toLowerCase();
    if (smime === 'compressed-data') return 'compressed';
    if (smime === 'signed-data') return 'opaque-signed';
    // smime-type is optional in practice; an unlabelled pkcs7-mime in AS2 is an envelope.
    return 'enveloped';
  }

  async #walk(entity: Entity, depth: number): Promise<T> {
    if (depth > MAX_DEPTH) throw new As2Failure('unexpected-processing-error', `the message nests more than ${MAX_DEPTH} layers`);
    const type = contentTypeOf(entity.headers);
    switch (this.#kind(type)) {
      case 'enveloped':
        return this.#decrypt(entity, depth);
      case 'compressed':
        return this.#decompress(entity, depth);
      case 'signed':
        return this.#verify(entity, type, depth);
      case 'opaque-signed':
        throw new As2Failure('unexpected-processing-error', 'opaque signed-data is not supported; send multipart/signed');
      case 'content':
        return this.#options.deliver(
          { ...entity, body: decodedBody(entity) },
          { signed: this.#signedDepth > 0, encrypted: this.trace.encryption !== undefined, compressed: this.trace.compressed },
        );
    }
  }

  /** Walks an inner entity read from `source`, then reads `source` to its end so its final checks run. */
  async #inner(source: AsyncIterable<Buffer>, depth: number, observe?: (entity: Entity) => Entity): Promise<T> {
    const reader = new ByteReader(source);
    let entity = await readEntity(reader);
    if (observe) entity = observe(entity);
    const result = await this.#walk(entity, depth + 1);
    await reader.skipRest();
    return result;
  }

  /**
   * Like #inner, for decrypted content. With a wrong key (implicit rejection gives a random one)
   * the content is garbage that usually fails to parse before the padding or tag is checked: on a
   * failure, decryption is finished first, so that a wrong key is reported as decryption-failed.
   */
  async #decrypted(envelope: OpenedEnvelope, depth: number, observe: (entity: Entity) => Entity): Promise<T> {
    const reader = new ByteReader(envelope.content);
    try {
      const entity = observe(await readEntity(reader));
      const result = await this.#walk(entity, depth + 1);
      await reader.skipRest();
      return result;
    } catch (err) {
      if (!(err instanceof As2Failure) || err.kind === 'decryption-failed') throw err;
      const notForUs = (cause: unknown) => new As2Failure('decryption-failed', 'the message is encrypted for another certificate than ours', { cause });
      try {
        await reader.skipRest();
      } catch (final) {
        if (final instanceof As2Failure && final.kind === 'decryption-failed') throw envelope.addressedToUs ? final : notForUs(final);
      }
      // The padding happened to check out: content that does not even parse, for another certificate, is still garbage.
      if (!envelope.addressedToUs && err.kind === 'unexpected-processing-error') throw notForUs(err);
      throw err;
    }
  }

  async #decrypt(entity: Entity, depth: number): Promise<T> {
    const identity = this.#options.identity;
    if (!identity) throw new As2Failure('decryption-failed', 'the message is encrypted but no private key is configured');
    const envelope = await openEnvelope(new ByteReader(decodedBody(entity)), identity);
    const allowed = this.#options.accept?.encryptions;
    if (allowed && !allowed.includes(envelope.encryption)) {
      throw new As2Failure('insufficient-message-security', `${envelope.encryption} is not among the encryption algorithms allowed for this partner (${allowed.join(', ')})`);
    }
    const outermost = this.trace.encryption === undefined;
    this.trace.encryption ??= { encryption: envelope.encryption, keyTransport: envelope.keyTransport };
    return this.#decrypted(envelope, depth, (inner) => {
      // Encrypted but not signed: the MIC covers the decrypted entity, headers included.
      if (!outermost || this.#signedDepth > 0 || contentTypeOf(inner.headers).value === 'multipart/signed') return inner;
      const digests = new Digests([this.#micAlgorithm]);
      this.#plainMic = digests;
      digests.update(inner.rawHeaders);
      return { ...inner, body: tap(inner.body, (chunk) => digests.update(chunk)) };
    });
  }

  async #decompress(entity: Entity, depth: number): Promise<T> {
    this.trace.compressed = true;
    return this.#inner(decompressCms(new ByteReader(decodedBody(entity)), this.#options.maxContentBytes), depth);
  }

  async #verify(entity: Entity, type: HeaderValue, depth: number): Promise<T> {
    const parts = new MultipartReader(decodedBody(entity), boundaryOf(type.params));
    const declared = parseDigestName(type.params.get('micalg') ?? '');
    const micAlgorithm = this.#options.micAlgorithm ?? declared ?? 'sha-256';
    // Without a usable micalg the signature's digest is only known at the end: compute them all.
    const digests = new Digests(declared ? [declared, micAlgorithm] : [...DIGEST_NAMES]);
    const content = await parts.nextPart();
    if (!content) throw new As2Failure('unexpected-processing-error', 'malformed multipart/signed: no signed content');
    this.#signedDepth++;
    const result = await this.#inner(tap(content, (chunk) => digests.update(chunk)), depth);
    this.#signedDepth--;

    const signaturePart = await parts.nextSmallPart('the signature part');
    if (!signaturePart) throw new As2Failure('insufficient-message-security', 'multipart/signed without a signature part');
    await parts.finish();
    const signatureType = contentTypeOf(signaturePart.entity.headers).value;
    if (!PKCS7_SIGNATURE.has(signatureType)) throw new As2Failure('authentication-failed', `unsupported signature type ${signatureType}`);
    const encoding = (signaturePart.entity.headers.get('content-transfer-encoding') ?? 'binary').toLowerCase();
    const signature = encoding === 'base64' ? Buffer.from(signaturePart.body.toString('latin1').replace(/\s+/g, ''), 'base64') : signaturePart.body;
    const parsed = parseSignature(signature);
    if (!digests.has(parsed.digest)) {
      throw new As2Failure('integrity-check-failed', `the signature uses ${parsed.digest} but the micalg parameter says ${declared ?? 'nothing usable'}`);
    }
    const allowed = this.#options.accept?.digests;
    if (allowed && !allowed.includes(parsed.digest)) {
      throw new As2Failure('insufficient-message-security', `${parsed.digest} is not among the signature digests allowed for this partner (${allowed.join(', ')})`);
    }
    // Outer layers finish last, so the outermost signature is the one that stays.
    this.trace.signature = verifySignature(parsed, digests.digest(parsed.digest), this.#options.partnerCertificates);
    this.#signedMic = digests.mic(digests.has(micAlgorithm) ? micAlgorithm : parsed.digest);
    return result;
  }
}
