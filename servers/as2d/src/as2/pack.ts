import type { DigestName, EncryptionName, KeyTransportName } from './algorithms.js';
import { base64Lines } from './base64.js';
import { tap } from './bytes.js';
import type { Certificate, Identity } from './certificates.js';
import { sealEnvelope } from './cms-envelope.js';
import { signDigest } from './cms-sign.js';
import { compressToCms } from './compress.js';
import { Digests, type Mic } from './mic.js';
import { entityBytes, param, type HeaderList } from './mime.js';
import { newBoundary } from './multipart.js';

/**
 * Sending: wraps a payload in the layers a partner expects — compress, sign, encrypt, in the order
 * RFC 5402 allows — as one stream, and computes the MIC the partner's MDN must return (the same
 * bytes unpack.ts chooses: the signed entity, else the encrypted one, else the body).
 */

export type CompressionOrder = 'before-signing' | 'after-signing';

export interface PackOptions {
  payload: AsyncIterable<Buffer>;
  /** Of the payload, e.g. application/edi-x12; default application/octet-stream. */
  contentType?: string;
  filename?: string;
  sign?: { identity: Identity; digest: DigestName };
  encrypt?: { recipient: Certificate; encryption: EncryptionName; keyTransport: KeyTransportName };
  compress?: CompressionOrder;
  /** The MIC algorithm asked for in Disposition-Notification-Options; default: the signing digest, else sha-256. */
  micAlgorithm?: DigestName;
}

export interface PackedMessage {
  /** The outermost entity's headers: they travel as HTTP headers. */
  headers: HeaderList;
  body: AsyncGenerator<Buffer>;
  micAlgorithm: DigestName;
  /** Known once `body` has been read to its end. */
  mic(): Mic;
}

interface OutEntity {
  headers: HeaderList;
  body: AsyncIterable<Buffer>;
}

const P7M = 'smime.p7m';

function payloadEntity(options: PackOptions): OutEntity {
  const headers: [string, string][] = [
    ['Content-Type', options.contentType ?? 'application/octet-stream'],
    ['Content-Transfer-Encoding', 'binary'],
  ];
  if (options.filename) headers.push(['Content-Disposition', `attachment; ${param('filename', options.filename)}`]);
  return { headers, body: options.payload };
}

function compressed(entity: OutEntity): OutEntity {
  return {
    headers: [
      ['Content-Type', 'application/pkcs7-mime; smime-type=compressed-data; name=smime.p7z'],
      ['Content-Transfer-Encoding', 'binary'],
      ['Content-Disposition', 'attachment; filename=smime.p7z'],
    ],
    body: compressToCms(entityBytes(entity.headers, entity.body)),
  };
}

function signed(entity: OutEntity, identity: Identity, digest: DigestName, digests: Digests): OutEntity {
  const boundary = newBoundary();
  async function* body(): AsyncGenerator<Buffer> {
    yield Buffer.from(`--${boundary}\r\n`, 'latin1');
    for await (const chunk of entityBytes(entity.headers, entity.body)) {
      digests.update(chunk);
      yield chunk;
    }
    const signature = signDigest(digests.digest(digest), digest, identity);
    yield Buffer.from(
      `\r\n--${boundary}\r\n` +
        'Content-Type: application/pkcs7-signature; name=smime.p7s\r\n' +
        'Content-Transfer-Encoding: base64\r\n' +
        'Content-Disposition: attachment; filename=smime.p7s\r\n\r\n' +
        base64Lines(signature) +
        `--${boundary}--\r\n`,
      'latin1',
    );
  }
  return {
    headers: [['Content-Type', `multipart/signed; protocol="application/pkcs7-signature"; micalg=${digest}; ${param('boundary', boundary)}`]],
    body: body(),
  };
}

function enveloped(entity: OutEntity, options: NonNullable<PackOptions['encrypt']>, observe?: Digests): OutEntity {
  const plaintext = entityBytes(entity.headers, entity.body);
  const smimeType = options.encryption.endsWith('-gcm') ? 'authEnveloped-data' : 'enveloped-data';
  return {
    headers: [
      ['Content-Type', `application/pkcs7-mime; smime-type=${smimeType}; name=${P7M}`],
      ['Content-Transfer-Encoding', 'binary'],
      ['Content-Disposition', `attachment; filename=${P7M}`],
    ],
    body: sealEnvelope(observe ? tap(plaintext, (chunk) => observe.update(chunk)) : plaintext, options),
  };
}

export function pack(options: PackOptions): PackedMessage {
  const micAlgorithm = options.micAlgorithm ?? options.sign?.digest ?? 'sha-256';
  const mics = new Digests([micAlgorithm, ...(options.sign ? [options.sign.digest] : [])]);
  let entity = payloadEntity(options);
  if (options.compress === 'before-signing') entity = compressed(entity);
  if (options.sign) entity = signed(entity, options.sign.identity, options.sign.digest, mics);
  if (options.compress === 'after-signing') entity = compressed(entity);
  if (options.encrypt) entity = enveloped(entity, options.encrypt, options.sign ? undefined : mics);
  const body = options.sign || options.encrypt ? entity.body : tap(entity.body, (chunk) => mics.update(chunk));
  async function* stream(): AsyncGenerator<Buffer> {
    yield* body;
  }
  return {
    headers: [['MIME-Version', '1.0'], ...entity.headers],
    body: stream(),
    micAlgorithm,
    mic: () => mics.mic(micAlgorithm),
  };
}
