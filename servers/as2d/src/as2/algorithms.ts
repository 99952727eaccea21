import { OID } from './oids.js';

/**
 * The algorithms Ferry speaks, by the names used in ferry.yaml and on the wire. Digest names are the
 * `micalg` spellings of RFC 5751 (`sha-256`); `sha1` is how RFC 4130 and most AS2 products write
 * SHA-1, and every spelling is accepted on input.
 */

export const DIGEST_NAMES = ['sha1', 'sha-256', 'sha-384', 'sha-512'] as const;
export type DigestName = (typeof DIGEST_NAMES)[number];

interface DigestInfo {
  oid: string;
  /** node:crypto's name. */
  node: string;
}

export const DIGESTS: Readonly<Record<DigestName, DigestInfo>> = {
  sha1: { oid: OID.sha1, node: 'sha1' },
  'sha-256': { oid: OID.sha256, node: 'sha256' },
  'sha-384': { oid: OID.sha384, node: 'sha384' },
  'sha-512': { oid: OID.sha512, node: 'sha512' },
};

/** `sha1`, `SHA-1`, `sha256`, `sha-256`… → the canonical name; undefined for anything else (md5 included). */
export function parseDigestName(text: string): DigestName | undefined {
  const bare = text.trim().toLowerCase().replace(/^"|"$/g, '').replace('-', '');
  switch (bare) {
    case 'sha1':
      return 'sha1';
    case 'sha256':
      return 'sha-256';
    case 'sha384':
      return 'sha-384';
    case 'sha512':
      return 'sha-512';
    default:
      return undefined;
  }
}

export function digestByOid(oid: string): DigestName | undefined {
  return DIGEST_NAMES.find((name) => DIGESTS[name].oid === oid);
}

/** Signature algorithm OIDs that name their digest too; a verifier checks it agrees with digestAlgorithm. */
export const SIGNATURE_DIGEST: Readonly<Record<string, DigestName>> = {
  [OID.sha1WithRsa]: 'sha1',
  [OID.sha256WithRsa]: 'sha-256',
  [OID.sha384WithRsa]: 'sha-384',
  [OID.sha512WithRsa]: 'sha-512',
  [OID.ecdsaWithSha1]: 'sha1',
  [OID.ecdsaWithSha256]: 'sha-256',
  [OID.ecdsaWithSha384]: 'sha-384',
  [OID.ecdsaWithSha512]: 'sha-512',
};

export const ENCRYPTION_NAMES = ['aes128-cbc', 'aes192-cbc', 'aes256-cbc', 'aes128-gcm', 'aes192-gcm', 'aes256-gcm', '3des'] as const;
export type EncryptionName = (typeof ENCRYPTION_NAMES)[number];

export interface ContentEncryption {
  oid: string;
  node: string;
  keyLength: number;
  /** IV (CBC) or nonce (GCM) length. */
  ivLength: number;
  /** GCM travels in AuthEnvelopedData (RFC 5083/5084), CBC in EnvelopedData. */
  authenticated: boolean;
}

export const ENCRYPTIONS: Readonly<Record<EncryptionName, ContentEncryption>> = {
  'aes128-cbc': { oid: OID.aes128Cbc, node: 'aes-128-cbc', keyLength: 16, ivLength: 16, authenticated: false },
  'aes192-cbc': { oid: OID.aes192Cbc, node: 'aes-192-cbc', keyLength: 24, ivLength: 16, authenticated: false },
  'aes256-cbc': { oid: OID.aes256Cbc, node: 'aes-256-cbc', keyLength: 32, ivLength: 16, authenticated: false },
  'aes128-gcm': { oid: OID.aes128Gcm, node: 'aes-128-gcm', keyLength: 16, ivLength: 12, authenticated: true },
  'aes192-gcm': { oid: OID.aes192Gcm, node: 'aes-192-gcm', keyLength: 24, ivLength: 12, authenticated: true },
  'aes256-gcm': { oid: OID.aes256Gcm, node: 'aes-256-gcm', keyLength: 32, ivLength: 12, authenticated: true },
  '3des': { oid: OID.desEde3Cbc, node: 'des-ede3-cbc', keyLength: 24, ivLength: 8, authenticated: false },
};

export function encryptionByOid(oid: string): EncryptionName | undefined {
  return ENCRYPTION_NAMES.find((name) => ENCRYPTIONS[name].oid === oid);
}

/** RSA key transport: PKCS#1 v1.5 (what most AS2 partners use) or OAEP with SHA-1 or SHA-256. */
export const KEY_TRANSPORT_NAMES = ['rsa-pkcs1', 'rsa-oaep', 'rsa-oaep-sha256'] as const;
export type KeyTransportName = (typeof KEY_TRANSPORT_NAMES)[number];
