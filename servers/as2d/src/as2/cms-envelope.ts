import { createCipheriv, createDecipheriv, randomBytes, type Decipher } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ENCRYPTIONS, encryptionByOid, type EncryptionName, type KeyTransportName } from './algorithms.js';
import type { ByteReader } from './bytes.js';
import { identifies, issuerAndSerial, type Certificate, type Identity } from './certificates.js';
import { closeContainer, EOC, expectHeader, header, octets, readElement, readHeader, TAG, tlv } from './der.js';
import { As2Failure, failureOf } from './errors.js';
import { decryptContentKey, encryptContentKey, keyTransportAlgorithm, keyTransportName } from './key-transport.js';
import { OID } from './oids.js';

/**
 * CMS EnvelopedData (RFC 5652 §6, CBC modes) and AuthEnvelopedData (RFC 5083/5084, GCM), both
 * streamed: the recipient infos are read first, then the content is decrypted segment by segment
 * as it arrives, so nothing of the message is held in memory. Writing uses the BER indefinite-length
 * form for the same reason: the content is encrypted as it is produced.
 */

const MAX_RECIPIENTS_BYTES = 1 << 20;
const MAX_SMALL = 64 * 1024;
/** Encrypted content is written in segments of at most this size (a constructed OCTET STRING). */
const SEGMENT = 1 << 20;

export interface EnvelopeTrace {
  encryption: EncryptionName;
  keyTransport: KeyTransportName;
}

export interface OpenedEnvelope extends EnvelopeTrace {
  /** The decrypted content. Ends by checking the padding (CBC) or the authentication tag (GCM). */
  content: AsyncGenerator<Buffer>;
  /**
   * Whether the recipient info names our certificate. One that names another is still tried (a
   * certificate renewed on the same key decrypts fine), but then a failure means: not for us.
   */
  addressedToUs: boolean;
}

function oidOf(der: Buffer): string {
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.ObjectIdentifier)) throw new As2Failure('decryption-failed', 'malformed CMS: expected an OID');
  return parsed.result.valueBlock.toString();
}

function parse<T>(der: Buffer, make: (schema: asn1js.AsnType) => T, what: string): T {
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1) throw new As2Failure('decryption-failed', `malformed CMS: ${what} is not valid BER`);
  try {
    return make(parsed.result);
  } catch (err) {
    throw failureOf(err, 'decryption-failed', `malformed CMS ${what}`);
  }
}

interface ContentParams {
  iv: Buffer;
  tagLength: number;
}

function contentParams(algorithm: pkijs.AlgorithmIdentifier, name: EncryptionName): ContentParams {
  const params = algorithm.algorithmParams as asn1js.BaseBlock | undefined;
  if (!ENCRYPTIONS[name].authenticated) {
    if (!(params instanceof asn1js.OctetString)) throw new As2Failure('decryption-failed', `${name}: the IV is missing`);
    return { iv: Buffer.from(params.valueBlock.valueHexView), tagLength: 0 };
  }
  // GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen INTEGER DEFAULT 12 }
  const fields = params instanceof asn1js.Sequence ? params.valueBlock.value : [];
  const nonce = fields[0];
  if (!(nonce instanceof asn1js.OctetString)) throw new As2Failure('decryption-failed', `${name}: the nonce is missing`);
  const icv = fields[1];
  const tagLength = icv instanceof asn1js.Integer ? icv.valueBlock.valueDec : 12;
  if (tagLength < 12 || tagLength > 16) throw new As2Failure('decryption-failed', `${name}: unsupported tag length ${tagLength}`);
  return { iv: Buffer.from(nonce.valueBlock.valueHexView), tagLength };
}

/** Picks the recipient info meant for us (by certificate), or else the only RSA one there is. */
function ourRecipient(recipientsDer: Buffer, identity: Identity): { info: pkijs.KeyTransRecipientInfo; addressedToUs: boolean } {
  const set = parse(recipientsDer, (schema) => schema, 'recipient infos');
  const infos = set instanceof asn1js.Set ? set.valueBlock.value : [];
  const transports: pkijs.KeyTransRecipientInfo[] = [];
  for (const item of infos) {
    const info = new pkijs.RecipientInfo({ schema: item });
    if (info.variant === 1 && info.value instanceof pkijs.KeyTransRecipientInfo) transports.push(info.value);
  }
  const mine = transports.find((t) => identifies(identity.certificate, t.rid));
  if (mine) return { info: mine, addressedToUs: true };
  if (transports.length === 1) return { info: transports[0]!, addressedToUs: false };
  throw new As2Failure('decryption-failed', `the message is not encrypted for our certificate (${identity.certificate.subject})`);
}

