import { randomBytes } from 'node:crypto';
import { parseDigestName, type DigestName } from './algorithms.js';
import { base64Lines } from './base64.js';
import type { Identity } from './certificates.js';
import { signDigest, hashOf } from './cms-sign.js';
import { As2Failure, type As2FailureKind } from './errors.js';
import { formatMic, parseMic, type Mic } from './mic.js';
import { contentTypeOf, formatHeaders, param, type HeaderList, type MimeHeaders } from './mime.js';
import { boundaryOf, MultipartReader, newBoundary } from './multipart.js';

/**
 * Message Disposition Notifications (RFC 3798 as profiled by RFC 4130 §7): what the partner asks for
 * (Disposition-Notification-To/-Options, Receipt-Delivery-Option), the multipart/report we answer
 * with — signed when asked — and reading the ones partners send us.
 */

export const REPORTING_UA = 'Ferry as2d';

export interface MdnRequest {
  /** Signed receipt asked for (signed-receipt-protocol names pkcs7-signature). */
  signed: boolean;
  /** The first MIC algorithm of signed-receipt-micalg that we support. */
  micAlgorithm: DigestName | undefined;
  /** Receipt-Delivery-Option: the URL of an asynchronous MDN; absent for a synchronous one. */
  asyncUrl: string | undefined;
}

/** What a message's headers ask for, or null when they ask for no MDN at all. */
export function mdnRequestOf(headers: MimeHeaders): MdnRequest | null {
  if (!headers.get('disposition-notification-to')) return null;
  const options = parseNotificationOptions(headers.get('disposition-notification-options') ?? '');
  const protocol = options.get('signed-receipt-protocol') ?? [];
  const micalgs = options.get('signed-receipt-micalg') ?? [];
  const asyncUrl = headers.get('receipt-delivery-option');
  return {
    signed: protocol.some((p) => p.toLowerCase() === 'pkcs7-signature'),
    micAlgorithm: micalgs.map(parseDigestName).find((d) => d !== undefined),
    asyncUrl: asyncUrl && asyncUrl.length > 0 ? asyncUrl : undefined,
  };
}

/** `signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256, sha1` */
function parseNotificationOptions(text: string): Map<string, string[]> {
  const options = new Map<string, string[]>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const values = part
      .slice(eq + 1)
      .split(',')
      .map((v) => v.trim().replace(/^"|"$/g, ''));
    // The first value is the importance (required / optional).
    options.set(part.slice(0, eq).trim().toLowerCase(), values.slice(1));
  }
  return options;
}

export function formatNotificationOptions(micAlgorithm: DigestName): string {
  return `signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, ${micAlgorithm}`;
}

export interface Disposition {
  /** `processed`, or `failed` (the MDN itself could not be honoured). */
  type: 'processed' | 'failed';
  /** `processed/error: decryption-failed`, `processed/warning: …`. */
  modifier?: { kind: 'error' | 'warning' | 'failure'; description: string };
}

export function positive(): Disposition {
  return { type: 'processed' };
}

export function negative(kind: As2FailureKind): Disposition {
  return { type: 'processed', modifier: { kind: 'error', description: kind } };
}

export function formatDisposition(disposition: Disposition): string {
  const modifier = disposition.modifier ? `/${disposition.modifier.kind}: ${disposition.modifier.description}` : '';
  return `automatic-action/MDN-sent-automatically; ${disposition.type}${modifier}`;
}

export function parseDisposition(text: string): Disposition {
  const semicolon = text.indexOf(';');
  const outcome = (semicolon === -1 ? text : text.slice(semicolon + 1)).trim();
  const match = /^(processed|failed)(?:\s*\/\s*(error|warning|failure)\s*:\s*(.*))?$/i.exec(outcome);
  if (!match) return { type: 'failed', modifier: { kind: 'failure', description: outcome || 'unreadable disposition' } };
  const type = match[1]!.toLowerCase() as Disposition['type'];
  if (!match[2]) return { type };
  return { type, modifier: { kind: match[2].toLowerCase() as 'error' | 'warning' | 'failure', description: (match[3] ?? '').trim() } };
}

export function isPositive(disposition: Disposition): boolean {
  return disposition.type === 'processed' && disposition.modifier?.kind !== 'error' && disposition.modifier?.kind !== 'failure';
}

export interface MdnReport {
  /** Our AS2 id (as the recipient of the original message). */
  finalRecipient: string;
  originalMessageId: string;
  disposition: Disposition;
  mic?: Mic | undefined;
  /** Human-readable first part. */
  text: string;
  reportingUa?: string;
}

/** The multipart/report entity (RFC 3462) of an MDN: headers and body. */
export function buildReport(report: MdnReport): { headers: HeaderList; body: Buffer } {
  const boundary = newBoundary();
  const fields = [
    `Reporting-UA: ${report.reportingUa ?? REPORTING_UA}`,
    `Original-Recipient: rfc822; ${report.finalRecipient}`,
    `Final-Recipient: rfc822; ${report.finalRecipient}`,
    `Original-Message-ID: ${report.originalMessageId}`,
    `Disposition: ${formatDisposition(report.disposition)}`,
    ...(report.mic ? [`Received-Content-MIC: ${formatMic(report.mic)}`] : []),
  ];
  const body =
    `--${boundary}\r\n` +
    'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n' +
    `${report.text.replace(/\r?\n/g, '\r\n')}\r\n` +
    `--${boundary}\r\n` +
    'Content-Type: message/disposition-notification\r\nContent-Transfer-Encoding: 7bit\r\n\r\n' +
    `${fields.join('\r\n')}\r\n\r\n` +
    `--${boundary}--\r\n`;
  return {
    headers: [['Content-Type', `multipart/report; report-type=disposition-notification; ${param('boundary', boundary)}`]],
    body: Buffer.from(printableAscii(body), 'latin1'),
  };
}

