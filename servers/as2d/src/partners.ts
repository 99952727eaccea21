import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FerryError, type As2Partner, type As2PartnerStore } from '@ferry/core';
import type { DigestName, EncryptionName } from './as2/algorithms.js';
import { parseCertificate, parsePrivateKey, type Certificate, type Identity } from './as2/certificates.js';
import type { As2dConfig, PartnerConfig } from './config.js';

/**
 * The trading setup: our AS2 id and identity (ferry.yaml, loaded once at start), and the partners,
 * from two sources:
 *  - ferry.yaml (`as2d.partners`), certificates read and checked at start: a file that is missing
 *    or not what it should be fails the start with the config key that names it;
 *  - the store (`store.as2Partners`, managed through the admin API), looked up per message, so that
 *    a partner added, changed or removed through the API applies to the next message without a
 *    restart. A store partner with the id of a ferry.yaml one takes precedence over it (the API is
 *    how an operator overrides a file-configured partner, e.g. to roll its certificate); removing
 *    it from the store brings the ferry.yaml entry back.
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
  /** Where the partner is defined: ferry.yaml or the store (admin API). */
  readonly source: 'config' | 'store';
}

export interface TradingSetup {
  readonly as2Id: string;
  /** Absent when no certificate/key is configured: then only plain messages and unsigned MDNs. */
  readonly identity: Identity | undefined;
  /** The partner with that AS2 id: the store's when it has one, else ferry.yaml's. */
  partner(id: string): Promise<TradingPartner | undefined>;
  /** The ferry.yaml partners. */
  readonly configured: readonly TradingPartner[];
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

export async function loadTradingSetup(config: As2dConfig, store: As2PartnerStore): Promise<TradingSetup> {
  const identity = await loadIdentity(config);
  const configured = await Promise.all(
    config.partners.map(async (p, index): Promise<TradingPartner> => ({
      id: p.id,
      certificate: await loadCertificate(`partners[${index}].certificate`, p.certificate),
      inbox: p.inbox,
      url: p.url,
      requireSignature: p.requireSignature,
      requireEncryption: p.requireEncryption,
      accept: { encryptions: p.accept.encryption, digests: p.accept.signature },
      send: p.send,
      source: 'config',
    })),
  );
  const fromConfig = new Map(configured.map((p) => [p.id, p]));
  const fromStore = new StorePartners(store);
  return {
    as2Id: config.as2Id,
    identity,
    configured,
    partner: async (id) => (await fromStore.partner(id)) ?? fromConfig.get(id),
  };
}

/**
 * Store partners, read per message: one indexed row. Parsing the certificate is the only costly
 * part, so the parsed certificate is kept per partner for as long as its PEM text is unchanged —
 * comparing the text itself (rather than updatedAt) cannot miss a change made within the same
 * millisecond, or by another node whose clock differs.
 */
export class StorePartners {
  readonly #certificates = new Map<string, { pem: string; certificate: Certificate }>();

  constructor(private readonly store: As2PartnerStore) {}

  async partner(id: string): Promise<TradingPartner | undefined> {
    const row = await this.store.get(id);
    if (!row) {
      this.#certificates.delete(id);
      return undefined;
    }
    return { ...fromRow(row), certificate: this.#certificate(row) };
  }

  #certificate(row: As2Partner): Certificate {
    const cached = this.#certificates.get(row.id);
    if (cached?.pem === row.certificate) return cached.certificate;
    let certificate: Certificate;
    try {
      certificate = parseCertificate(row.certificate);
    } catch (err) {
      // The store checks certificates on the way in: this is a row written around it.
      throw new FerryError('FERRY_ERR_CONFIG_INVALID', `AS2 partner ${row.id} in the store: its certificate does not parse (${(err as Error).message})`, {
        cause: err,
        details: { key: 'store.as2Partners.certificate', partner: row.id },
      });
    }
    this.#certificates.set(row.id, { pem: row.certificate, certificate });
    return certificate;
  }
}

function fromRow(row: As2Partner): Omit<TradingPartner, 'certificate'> {
  return {
    id: row.id,
    inbox: row.inbox,
    url: row.url ?? undefined,
    requireSignature: row.requireSignature,
    requireEncryption: row.requireEncryption,
    // Core's algorithm unions are assigned to as2d's here: the compiler catches the lists drifting apart.
    accept: { encryptions: row.accept.encryption, digests: row.accept.signature },
    send: row.send,
    source: 'store',
  };
}