/** Reads an EnvelopedData or AuthEnvelopedData up to its content and starts decrypting. */
export async function openEnvelope(reader: ByteReader, identity: Identity): Promise<OpenedEnvelope> {
  try {
    const contentInfo = await expectHeader(reader, TAG.sequence, 'ContentInfo');
    const type = oidOf(await readElement(reader, MAX_SMALL, 'ContentInfo'));
    if (type !== OID.envelopedData && type !== OID.authEnvelopedData) {
      throw new As2Failure('decryption-failed', `the message is declared enveloped-data but holds CMS content type ${type}`);
    }
    const authenticated = type === OID.authEnvelopedData;
    const explicit = await expectHeader(reader, TAG.context0, 'ContentInfo content');
    const envelope = await expectHeader(reader, TAG.sequence, 'EnvelopedData');
    await readElement(reader, 16, 'EnvelopedData version');
    let next = await reader.peek(1);
    if (next[0] === TAG.context0) await readElement(reader, MAX_RECIPIENTS_BYTES, 'originatorInfo');
    const recipientsDer = await readElement(reader, MAX_RECIPIENTS_BYTES, 'recipientInfos');
    const info = await expectHeader(reader, TAG.sequence, 'EncryptedContentInfo');
    await readElement(reader, MAX_SMALL, 'content type');
    const algorithm = parse(await readElement(reader, MAX_SMALL, 'content encryption algorithm'), (schema) => new pkijs.AlgorithmIdentifier({ schema }), 'content encryption algorithm');
    const encryption = encryptionByOid(algorithm.algorithmId);
    if (!encryption) throw new As2Failure('decryption-failed', `unsupported content encryption algorithm ${algorithm.algorithmId}`);
    const spec = ENCRYPTIONS[encryption];
    if (spec.authenticated !== authenticated) throw new As2Failure('decryption-failed', `${encryption} in a ${authenticated ? 'AuthEnvelopedData' : 'EnvelopedData'} is not allowed`);
    const params = contentParams(algorithm, encryption);
    const { info: recipient, addressedToUs } = ourRecipient(recipientsDer, identity);
    const keyTransport = keyTransportName(recipient.keyEncryptionAlgorithm);
    const key = decryptContentKey(recipient.keyEncryptionAlgorithm, Buffer.from(recipient.encryptedKey.valueBlock.valueHexView), identity.privateKey, spec.keyLength);
    let decipher: Decipher;
    try {
      decipher = spec.authenticated
        ? createDecipheriv(spec.node as 'aes-128-gcm', key, params.iv, { authTagLength: params.tagLength })
        : createDecipheriv(spec.node, key, params.iv);
    } catch (err) {
      throw failureOf(err, 'decryption-failed', `${encryption}`);
    }
    next = await reader.peek(1);
    if (next[0] !== TAG.context0Primitive && next[0] !== TAG.context0) {
      throw new As2Failure('decryption-failed', 'the EnvelopedData carries no encrypted content');
    }
    const encrypted = await readHeader(reader, 'encrypted content');
    const frames = { contentInfo, explicit, envelope, info, encrypted };
    return { encryption, keyTransport, addressedToUs, content: decrypt(reader, decipher, frames, authenticated) };
  } catch (err) {
    throw failureOf(err, 'decryption-failed', 'cannot read the EnvelopedData');
  }
}

interface Frames {
  contentInfo: Awaited<ReturnType<typeof readHeader>>;
  explicit: Awaited<ReturnType<typeof readHeader>>;
  envelope: Awaited<ReturnType<typeof readHeader>>;
  info: Awaited<ReturnType<typeof readHeader>>;
  encrypted: Awaited<ReturnType<typeof readHeader>>;
}