/** An MDN is 7bit text: anything else (a file name in a reason, say) becomes `?`. */
function printableAscii(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += code === 0x09 || code === 0x0a || code === 0x0d || (code >= 0x20 && code <= 0x7e) ? char : '?';
  }
  return out;
}

/** An MDN ready to go on the wire: its top-level headers (HTTP headers) and body. */
export interface MdnMessage {
  headers: HeaderList;
  body: Buffer;
}

/** Wraps the report in multipart/signed when a signer is given. */
export function mdnMessage(report: MdnReport, signer?: { identity: Identity; digest: DigestName }): MdnMessage {
  const entity = buildReport(report);
  if (!signer) return { headers: [['MIME-Version', '1.0'], ...entity.headers], body: entity.body };
  const signedEntity = Buffer.concat([formatHeaders(entity.headers), entity.body]);
  const signature = signDigest(hashOf(signer.digest, signedEntity), signer.digest, signer.identity);
  const boundary = newBoundary();
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\n`, 'latin1'),
    signedEntity,
    Buffer.from(
      `\r\n--${boundary}\r\n` +
        'Content-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n' +
        'Content-Disposition: attachment; filename=smime.p7s\r\n\r\n' +
        `${base64Lines(signature)}--${boundary}--\r\n`,
      'latin1',
    ),
  ]);
  return {
    headers: [
      ['MIME-Version', '1.0'],
      ['Content-Type', `multipart/signed; protocol="application/pkcs7-signature"; micalg=${signer.digest}; ${param('boundary', boundary)}`],
    ],
    body,
  };
}

/** Reads the report out of a multipart/report entity (already unwrapped from any signature). */
export async function readReport(headers: MimeHeaders, body: AsyncIterable<Buffer>): Promise<MdnReport> {
  const type = contentTypeOf(headers);
  if (type.value !== 'multipart/report') throw new As2Failure('unexpected-processing-error', `an MDN must be multipart/report, got ${type.value}`);
  const parts = new MultipartReader(body, boundaryOf(type.params));
  let text = '';
  let fields: Map<string, string> | undefined;
  for (let part = await parts.nextSmallPart('an MDN part'); part; part = await parts.nextSmallPart('an MDN part')) {
    const partType = contentTypeOf(part.entity.headers).value;
    if (partType === 'message/disposition-notification') fields = parseFields(part.body.toString('latin1'));
    else if (partType === 'text/plain' && text === '') text = part.body.toString('utf8').trim();
  }
  await parts.finish();
  if (!fields) throw new As2Failure('unexpected-processing-error', 'the MDN has no message/disposition-notification part');
  const disposition = fields.get('disposition');
  const originalMessageId = fields.get('original-message-id');
  if (!disposition || !originalMessageId) throw new As2Failure('unexpected-processing-error', 'the MDN lacks Disposition or Original-Message-ID');
  const finalRecipient = (fields.get('final-recipient') ?? '').replace(/^rfc822;\s*/i, '');
  const mic = fields.get('received-content-mic');
  return {
    finalRecipient,
    originalMessageId,
    disposition: parseDisposition(disposition),
    mic: mic ? parseMic(mic) : undefined,
    text,
    ...(fields.has('reporting-ua') ? { reportingUa: fields.get('reporting-ua')! } : {}),
  };
}

function parseFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && last) {
      fields.set(last, `${fields.get(last)!} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    if (!fields.has(last)) fields.set(last, line.slice(colon + 1).trim());
  }
  return fields;
}

/** A fresh Message-ID for a message or an MDN we send. */
export function newMessageId(domain = 'ferry'): string {
  return `<${Date.now().toString(36)}.${randomBytes(12).toString('hex')}@${domain}>`;
}

export interface MdnVerdict {
  /** `processed`: positive and, when one was expected, the MIC matches; else `failed`. */
  status: 'processed' | 'failed';
  detail: string;
}

/**
 * What an MDN means for the message it answers: positive, signed when we asked for a signed one,
 * and returning the MIC we computed when sending — anything else is a failure, with the reason.
 */
export function judgeMdn(report: MdnReport, expected: { mic: Mic | undefined; signedWanted: boolean; signed: boolean }): MdnVerdict {
  const disposition = formatDisposition(report.disposition);
  if (!isPositive(report.disposition)) return { status: 'failed', detail: `negative MDN: ${disposition}${report.text ? ` (${report.text})` : ''}` };
  if (expected.signedWanted && !expected.signed) return { status: 'failed', detail: 'the MDN is not signed, a signed one was asked for' };
  if (expected.mic) {
    if (!report.mic) return { status: 'failed', detail: 'the MDN returns no Received-Content-MIC' };
    if (report.mic.algorithm !== expected.mic.algorithm || report.mic.value !== expected.mic.value) {
      return { status: 'failed', detail: `MIC mismatch: sent ${formatMic(expected.mic)}, the MDN says ${formatMic(report.mic)}` };
    }
  }
  return { status: 'processed', detail: disposition };
}
