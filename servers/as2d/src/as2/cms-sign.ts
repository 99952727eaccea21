import { constants, createHash, publicDecrypt, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { DIGESTS, digestByOid, SIGNATURE_DIGEST, type DigestName } from './algorithms.js';
import { identifies, issuerAndSerial, type Certificate, type Identity } from './certificates.js';
import { As2Failure } from './errors.js';
import { OID } from './oids.js';

/**
 * Detached CMS SignedData (RFC 5652 §5), the application/pkcs7-signature part of multipart/signed.
 * The content is hashed by the caller as it streams past; these functions only ever see its digest.
 */

export interface SignatureTrace {
  digest: DigestName;
  /** Subject of the certificate that verified it. */
  signer: string;
}

function der(block: { toBER(sizeOnly?: boolean): ArrayBuffer }): Buffer {
  return Buffer.from(block.toBER(false));
}

function attribute(type: string, value: asn1js.BaseBlock): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: type }), new asn1js.Set({ value: [value] })] });
}

/** DER SET OF: elements sorted by their encodings (X.690 §11.6), which is what gets signed. */
function derSet(elements: Buffer[]): Buffer {
  const body = Buffer.concat([...elements].sort(Buffer.compare));
  const parsed = asn1js.fromBER(Buffer.concat([Buffer.from([0x31]), lengthBytes(body.length), body]));
  return der(parsed.result);
}

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Signs a content digest: SignedData with signed attributes, our certificate, no content. */
export function signDigest(digest: Buffer, digestName: DigestName, signer: Identity, signingTime = new Date()): Buffer {
  const attributes = derSet([
    der(attribute(OID.contentTypeAttr, new asn1js.ObjectIdentifier({ value: OID.data }))),
    der(attribute(OID.signingTimeAttr, new asn1js.UTCTime({ valueDate: signingTime }))),
    der(attribute(OID.messageDigestAttr, new asn1js.OctetString({ valueHex: digest }))),
  ]);
  const keyType = signer.privateKey.asymmetricKeyType;
  const signature = sign(DIGESTS[digestName].node, attributes, keyType === 'ec' ? { key: signer.privateKey, dsaEncoding: 'der' } : signer.privateKey);
  const digestAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: DIGESTS[digestName].oid, algorithmParams: new asn1js.Null() });
  const signatureAlgorithm =
    keyType === 'ec'
      ? new pkijs.AlgorithmIdentifier({ algorithmId: Object.entries(SIGNATURE_DIGEST).find(([oid, d]) => d === digestName && oid.startsWith('1.2.840.10045'))![0] })
      : new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() });
  // The signed attributes travel as [0] IMPLICIT; the signature was made over their SET encoding.
  const signedAttrs = asn1js.fromBER(attributes).result as asn1js.Set;
  signedAttrs.idBlock.tagClass = 3;
  signedAttrs.idBlock.tagNumber = 0;
  const signerInfo = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 1 }),
      issuerAndSerial(signer.certificate).toSchema(),
      digestAlgorithm.toSchema(),
      signedAttrs,
      signatureAlgorithm.toSchema(),
      new asn1js.OctetString({ valueHex: signature }),
    ],
  });
  const certificates = new asn1js.Constructed({
    idBlock: { tagClass: 3, tagNumber: 0 },
    value: [asn1js.fromBER(signer.certificate.der).result],
  });
  const signedData = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 1 }),
      new asn1js.Set({ value: [digestAlgorithm.toSchema()] }),
      new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
      certificates,
      new asn1js.Set({ value: [signerInfo] }),
    ],
  });
  const contentInfo = new asn1js.Sequence({
    value: [new asn1js.ObjectIdentifier({ value: OID.signedData }), new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [signedData] })],
  });
  return der(contentInfo);
}

/** What a detached signature says before it is checked: which digest it needs. */
export interface ParsedSignature {
  signedData: pkijs.SignedData;
  digest: DigestName;
}

