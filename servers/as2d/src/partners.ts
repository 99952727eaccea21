import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FerryError } from '@ferry/core';
import type { DigestName, EncryptionName } from './as2/algorithms.js';
import { parseCertificate, parsePrivateKey, type Certificate, type Identity } from './as2/certificates.js';
import type { As2dConfig, PartnerConfig } from './config.js';

/**
 * The trading setup, loaded once at start: our AS2 id and identity, and each partner with its
 * certificate read and checked. A file that is missing or not what it should be fails the start
 * with the config key that names it.
 */
export interface TradingPartner {
  readonly id: string;
  readonly certificate: Certificate;
  readonly inbox: string;
  readonly url: string | undefined;
  readonly requireSignature: boolean;
  readonly requireEncryption: boolean;
  readonly accept: { readonly encryptions: readonly EncryptionName[]; readonly digests: readonly DigestName[] };
  readonly send: PartnerConfig['send'];
}

export interface TradingSetup {
  readonly as2Id: string;
  /** Absent when no certificate/key is configured: then only plain messages and unsigned MDNs. */
  readonly identity: Identity | undefined;
  partner(id: string): TradingPartner | undefined;
  readonly partners: readonly TradingPartner[];
}

function invalid(key: string, value: string, why: string, cause?: unknown): FerryError {
  return new FerryError('FERRY_ERR_CONFIG_INVALID', `as2d.${key}: ${why} (${value})`, {
    ...(cause === undefined ? {} : { cause }),
    details: { key: `as2d.${key}`, value },
  });
}

async function readPem(key: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw invalid(key, path, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  }
}

async function loadCertificate(key: string, path: string): Promise<Certificate> {
  const pem = await readPem(key, path);
  try {
    return parseCertificate(pem);
  } catch (err) {
    throw invalid(key, path, 'not an X.509 certificate (PEM or DER)', err);
  }
}

async function loadIdentity(config: As2dConfig): Promise<Identity | undefined> {
  if (config.certificate === undefined && config.privateKey === undefined) return undefined;
  if (config.certificate === undefined || config.privateKey === undefined) {
    const missing = config.certificate === undefined ? 'certificate' : 'privateKey';
    throw invalid(missing, '', 'certificate and privateKey go together: set both or neither');
  }
  const certificate = await loadCertificate('certificate', config.certificate);
  const pem = await readPem('privateKey', config.privateKey);
  let privateKey;
  try {
    privateKey = parsePrivateKey(pem);
  } catch (err) {
    throw invalid('privateKey', config.privateKey, 'not an unencrypted PEM private key', err);
  }
  // The public half of the private key must be the certificate's key: a mismatched pair would
  // make every signature fail at the partner and every decryption fail here.
  if (!certificate.publicKey.equals(createPublicKey(privateKey))) {
    throw invalid('privateKey', config.privateKey, `does not belong to the certificate ${config.certificate}`);
  }
  return { certificate, privateKey };
}

export async function loadTradingSetup(config: As2dConfig): Promise<TradingSetup> {
  const identity = await loadIdentity(config);
  const partners = await Promise.all(
    config.partners.map(async (p, index): Promise<TradingPartner> => ({
      id: p.id,
      certificate: await loadCertificate(`partners[${index}].certificate`, p.certificate),
      inbox: p.inbox,
      url: p.url,
      requireSignature: p.requireSignature,
      requireEncryption: p.requireEncryption,
      accept: { encryptions: p.accept.encryption, digests: p.accept.signature },
      send: p.send,
    })),
  );
  const byId = new Map(partners.map((p) => [p.id, p]));
  return { as2Id: config.as2Id, identity, partners, partner: (id) => byId.get(id) };
}
