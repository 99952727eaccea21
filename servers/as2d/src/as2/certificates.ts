import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID } from './oids.js';

/**
 * X.509 certificates and keys as the CMS code needs them: node:crypto objects for the mathematics,
 * pkijs objects for the identifiers that CMS structures carry (issuer and serial number, subject
 * key identifier).
 */
export interface Certificate {
  readonly der: Buffer;
  readonly pki: pkijs.Certificate;
  readonly publicKey: KeyObject;
  readonly subject: string;
  /** SHA-256 of the DER, hex: how operators tell certificates apart in logs. */
  readonly fingerprint: string;
  readonly notAfter: Date;
}

/** Ours: the certificate partners encrypt to and verify our signatures with, and its private key. */
export interface Identity {
  readonly certificate: Certificate;
  readonly privateKey: KeyObject;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/;

/** A PEM or DER certificate (the first one of a PEM bundle). */
export function parseCertificate(data: Buffer | string): Certificate {
  const text = typeof data === 'string' ? data : data.toString('latin1');
  const pem = PEM_CERTIFICATE.exec(text);
  const der = pem ? Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64') : Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1');
  const x509 = new X509Certificate(der);
  const asn = asn1js.fromBER(der);
  if (asn.offset === -1) throw new Error('the certificate is not valid DER');
  return {
    der,
    pki: new pkijs.Certificate({ schema: asn.result }),
    publicKey: x509.publicKey,
    subject: x509.subject.replace(/\n/g, ', '),
    fingerprint: createHash('sha256').update(der).digest('hex'),
    notAfter: new Date(x509.validTo),
  };
}

export function parsePrivateKey(data: Buffer | string, passphrase?: string): KeyObject {
  return createPrivateKey(passphrase === undefined ? { key: data } : { key: data, passphrase });
}

export function issuerAndSerial(certificate: Certificate): pkijs.IssuerAndSerialNumber {
  return new pkijs.IssuerAndSerialNumber({ issuer: certificate.pki.issuer, serialNumber: certificate.pki.serialNumber });
}

function subjectKeyIdentifier(certificate: Certificate): Buffer | undefined {
  const extension = certificate.pki.extensions?.find((e) => e.extnID === OID.subjectKeyIdentifier);
  if (!extension) return undefined;
  const inner = asn1js.fromBER(extension.extnValue.valueBlock.valueHexView);
  if (inner.offset === -1 || !(inner.result instanceof asn1js.OctetString)) return undefined;
  return Buffer.from(inner.result.valueBlock.valueHexView);
}

/**
 * Whether a CMS signer or recipient identifier names this certificate: issuer and serial number,
 * or ([0]) a subject key identifier.
 */
export function identifies(certificate: Certificate, id: unknown): boolean {
  if (id instanceof pkijs.IssuerAndSerialNumber) {
    return certificate.pki.issuer.isEqual(id.issuer) && certificate.pki.serialNumber.isEqual(id.serialNumber);
  }
  if (id instanceof asn1js.OctetString || id instanceof asn1js.Constructed || id instanceof asn1js.Primitive) {
    const ski = subjectKeyIdentifier(certificate);
    const view = (id as asn1js.OctetString).valueBlock.valueHexView;
    return ski !== undefined && view !== undefined && ski.equals(Buffer.from(view));
  }
  return false;
}
