import { FerryError, isFerryError, type ComponentContext, type Transfer } from '@ferry/core';
import { As2Failure, isAs2Failure, type As2FailureKind } from './as2/errors.js';
import { formatDisposition, isPositive, mdnRequestOf, negative, parseDisposition, positive, readReport, type MdnReport } from './as2/mdn.js';
import { formatMic, parseMic, type Mic } from './as2/mic.js';
import { contentTypeOf, MimeHeaders, type Entity } from './as2/mime.js';
import { unpack, type Unpacked, type UnpackTrace, type Wrapping } from './as2/unpack.js';
import type { As2dConfig } from './config.js';
import { failureStatus } from './error-map.js';
import type { Exchange, Reply } from './exchange.js';
import type { InboxUpload, Inboxes } from './inbox.js';
import { recordMdn } from './mdn-inbound.js';
import type { MdnOutbox } from './mdn-outbox.js';
import type { TradingPartner, TradingSetup } from './partners.js';
import { unquoteAs2Id } from './as2/as2-headers.js';
import { receipt, type ReceiptContent, type ReceivedEnvelope } from './receipts.js';
import { isCut, isResendLater, recordRefused } from './refused.js';
import { declaredLength, RequestBody, tooLarge } from './request-body.js';

/**
 * One AS2 message in, from the first header to the MDN. The order is what makes it graceful and
 * exactly-once:
 *  1. the admission gate, before a byte of the body is read (a drain answers 503 + Retry-After);
 *  2. partner and duplicate checks (a Message-ID already delivered is answered its MDN again);
 *  3. decrypt, verify, decompress and store in one pass, into a partial file; the message is a
 *     Transfer from the moment its payload has a name until its MDN is delivered;
 *  4. only when every check has passed: record the Message-ID as delivered, rename the file into
 *     place, answer the MDN (in the response, or persisted and posted asynchronously).
 */

export interface ReceiverServices {
  ctx: ComponentContext<As2dConfig>;
  trading: TradingSetup;
  inboxes: Inboxes;
  outbox: MdnOutbox;
}

type Delivered = { kind: 'payload'; upload: InboxUpload } | { kind: 'mdn'; report: MdnReport };

const EMPTY = Buffer.alloc(0);
/** How long a partner is told to wait when its Message-ID is being received on another connection. */
const BUSY_RETRY_SECONDS = 30;

export class MessageReceiver {
  readonly #services: ReceiverServices;
  /** Messages being received in this process, by partner and Message-ID. */
  readonly #receiving = new Set<string>();

  constructor(services: ReceiverServices) {
    this.#services = services;
  }

