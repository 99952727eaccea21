import { constants, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { DIGESTS, digestByOid, type KeyTransportName } from './algorithms.js';
import type { Certificate } from './certificates.js';
import { As2Failure } from './errors.js';
import { OID } from './oids.js';

/**
 * RSA key transport of the content-encryption key (RFC 5652 §6.2.1): PKCS#1 v1.5 or OAEP.
 *
 * PKCS#1 v1.5 decryption: Node 20 refuses RSA_PKCS1_PADDING in privateDecrypt (CVE-2023-46809,
 * the Marvin timing attack). Rather than a pure-JS RSA (node-forge), whose big-number arithmetic is
 * neither constant-time nor blinded and so brings that very attack back, the RSA operation is done
 * by OpenSSL without padding (constant-time, blinded) and the padding is checked here without
 * data-dependent branches. A bad padding yields a random key instead of an error (implicit
 * rejection, RFC 3218 §2.3.2): the content then fails to decrypt like any wrong key would, so the
 * partner learns nothing about where it failed.
 */

const OAEP_HASH: Readonly<Record<'rsa-oaep' | 'rsa-oaep-sha256', 'sha1' | 'sha-256'>> = { 'rsa-oaep': 'sha1', 'rsa-oaep-sha256': 'sha-256' };

export function keyTransportAlgorithm(name: KeyTransportName): pkijs.AlgorithmIdentifier {
  if (name === 'rsa-pkcs1') return new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() });
  if (name === 'rsa-oaep') {
    // All defaults (SHA-1, MGF1 with SHA-1, empty label): an empty parameter sequence.
    return new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaesOaep, algorithmParams: new asn1js.Sequence() });
  }
  const sha256 = new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 });
  const params = new pkijs.RSAESOAEPParams({
    hashAlgorithm: sha256,
    maskGenAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.mgf1, algorithmParams: sha256.toSchema() }),
  });
  return new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaesOaep, algorithmParams: params.toSchema() });
}

export function encryptContentKey(name: KeyTransportName, recipient: Certificate, key: Buffer): Buffer {
  if (name === 'rsa-pkcs1') return publicEncrypt({ key: recipient.publicKey, padding: constants.RSA_PKCS1_PADDING }, key);
  return publicEncrypt({ key: recipient.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: DIGESTS[OAEP_HASH[name]].node }, key);
}

/** The key-transport name a recipient info uses, for the trace and the partner's allowed list. */
export function keyTransportName(algorithm: pkijs.AlgorithmIdentifier): KeyTransportName {
  if (algorithm.algorithmId === OID.rsaEncryption) return 'rsa-pkcs1';
  if (algorithm.algorithmId === OID.rsaesOaep) return oaepHash(algorithm) === 'sha1' ? 'rsa-oaep' : 'rsa-oaep-sha256';
  throw new As2Failure('decryption-failed', `unsupported key transport algorithm ${algorithm.algorithmId}`);
}

function oaepHash(algorithm: pkijs.AlgorithmIdentifier): 'sha1' | 'sha-256' | 'sha-384' | 'sha-512' {
  const params = algorithm.algorithmParams as asn1js.BaseBlock | undefined;
  if (!(params instanceof asn1js.Sequence) || params.valueBlock.value.length === 0) return 'sha1';
  const oaep = new pkijs.RSAESOAEPParams({ schema: params });
  const hash = digestByOid(oaep.hashAlgorithm.algorithmId);
  const mgfHashParams = oaep.maskGenAlgorithm.algorithmParams as asn1js.BaseBlock | undefined;
  const mgfHash = mgfHashParams instanceof asn1js.Sequence ? digestByOid(new pkijs.AlgorithmIdentifier({ schema: mgfHashParams }).algorithmId) : 'sha1';
  if (!hash || oaep.maskGenAlgorithm.algorithmId !== OID.mgf1 || mgfHash !== hash) {
    throw new As2Failure('decryption-failed', 'unsupported RSA-OAEP parameters (the OAEP and MGF1 hashes must be the same SHA)');
  }
  // pkijs fills an absent pSourceAlgorithm with a non-empty default, so look at what was sent.
  const pSource = params.valueBlock.value.find((field) => field.idBlock.tagClass === 3 && field.idBlock.tagNumber === 2);
  if (pSource && !emptyLabel(pSource)) {
    throw new As2Failure('decryption-failed', 'unsupported RSA-OAEP label (only the empty label is used in CMS)');
  }
  return hash;
}

/** [2] EXPLICIT AlgorithmIdentifier { id-pSpecified, OCTET STRING label }: the label must be empty. */
function emptyLabel(pSource: asn1js.BaseBlock): boolean {
  const algorithm = (pSource as asn1js.Constructed).valueBlock.value?.[0];
  const label = algorithm instanceof asn1js.Sequence ? algorithm.valueBlock.value[1] : undefined;
  return label === undefined || (label instanceof asn1js.OctetString && label.valueBlock.valueHexView.length === 0);
}

/** Recovers a content-encryption key of `keyLength` bytes. */
export function decryptContentKey(algorithm: pkijs.AlgorithmIdentifier, encryptedKey: Buffer, privateKey: KeyObject, keyLength: number): Buffer {
  if (algorithm.algorithmId === OID.rsaEncryption) {
    let block: Buffer;
    try {
      block = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, encryptedKey);
    } catch (err) {
      throw new As2Failure('decryption-failed', 'the encrypted content key does not fit our RSA key', { cause: err });
    }
    return unpadPkcs1(block, keyLength);
  }
  if (algorithm.algorithmId === OID.rsaesOaep) {
    const hash = oaepHash(algorithm);
    let key: Buffer;
    try {
      key = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: DIGESTS[hash].node }, encryptedKey);
    } catch (err) {
      throw new As2Failure('decryption-failed', 'the content key was not encrypted for our certificate (RSA-OAEP decryption failed)', { cause: err });
    }
    if (key.length !== keyLength) throw new As2Failure('decryption-failed', `the content key is ${key.length} bytes, the algorithm needs ${keyLength}`);
    return key;
  }
  throw new As2Failure('decryption-failed', `unsupported key transport algorithm ${algorithm.algorithmId}`);
}

/**
 * EM = 0x00 || 0x02 || PS (8+ non-zero bytes) || 0x00 || M, with |M| = keyLength. Every byte is
 * looked at whatever the outcome, and the result is chosen by mask, not by branch.
 */
export function unpadPkcs1(em: Buffer, keyLength: number): Buffer {
  const k = em.length;
  let good = isZero(em[0]!) & isZero(em[1]! ^ 2);
  let found = 0;
  let separator = 0;
  for (let i = 2; i < k; i++) {
    const zero = isZero(em[i]!);
    const first = zero & (found ^ 1);
    separator |= -first & i;
    found |= zero;
  }
  good &= found;
  // The separator must come after at least 8 padding bytes (index 10 or later) ...
  good &= ((9 - separator) >>> 31) & 1;
  // ... and leave exactly keyLength bytes of key.
  good &= isZero((k - separator - 1) ^ keyLength);
  const mask = -good & 0xff;
  const random = randomBytes(keyLength);
  const out = Buffer.alloc(keyLength);
  const offset = Math.max(0, k - keyLength);
  for (let j = 0; j < keyLength; j++) out[j] = (em[offset + j]! & mask) | (random[j]! & ~mask & 0xff);
  return out;
}

/** 1 when x is 0, else 0, for 0 ≤ x < 2^31, without a branch. */
function isZero(x: number): number {
  return ((x - 1) >>> 31) & 1 & (((x | 0) >>> 31) ^ 1);
}
