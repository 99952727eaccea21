import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { As2Store } from '@ferry/core';
import type { DigestName, EncryptionName, KeyTransportName } from './algorithms.js';
import { as2Headers } from './as2-headers.js';
import { collect, once } from './bytes.js';
import type { Certificate, Identity } from './certificates.js';
import { post, type PostAnswer } from './http-client.js';
import { formatDisposition, formatNotificationOptions, judgeMdn, newMessageId, readReport, type MdnReport } from './mdn.js';
import { formatMic, type Mic } from './mic.js';
import { MimeHeaders } from './mime.js';
import { pack, type CompressionOrder } from './pack.js';
import { unpack } from './unpack.js';

/**
 * The AS2 sender, a library (the transaction manager calls it): builds the message, POSTs it,
 * reads a synchronous MDN or leaves the message awaiting an asynchronous one (as2d records it when
 * it arrives), checks the MIC, and records the outcome in the store.
 */

export interface SendOptions {
  /** Us: our AS2 id, and our certificate and key to sign with. */
  from: { as2Id: string; identity?: Identity | undefined };
  /** The partner: AS2 id, URL, and the certificate to encrypt to and verify the MDN with. */
  to: { as2Id: string; url: string; certificate?: Certificate | undefined };
  /** Small payloads as a Buffer (sent with Content-Length), files streamed (chunked). */
  payload: Buffer | { file: string };
  filename?: string;
  contentType?: string;
  subject?: string;
  /** A resend uses the Message-ID of the first attempt, so the partner stores it once. */
  messageId?: string;
  /** Default: sha-256 when `from.identity` is set; false sends unsigned. */
  sign?: DigestName | false;
  /** Default: aes256-cbc when `to.certificate` is set; false sends unencrypted. */
  encrypt?: EncryptionName | false;
  keyTransport?: KeyTransportName;
  compress?: CompressionOrder | false;
  /** Default: a signed synchronous MDN. `async` needs `asyncUrl` (as2d's URL for MDNs). */
  mdn?: { mode: 'sync' | 'async' | 'none'; signed?: boolean; asyncUrl?: string };
  /** Where the outcome is recorded (as2_messages, direction out). */
  store?: As2Store;
  timeoutMs?: number;
  signal?: AbortSignal;
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
}

export type SendStatus = 'processed' | 'failed' | 'awaiting-mdn' | 'sent';