export function parseSignature(data: Buffer): ParsedSignature {
  const parsed = asn1js.fromBER(data);
  if (parsed.offset === -1) throw new As2Failure('authentication-failed', 'the signature is not valid BER');
  let signedData: pkijs.SignedData;
  try {
    const contentInfo = new pkijs.ContentInfo({ schema: parsed.result });
    if (contentInfo.contentType !== OID.signedData) throw new Error(`content type ${contentInfo.contentType}`);
    signedData = new pkijs.SignedData({ schema: contentInfo.content });
  } catch (err) {
    throw new As2Failure('authentication-failed', `the signature is not a CMS SignedData (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const signer = signedData.signerInfos[0];
  if (!signer) throw new As2Failure('authentication-failed', 'the SignedData has no signer');
  const digest = digestByOid(signer.digestAlgorithm.algorithmId);
  if (!digest) throw new As2Failure('authentication-failed', `unsupported signature digest algorithm ${signer.digestAlgorithm.algorithmId}`);
  return { signedData, digest };
}

function signatureKey(key: KeyObject, signerInfo: pkijs.SignerInfo): Parameters<typeof verify>[2] {
  if (signerInfo.signatureAlgorithm.algorithmId === OID.rsassaPss) {
    const params = new pkijs.RSASSAPSSParams({ schema: signerInfo.signatureAlgorithm.algorithmParams });
    return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength };
  }
  return key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'der' } : key;
}

/**
 * Verifies a detached signature over content whose digest is `contentDigest`, against the
 * partner's certificate(s) only: a certificate the message brings along is never trusted by itself.
 */
export function verifySignature(parsed: ParsedSignature, contentDigest: Buffer, trusted: readonly Certificate[]): SignatureTrace {
  const signerInfo = parsed.signedData.signerInfos[0]!;
  const certificate = trusted.find((c) => identifies(c, signerInfo.sid)) ?? (trusted.length === 1 ? trusted[0] : undefined);
  if (!certificate) throw new As2Failure('authentication-failed', 'the message is signed by a certificate this partner is not configured with');
  const declared = SIGNATURE_DIGEST[signerInfo.signatureAlgorithm.algorithmId];
  if (declared !== undefined && declared !== parsed.digest) {
    throw new As2Failure('authentication-failed', `the signature algorithm uses ${declared}, the digest algorithm says ${parsed.digest}`);
  }
  const signature = Buffer.from(signerInfo.signature.valueBlock.valueHexView);
  const node = DIGESTS[parsed.digest].node;
  let valid: boolean;
  if (signerInfo.signedAttrs) {
    const attrs = signerInfo.signedAttrs.attributes;
    const messageDigest = attrs.find((a) => a.type === OID.messageDigestAttr)?.values[0];
    if (!(messageDigest instanceof asn1js.OctetString)) throw new As2Failure('authentication-failed', 'the signed attributes carry no message digest');
    const expected = Buffer.from(messageDigest.valueBlock.valueHexView);
    if (expected.length !== contentDigest.length || !timingSafeEqual(expected, contentDigest)) {
      throw new As2Failure('integrity-check-failed', 'the content does not match its signature (message digest differs): it was altered or canonicalized on the way');
    }
    const contentType = attrs.find((a) => a.type === OID.contentTypeAttr)?.values[0];
    if (contentType instanceof asn1js.ObjectIdentifier && contentType.valueBlock.toString() !== OID.data) {
      throw new As2Failure('authentication-failed', 'the signed content type is not id-data');
    }
    // Signed over the attributes' own encoding as a SET (pkijs keeps it re-tagged from [0] IMPLICIT).
    const asSet = Buffer.from(signerInfo.signedAttrs.encodedValue);
    valid = safeVerify(() => verify(node, asSet, signatureKey(certificate.publicKey, signerInfo), signature));
  } else {
    valid = verifyBareDigest(certificate.publicKey, parsed.digest, contentDigest, signature);
  }
  if (!valid) throw new As2Failure('authentication-failed', `the signature does not verify with the partner's certificate (${certificate.subject})`);
  return { digest: parsed.digest, signer: certificate.subject };
}

function safeVerify(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** Without signed attributes an RSA signature covers the DigestInfo of the content itself. */
function verifyBareDigest(key: KeyObject, digest: DigestName, contentDigest: Buffer, signature: Buffer): boolean {
  if (key.asymmetricKeyType !== 'rsa') return false;
  return safeVerify(() => {
    const digestInfo = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
    const expected = Buffer.from(
      new asn1js.Sequence({
        value: [new pkijs.AlgorithmIdentifier({ algorithmId: DIGESTS[digest].oid, algorithmParams: new asn1js.Null() }).toSchema(), new asn1js.OctetString({ valueHex: contentDigest })],
      }).toBER(),
    );
    const bare = Buffer.from(
      new asn1js.Sequence({ value: [new pkijs.AlgorithmIdentifier({ algorithmId: DIGESTS[digest].oid }).toSchema(), new asn1js.OctetString({ valueHex: contentDigest })] }).toBER(),
    );
    return digestInfo.equals(expected) || digestInfo.equals(bare);
  });
}

export function hashOf(digest: DigestName, data: Buffer): Buffer {
  return createHash(DIGESTS[digest].node).update(data).digest();
}