  async receive(exchange: Exchange): Promise<Reply> {
    const { ctx, trading } = this.#services;
    // The gate first, before the body: a partner whose message is refused resends it whole later.
    ctx.gate.check('upload');
    const headers = MimeHeaders.fromHttp(exchange.headers);
    const declared = declaredLength(exchange);
    let envelope: ReceivedEnvelope;
    let partner: TradingPartner | undefined;
    try {
      envelope = envelopeOf(headers);
      if (declared !== null && declared > ctx.config.maxMessageSize) throw tooLarge(ctx.config.maxMessageSize);
      // Looked up per message (store, then ferry.yaml): a partner changed through the API applies now.
      partner = envelope.to === trading.as2Id ? await trading.partner(envelope.from) : undefined;
    } catch (err) {
      if (!isResendLater(err)) {
        const claimed = { from: unquoteAs2Id(headers.get('as2-from')) ?? null, messageId: headers.get('message-id') ?? null, declared, bytes: 0 };
        recordRefused(ctx, exchange, claimed, 'failed', errorText(err));
      }
      throw err;
    }
    if (!partner) return this.#unknownPartner(exchange, envelope, declared);
    exchange.identify(partner.id);
    const key = `${partner.id}\n${envelope.messageId}`;
    if (this.#receiving.has(key)) {
      return { status: 503, headers: { 'retry-after': String(BUSY_RETRY_SECONDS) }, body: Buffer.from(`message ${envelope.messageId} is being received on another connection; resend it later\n`) };
    }
    this.#receiving.add(key);
    try {
      return await ctx.gate.run('upload', () => this.#receive(exchange, headers, envelope, partner, declared));
    } finally {
      this.#receiving.delete(key);
    }
  }

  async #receive(exchange: Exchange, headers: MimeHeaders, envelope: ReceivedEnvelope, partner: TradingPartner, declared: number | null): Promise<Reply> {
    const { ctx, trading, inboxes } = this.#services;
    const max = ctx.config.maxMessageSize;
    const body = new RequestBody(exchange.body, max);
    const prior = await ctx.store.as2.get('in', partner.id, envelope.messageId);
    if (prior?.status === 'delivered') {
      await body.drain();
      return this.#duplicate(exchange, envelope, partner, prior.disposition, prior.mic, prior.createdAt);
    }

    let upload: InboxUpload | undefined;
    let transfer: Transfer | undefined;
    // Until the payload has a name (the first few KiB), the message is not a transfer yet: bound that time.
    const stall = setTimeout(() => {
      if (!transfer) exchange.cut();
    }, ctx.config.headerTimeout);
    const deliver = async (entity: Entity, wrapping: Wrapping): Promise<Delivered> => {
      if (contentTypeOf(entity.headers).value === 'multipart/report') return { kind: 'mdn', report: await readReport(entity.headers, entity.body) };
      requireSecurity(partner, wrapping);
      upload = await inboxes.open(partner, entity.headers, envelope.messageId);
      transfer = ctx.transfers.begin({
        protocol: 'as2',
        account: partner.id,
        remoteAddress: exchange.remoteAddress,
        path: upload.path,
        storedAs: { account: null, path: upload.hostPath },
        direction: 'upload',
        size: declared,
        sessionId: exchange.sessionId,
      });
      clearTimeout(stall);
      // Cut at the drain deadline or an immediate stop: no MDN, the partner resends the message.
      transfer.signal.addEventListener('abort', () => exchange.cut(), { once: true });
      await upload.write(entity.body, transfer, max);
      return { kind: 'payload', upload };
    };

    let unpacked: Unpacked<Delivered>;
    try {
      unpacked = await unpack<Delivered>(
        { headers, rawHeaders: EMPTY, body: body.chunks() },
        {
          identity: trading.identity,
          partnerCertificates: [partner.certificate],
          micAlgorithm: envelope.mdn?.micAlgorithm,
          accept: partner.accept,
          maxContentBytes: max,
          deliver,
        },
      );
    } catch (err) {
      await (upload as InboxUpload | undefined)?.discard().catch(() => undefined);
      return this.#refuse(exchange, body, envelope, partner, transfer, err);
    } finally {
      clearTimeout(stall);
    }
    if (unpacked.result.kind === 'mdn') {
      await recordMdn(ctx, partner, unpacked.result.report, unpacked.trace);
      return { status: 200, body: EMPTY };
    }
    return this.#accept(exchange, envelope, partner, unpacked.result.upload, transfer!, unpacked.mic, unpacked.trace);
  }