export interface SendResult {
  messageId: string;
  /** processed: positive MDN with our MIC; sent: no MDN asked; awaiting-mdn: asynchronous MDN to come. */
  status: SendStatus;
  /** 0 when no HTTP answer came. */
  httpStatus: number;
  /** The MIC the MDN must return; absent when the message was not (wholly) sent. */
  mic?: Mic;
  /** Payload bytes. */
  bytes: number;
  mdn?: { report: MdnReport; signed: boolean };
  detail: string;
  /** Worth sending again (same Message-ID): no answer, 5xx, or 503 from a draining partner. */
  retryable: boolean;
  /** From a 503's Retry-After. */
  retryAfterSeconds?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const READ_CHUNK = 1 << 20;

export async function sendMessage(options: SendOptions): Promise<SendResult> {
  const messageId = options.messageId ?? newMessageId();
  const mdnMode = options.mdn?.mode ?? 'sync';
  if (mdnMode === 'async' && !options.mdn?.asyncUrl) throw new Error('an asynchronous MDN needs mdn.asyncUrl');
  const signedMdn = mdnMode !== 'none' && (options.mdn?.signed ?? true);
  const digest = options.sign === false ? undefined : (options.sign ?? (options.from.identity ? 'sha-256' : undefined));
  if (digest && !options.from.identity) throw new Error('signing needs from.identity');
  const encryption = options.encrypt === false ? undefined : (options.encrypt ?? (options.to.certificate ? 'aes256-cbc' : undefined));
  if (encryption && !options.to.certificate) throw new Error('encrypting needs to.certificate');

  const file = Buffer.isBuffer(options.payload) ? undefined : options.payload.file;
  const bytes = file === undefined ? (options.payload as Buffer).length : (await stat(file)).size;
  const filename = options.filename ?? (file === undefined ? undefined : basename(file));
  const stream = file === undefined ? undefined : createReadStream(file, { highWaterMark: READ_CHUNK });
  const source: AsyncIterable<Buffer> = stream ?? once(options.payload as Buffer);
  const micAlgorithm: DigestName = digest ?? 'sha-256';
  const packed = pack({
    payload: source,
    ...(options.contentType ? { contentType: options.contentType } : {}),
    ...(filename ? { filename } : {}),
    ...(digest ? { sign: { identity: options.from.identity!, digest } } : {}),
    ...(encryption ? { encrypt: { recipient: options.to.certificate!, encryption, keyTransport: options.keyTransport ?? 'rsa-pkcs1' } } : {}),
    ...(options.compress ? { compress: options.compress } : {}),
    micAlgorithm,
  });

  const headers: Record<string, string> = {
    ...as2Headers(options.from.as2Id, options.to.as2Id, messageId),
    subject: options.subject ?? (filename ? `AS2 message ${filename}` : 'AS2 message'),
    'user-agent': 'Ferry AS2',
  };
  for (const [name, value] of packed.headers) headers[name.toLowerCase()] = value;
  if (mdnMode !== 'none') {
    headers['disposition-notification-to'] = options.from.as2Id;
    if (signedMdn) headers['disposition-notification-options'] = formatNotificationOptions(micAlgorithm);
    if (mdnMode === 'async') headers['receipt-delivery-option'] = options.mdn!.asyncUrl!;
  }

  const store = options.store;
  const recorded = { status: 'sending', path: filename ?? null, bytes, detail: null };
  if (store && !(await store.claim({ direction: 'out', partner: options.to.as2Id, messageId, ...recorded }))) {
    await store.update('out', options.to.as2Id, messageId, { ...recorded, mic: null, disposition: null });
  }

  const key = ['out', options.to.as2Id, messageId] as const;
  // The MIC is recorded before the last byte leaves: an asynchronous MDN may come back before the
  // response does, and as2d needs the MIC to judge it.
  async function* recordingMic(): AsyncGenerator<Buffer> {
    yield* packed.body;
    await store?.update(...key, { mic: formatMic(packed.mic()) });
  }
  let answer: PostAnswer;
  let result: SendResult;
  try {
    // A Buffer payload is small: send it whole, with a Content-Length every receiver accepts.
    const body = file === undefined ? await collect(recordingMic(), Number.MAX_SAFE_INTEGER, 'the message') : recordingMic();
    answer = await post({ url: options.to.url, headers, body, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: options.signal, tls: options.tls });
    result = await judge(answer, { messageId, mic: packed.mic, bytes, mdnMode, signedMdn, certificate: options.to.certificate, identity: options.from.identity });
  } catch (err) {
    result = { messageId, status: 'failed', httpStatus: 0, bytes, detail: `not sent: ${err instanceof Error ? err.message : String(err)}`, retryable: true };
  } finally {
    // Refused before the body was asked for: the file was never read to its end.
    stream?.destroy();
  }
  if (!store) return result;
  const outcome = {
    status: result.status,
    mic: result.mic ? formatMic(result.mic) : null,
    disposition: result.mdn ? formatDisposition(result.mdn.report.disposition) : null,
    detail: result.detail,
  };
  if (result.status !== 'awaiting-mdn') {
    await store.update(...key, outcome);
    return result;
  }
  // Awaiting an asynchronous MDN, unless it has already come and been judged.
  if (await store.update(...key, { status: outcome.status, detail: outcome.detail }, 'sending')) return result;
  const judged = await store.get(...key);
  return judged && (judged.status === 'processed' || judged.status === 'failed') ? { ...result, status: judged.status, detail: judged.detail ?? result.detail } : result;
}

interface Expectation {
  messageId: string;
  /** Known once the body went out whole (a 2xx answer). */
  mic: () => Mic;
  bytes: number;
  mdnMode: 'sync' | 'async' | 'none';
  signedMdn: boolean;
  certificate: Certificate | undefined;
  identity: Identity | undefined;
}

async function judge(answer: PostAnswer, expect: Expectation): Promise<SendResult> {
  const refused = answer.status < 200 || answer.status >= 300;
  const base = { messageId: expect.messageId, httpStatus: answer.status, bytes: expect.bytes };
  if (refused) {
    const retryAfter = Number(answer.headers['retry-after']);
    return {
      ...base,
      status: 'failed',
      detail: `HTTP ${answer.status}: ${answer.body.toString('utf8').trim().slice(0, 500)}`,
      retryable: answer.status >= 500 || answer.status === 429,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
    };
  }
  const mic = expect.mic();
  if (expect.mdnMode === 'none') return { ...base, mic, status: 'sent', detail: `HTTP ${answer.status}, no MDN asked`, retryable: false };
  if (expect.mdnMode === 'async') return { ...base, mic, status: 'awaiting-mdn', detail: 'the MDN will be posted to us', retryable: false };
  let mdn: { report: MdnReport; signed: boolean };
  try {
    mdn = await readSyncMdn(answer, expect);
  } catch (err) {
    return { ...base, mic, status: 'failed', detail: `unreadable MDN: ${err instanceof Error ? err.message : String(err)}`, retryable: false };
  }
  const verdict = judgeMdn(mdn.report, { mic, signedWanted: expect.signedMdn, signed: mdn.signed });
  return { ...base, mic, status: verdict.status, mdn, detail: verdict.detail, retryable: false };
}

async function readSyncMdn(answer: PostAnswer, expect: Expectation): Promise<{ report: MdnReport; signed: boolean }> {
  const unpacked = await unpack<MdnReport>(
    { headers: MimeHeaders.fromHttp(answer.headers), rawHeaders: Buffer.alloc(0), body: once(answer.body) },
    {
      identity: expect.identity,
      partnerCertificates: expect.certificate ? [expect.certificate] : [],
      maxContentBytes: 1 << 20,
      deliver: (entity) => readReport(entity.headers, entity.body),
    },
  );
  return { report: unpacked.result, signed: unpacked.trace.signature !== undefined };
}
