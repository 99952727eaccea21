import type { DigestName } from './as2/algorithms.js';
import type { Identity } from './as2/certificates.js';
import { as2Headers } from './as2/as2-headers.js';
import { mdnMessage, REPORTING_UA, type Disposition, type MdnRequest } from './as2/mdn.js';
import type { Mic } from './as2/mic.js';

/** The MDN answering a partner's message, with the AS2 headers around it; signed when asked. */

/** A partner's message as far as the receipt is concerned. */
export interface ReceivedEnvelope {
  from: string;
  to: string;
  messageId: string;
  mdn: MdnRequest | null;
}

export interface ReceiptContent {
  disposition: Disposition;
  mic?: Mic | undefined;
  text: string;
}

/** The MDN for a message: HTTP headers (AS2 and MIME) and body. Signed when asked and we can. */
export function receipt(ourId: string, identity: Identity | undefined, envelope: ReceivedEnvelope, content: ReceiptContent): { headers: Record<string, string>; body: Buffer } {
  const request = envelope.mdn;
  const digest: DigestName = request?.micAlgorithm ?? content.mic?.algorithm ?? 'sha-256';
  const signer = request?.signed && identity ? { identity, digest } : undefined;
  const mdn = mdnMessage(
    { finalRecipient: ourId, originalMessageId: envelope.messageId, disposition: content.disposition, mic: content.mic, text: content.text, reportingUa: REPORTING_UA },
    signer,
  );
  const headers: Record<string, string> = { ...as2Headers(ourId, envelope.from), subject: 'Message Disposition Notification' };
  for (const [name, value] of mdn.headers) headers[name.toLowerCase()] = value;
  return { headers, body: mdn.body };
}