  /**
   * Every check passed: record, move into place, answer the MDN. A failure here is ours, not the
   * message's: it is answered 5xx (no negative MDN), so that the partner resends.
   */
  async #accept(exchange: Exchange, envelope: ReceivedEnvelope, partner: TradingPartner, upload: InboxUpload, transfer: Transfer, mic: Mic, trace: UnpackTrace): Promise<Reply> {
    const { ctx } = this.#services;
    const disposition = positive();
    let claimed: boolean;
    try {
      // The Message-ID is claimed before the rename: of two copies racing (two nodes), one is delivered.
      claimed = await ctx.store.as2.claim({
        direction: 'in',
        partner: partner.id,
        messageId: envelope.messageId,
        status: 'delivered',
        path: upload.path,
        bytes: upload.bytes,
        mic: formatMic(mic),
        disposition: formatDisposition(disposition),
        detail: describe(trace),
      });
      if (claimed) {
        try {
          await upload.commit();
        } catch (err) {
          await ctx.store.as2.forget('in', partner.id, envelope.messageId).catch(() => undefined);
          throw err;
        }
      } else {
        await upload.discard();
      }
    } catch (err) {
      await upload.discard().catch(() => undefined);
      transfer.end('failed', `not stored: ${errorText(err)}`);
      throw err;
    }
    if (!claimed) {
      transfer.end('failed', 'duplicate: the same message was delivered meanwhile');
      const record = await ctx.store.as2.get('in', partner.id, envelope.messageId);
      return this.#duplicate(exchange, envelope, partner, record?.disposition ?? null, record?.mic ?? null, record?.createdAt ?? new Date().toISOString());
    }
    transfer.setSize(upload.bytes);
    ctx.log.info(
      { event: 'as2.received', partner: partner.id, messageId: envelope.messageId, path: upload.path, bytes: upload.bytes, mic: formatMic(mic), ...traceFields(trace) },
      `AS2 message ${envelope.messageId} from ${partner.id} stored as ${upload.path} (${upload.bytes} bytes, ${describe(trace)})`,
    );
    const text = `The AS2 message ${envelope.messageId} to ${envelope.to} was received and stored (${describe(trace)}).`;
    try {
      return await this.#answer(exchange, envelope, partner, { disposition, mic, text }, transfer, 'completed', null);
    } catch (err) {
      // Stored, but the MDN could not be prepared: the partner's resend is a duplicate and gets it.
      transfer.end('completed', `stored; MDN not sent: ${errorText(err)}`);
      throw err;
    }
  }

  /** Not processed: a negative MDN (or, without an MDN request, an HTTP error status). */
  async #refuse(exchange: Exchange, body: RequestBody, envelope: ReceivedEnvelope, partner: TradingPartner, transfer: Transfer | undefined, err: unknown): Promise<Reply> {
    const { ctx } = this.#services;
    // Before its payload had a name the message is no transfer yet: its refusal is recorded on its own.
    const end = (outcome: 'failed' | 'interrupted', reason: string): void => {
      if (transfer) transfer.end(outcome, reason);
      else recordRefused(ctx, exchange, { from: partner.id, messageId: envelope.messageId, declared: declaredLength(exchange), bytes: body.bytes }, outcome, reason);
    };
    if (transfer?.signal.aborted || isCut(err)) {
      // Cut (deadline, immediate stop, partner gone): no MDN, the partner resends.
      const reason = transfer?.signal.aborted ? String((transfer.signal.reason as Error | undefined)?.message ?? 'aborted') : errorText(err);
      end('interrupted', reason);
      ctx.log.warn({ event: 'as2.interrupted', partner: partner.id, messageId: envelope.messageId, reason }, `AS2 message ${envelope.messageId} from ${partner.id} cut: ${reason}`);
      throw new FerryError('FERRY_ERR_TRANSFER_ABORTED', `message ${envelope.messageId} cut: ${reason}`, { cause: err });
    }
    if (isFerryError(err, 'FERRY_ERR_TOO_LARGE') || isFerryError(err, 'FERRY_ERR_DRAINING')) {
      if (transfer || !isResendLater(err)) end('failed', err.message);
      throw err;
    }
    let failure: As2Failure;
    if (isAs2Failure(err)) failure = err;
    else {
      ctx.log.error({ err, partner: partner.id, messageId: envelope.messageId }, `AS2 message ${envelope.messageId} from ${partner.id}: unexpected failure`);
      failure = new As2Failure('unexpected-processing-error', 'the message could not be stored; see the receiver log');
    }
    ctx.log.warn(
      { event: 'as2.refused', partner: partner.id, messageId: envelope.messageId, failure: failure.kind, reason: failure.message },
      `AS2 message ${envelope.messageId} from ${partner.id} refused: ${failure.kind}: ${failure.message}`,
    );
    const text = `The AS2 message ${envelope.messageId} to ${envelope.to} could not be processed: ${failure.message}.`;
    // The partner is still sending: read on (bounded) so that it reads our answer.
    await body.drain().catch(() => undefined);
    if (!transfer) end('failed', `${failure.kind}: ${failure.message}`);
    return this.#answer(exchange, envelope, partner, { disposition: negative(failure.kind), text, failure: failure.kind }, transfer, 'failed', `${failure.kind}: ${failure.message}`);
  }

  /** A Message-ID already delivered: not stored again, its MDN answered again. */
  #duplicate(exchange: Exchange, envelope: ReceivedEnvelope, partner: TradingPartner, disposition: string | null, mic: string | null, at: string): Promise<Reply> {
    this.#services.ctx.log.info(
      { event: 'as2.duplicate', partner: partner.id, messageId: envelope.messageId },
      `AS2 message ${envelope.messageId} from ${partner.id} was delivered at ${at}: not stored again, MDN answered again`,
    );
    const content: ReceiptContent = {
      disposition: disposition ? parseDisposition(disposition) : positive(),
      mic: mic ? parseMic(mic) : undefined,
      text: `The AS2 message ${envelope.messageId} to ${envelope.to} was already received at ${at}; this copy was not stored again.`,
    };
    return this.#answer(exchange, envelope, partner, content, undefined, 'completed', null);
  }

  async #unknownPartner(exchange: Exchange, envelope: ReceivedEnvelope, declared: number | null): Promise<Reply> {
    const { ctx, trading } = this.#services;
    const reason = envelope.to !== trading.as2Id ? `AS2-To "${envelope.to}" is not us (${trading.as2Id})` : `AS2-From "${envelope.from}" is not a configured trading partner`;
    ctx.log.warn({ event: 'as2.unknown-partner', from: envelope.from, to: envelope.to, messageId: envelope.messageId, remoteAddress: exchange.remoteAddress }, `AS2 message refused: ${reason}`);
    const body = new RequestBody(exchange.body, ctx.config.maxMessageSize);
    await body.drain().catch(() => undefined);
    recordRefused(ctx, exchange, { from: envelope.from, messageId: envelope.messageId, declared, bytes: body.bytes }, 'failed', `authentication-failed: ${reason}`);
    // A synchronous negative MDN only: an asynchronous one would post to a URL nobody vouched for.
    if (!envelope.mdn || envelope.mdn.asyncUrl) throw new FerryError('FERRY_ERR_AUTH_FAILED', `${reason}; message not accepted`);
    const content = { disposition: negative('authentication-failed'), text: `The AS2 message ${envelope.messageId} was not accepted: ${reason}.` };
    const mdn = receipt(trading.as2Id, trading.identity, envelope, content);
    return { status: 200, headers: mdn.headers, body: mdn.body };
  }

  /**
   * Answers with the MDN (or a status when none was asked for) and ends the transfer once the MDN is
   * out: in the response, or posted asynchronously (persisted first, so that it survives a stop).
   */
  async #answer(
    exchange: Exchange,
    envelope: ReceivedEnvelope,
    partner: TradingPartner,
    content: ReceiptContent & { failure?: As2FailureKind },
    transfer: Transfer | undefined,
    outcome: 'completed' | 'failed',
    reason: string | null,
  ): Promise<Reply> {
    const { trading, outbox } = this.#services;
    const positiveOutcome = isPositive(content.disposition);
    const endAfterResponse = (): void => {
      if (!transfer) return;
      void exchange.responseDone().then((sent) => transfer.end(outcome, sent ? reason : (reason ?? 'stored; the response with the MDN did not reach the partner')));
    };
    if (!envelope.mdn) {
      endAfterResponse();
      if (positiveOutcome) return { status: 200, body: EMPTY };
      return { status: failureStatus(content.failure ?? 'unexpected-processing-error'), headers: { 'content-type': 'text/plain; charset=utf-8' }, body: Buffer.from(`${content.text}\n`) };
    }
    const mdn = receipt(trading.as2Id, trading.identity, envelope, content);
    const asyncUrl = envelope.mdn.asyncUrl;
    if (!asyncUrl) {
      endAfterResponse();
      return { status: 200, headers: mdn.headers, body: mdn.body };
    }
    const pending = await outbox.queue({ partner: partner.id, originalMessageId: envelope.messageId, url: asyncUrl, headers: Object.entries(mdn.headers), body: mdn.body });
    // The first attempt right after the response; the transfer ends when it is over (delivered or queued for retry).
    void exchange.responseDone().then(async () => {
      const delivered = await outbox.deliver(pending).catch(() => false);
      transfer?.end(outcome, delivered ? reason : [reason, 'asynchronous MDN queued for retry'].filter(Boolean).join('; '));
    });
    return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: Buffer.from(`message ${envelope.messageId} received; the MDN follows asynchronously\n`) };
  }
}

