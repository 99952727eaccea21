import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openssl, splitSmime, type TestParty } from './pki.js';
import { writeTemp } from './helpers.js';

/**
 * OpenSSL as the trading partner: builds AS2 messages with `openssl cms` (sign, then encrypt), the
 * way a partner's product would, for curl to POST; and reads our MDNs with `openssl cms -verify`.
 */

export interface PartnerMessage {
  headers: Record<string, string>;
  bodyFile: string;
  /** What the MIC in the MDN must be computed over (the signed entity, else the encrypted one). */
  micInput: Buffer;
  messageId: string;
}

export interface MessageOptions {
  signer?: TestParty | undefined;
  digest?: 'sha256' | 'sha1' | 'sha512';
  /** An `openssl cms -encrypt` cipher flag, e.g. -aes256; omitted: not encrypted. */
  cipher?: string | undefined;
  oaep?: boolean;
  recipient: TestParty;
  filename?: string;
  messageId?: string;
  from?: string;
  to?: string;
  mdn?: 'sync-signed' | 'sync' | 'async' | 'none';
  asyncUrl?: string;
  micalg?: 'sha-256' | 'sha1';
}

export function entityOf(payload: Buffer, filename = 'order.edi'): Buffer {
  return Buffer.concat([Buffer.from(`Content-Type: application/edi-x12\r\nContent-Transfer-Encoding: binary\r\nContent-Disposition: attachment; filename="${filename}"\r\n\r\n`), payload]);
}

export async function partnerMessage(dir: string, payload: Buffer, options: MessageOptions): Promise<PartnerMessage> {
  const tag = randomBytes(6).toString('hex');
  const entity = entityOf(payload, options.filename);
  const entityFile = await writeTemp(dir, `${tag}.mime`, entity);
  let inner = entity;
  let innerFile = entityFile;
  let contentType = 'application/edi-x12';
  let body = payload;
  if (options.signer) {
    const smime = await openssl(['cms', '-sign', '-binary', '-md', options.digest ?? 'sha256', '-signer', options.signer.certFile, '-inkey', options.signer.keyFile, '-in', entityFile]);
    inner = smime;
    innerFile = await writeTemp(dir, `${tag}.smime`, smime);
    const split = splitSmime(smime);
    contentType = split.headers['content-type']!;
    body = split.body;
  }
  if (options.cipher) {
    const recipient = options.oaep ? ['-recip', options.recipient.certFile, '-keyopt', 'rsa_padding_mode:oaep'] : [options.recipient.certFile];
    body = await openssl(['cms', '-encrypt', '-binary', options.cipher, '-outform', 'DER', '-in', innerFile, ...recipient]);
    contentType = `application/pkcs7-mime; smime-type=${options.cipher.includes('gcm') ? 'authEnveloped-data' : 'enveloped-data'}; name=smime.p7m`;
  } else if (!options.signer) {
    body = payload;
  }
  const messageId = options.messageId ?? `<${tag}@alice.example>`;
  const headers: Record<string, string> = {
    'AS2-Version': '1.1',
    'AS2-From': options.from ?? 'ALICE',
    'AS2-To': options.to ?? 'FERRY',
    'Message-ID': messageId,
    Subject: 'test message',
    'Content-Type': contentType,
    'Content-Disposition': `attachment; filename="${options.filename ?? 'order.edi'}"`,
  };
  const mdn = options.mdn ?? 'sync-signed';
  if (mdn !== 'none') headers['Disposition-Notification-To'] = 'edi@alice.example';
  if (mdn === 'sync-signed' || mdn === 'async') {
    headers['Disposition-Notification-Options'] = `signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, ${options.micalg ?? 'sha-256'}`;
  }
  if (mdn === 'async') headers['Receipt-Delivery-Option'] = options.asyncUrl ?? 'http://127.0.0.1:9/mdn';
  // The MIC covers the signed entity (openssl -binary signs the entity as is), else the decrypted one, else the body.
  const micInput = options.signer ? entity : options.cipher ? inner : body;
  return { headers, bodyFile: await writeTemp(dir, `${tag}.body`, body), micInput, messageId };
}

export interface ReadMdn {
  signed: boolean;
  disposition: string;
  mic: string | undefined;
  originalMessageId: string | undefined;
  text: string;
}

/** Verifies a signed MDN with openssl (or reads an unsigned one) and returns its fields. */
export async function readMdn(dir: string, headers: Record<string, string>, body: Buffer, signer?: TestParty): Promise<ReadMdn> {
  const type = headers['content-type'] ?? '';
  let report: string;
  const signed = type.startsWith('multipart/signed');
  if (signed) {
    if (!signer) throw new Error('signed MDN but no signer certificate to verify it with');
    const file = await writeTemp(dir, `mdn-${randomBytes(6).toString('hex')}.smime`, Buffer.concat([Buffer.from(`Content-Type: ${type}\r\n\r\n`), body]));
    report = (await openssl(['cms', '-verify', '-CAfile', signer.certFile, '-in', file])).toString('latin1');
  } else {
    report = body.toString('latin1');
  }
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*?)\\r?$`, 'im').exec(report)?.[1];
  return {
    signed,
    disposition: field('Disposition') ?? '',
    mic: field('Received-Content-MIC'),
    originalMessageId: field('Original-Message-ID'),
    text: report,
  };
}

export function micOf(data: Buffer, algorithm: 'sha256' | 'sha1' = 'sha256'): string {
  return `${createHash(algorithm).update(data).digest('base64')}, ${algorithm === 'sha256' ? 'sha-256' : 'sha1'}`;
}

export { join };