async function* decrypt(reader: ByteReader, decipher: Decipher, frames: Frames, authenticated: boolean): AsyncGenerator<Buffer> {
  try {
    for await (const segment of octets(reader, frames.encrypted, 'the encrypted content')) {
      const plain = decipher.update(segment);
      if (plain.length > 0) yield plain;
    }
    await closeContainer(reader, frames.info);
    if (authenticated) {
      const next = await reader.peek(1);
      if (next[0] === TAG.context1) throw new As2Failure('decryption-failed', 'authenticated attributes in AuthEnvelopedData are not supported');
      const mac = await readElement(reader, 64, 'the authentication tag');
      const tag = parse(mac, (schema) => schema, 'the authentication tag');
      if (!(tag instanceof asn1js.OctetString)) throw new As2Failure('decryption-failed', 'the authentication tag is not an OCTET STRING');
      (decipher as Decipher & { setAuthTag(tag: Buffer): void }).setAuthTag(Buffer.from(tag.valueBlock.valueHexView));
    }
    let last: Buffer;
    try {
      last = decipher.final();
    } catch (err) {
      throw new As2Failure('decryption-failed', authenticated ? 'the authentication tag does not match: wrong key or altered content' : 'bad padding after decryption: wrong key or altered content', { cause: err });
    }
    if (last.length > 0) yield last;
    await closeContainer(reader, frames.envelope);
    await closeContainer(reader, frames.explicit);
    await closeContainer(reader, frames.contentInfo);
    if (!(await reader.atEnd())) throw new As2Failure('decryption-failed', 'bytes follow the EnvelopedData');
  } catch (err) {
    throw failureOf(err, 'decryption-failed', 'cannot decrypt the content');
  }
}

export interface SealOptions {
  recipient: Certificate;
  encryption: EncryptionName;
  keyTransport: KeyTransportName;
}

/** Encrypts a stream into a BER EnvelopedData (CBC) or AuthEnvelopedData (GCM) ContentInfo. */
export async function* sealEnvelope(plaintext: AsyncIterable<Buffer>, options: SealOptions): AsyncGenerator<Buffer> {
  const spec = ENCRYPTIONS[options.encryption];
  const key = randomBytes(spec.keyLength);
  const iv = randomBytes(spec.ivLength);
  const recipient = new pkijs.KeyTransRecipientInfo({
    version: 0,
    rid: issuerAndSerial(options.recipient),
    keyEncryptionAlgorithm: keyTransportAlgorithm(options.keyTransport),
    encryptedKey: new asn1js.OctetString({ valueHex: encryptContentKey(options.keyTransport, options.recipient, key) }),
  });
  const params = spec.authenticated
    ? new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: iv }), new asn1js.Integer({ value: 16 })] })
    : new asn1js.OctetString({ valueHex: iv });
  const algorithm = new pkijs.AlgorithmIdentifier({ algorithmId: spec.oid, algorithmParams: params });
  const der = (block: { toBER(): ArrayBuffer }): Buffer => Buffer.from(block.toBER());
  const type = spec.authenticated ? OID.authEnvelopedData : OID.envelopedData;
  yield Buffer.concat([
    header(TAG.sequence, null),
    der(new asn1js.ObjectIdentifier({ value: type })),
    header(TAG.context0, null),
    header(TAG.sequence, null),
    der(new asn1js.Integer({ value: 0 })),
    tlv(TAG.set, der(recipient.toSchema())),
    header(TAG.sequence, null),
    der(new asn1js.ObjectIdentifier({ value: OID.data })),
    der(algorithm.toSchema()),
    header(TAG.context0, null),
  ]);
  const cipher = spec.authenticated ? createCipheriv(spec.node as 'aes-128-gcm', key, iv, { authTagLength: 16 }) : createCipheriv(spec.node, key, iv);
  for await (const chunk of plaintext) {
    for (let at = 0; at < chunk.length; at += SEGMENT) {
      const out = cipher.update(chunk.subarray(at, at + SEGMENT));
      if (out.length > 0) yield Buffer.concat([header(TAG.octetString, out.length), out]);
    }
  }
  const last = cipher.final();
  const tail: Buffer[] = [];
  if (last.length > 0) tail.push(header(TAG.octetString, last.length), last);
  tail.push(EOC, EOC);
  if (spec.authenticated) tail.push(tlv(TAG.octetString, (cipher as ReturnType<typeof createCipheriv> & { getAuthTag(): Buffer }).getAuthTag()));
  tail.push(EOC, EOC, EOC);
  yield Buffer.concat(tail);
}