function envelopeOf(headers: MimeHeaders): ReceivedEnvelope {
  const from = unquoteAs2Id(headers.get('as2-from'));
  const to = unquoteAs2Id(headers.get('as2-to'));
  const messageId = headers.get('message-id');
  if (!from || !to || !messageId) throw new FerryError('FERRY_ERR_BAD_REQUEST', 'an AS2 message needs the AS2-From, AS2-To and Message-ID headers');
  if (!headers.get('content-type')) throw new FerryError('FERRY_ERR_BAD_REQUEST', 'an AS2 message needs a Content-Type');
  const mdn = mdnRequestOf(headers);
  if (mdn?.asyncUrl && !/^https?:\/\//i.test(mdn.asyncUrl)) throw new FerryError('FERRY_ERR_BAD_REQUEST', 'Receipt-Delivery-Option must be an http(s) URL');
  return { from, to, messageId, mdn };
}

function requireSecurity(partner: TradingPartner, wrapping: Wrapping): void {
  if (partner.requireEncryption && !wrapping.encrypted) throw new As2Failure('insufficient-message-security', `messages from ${partner.id} must be encrypted`);
  if (partner.requireSignature && !wrapping.signed) throw new As2Failure('insufficient-message-security', `messages from ${partner.id} must be signed`);
}

function describe(trace: UnpackTrace): string {
  const parts = [
    trace.signature ? `signed ${trace.signature.digest}` : 'unsigned',
    trace.encryption ? `encrypted ${trace.encryption.encryption}/${trace.encryption.keyTransport}` : 'unencrypted',
    ...(trace.compressed ? ['compressed'] : []),
  ];
  return parts.join(', ');
}

function traceFields(trace: UnpackTrace): Record<string, unknown> {
  return { signature: trace.signature?.digest ?? null, encryption: trace.encryption?.encryption ?? null, keyTransport: trace.encryption?.keyTransport ?? null, compressed: trace.compressed };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

