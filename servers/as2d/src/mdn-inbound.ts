import type { ComponentContext } from '@ferry/core';
import { formatDisposition, judgeMdn, type MdnReport } from './as2/mdn.js';
import { parseMic } from './as2/mic.js';
import type { UnpackTrace } from './as2/unpack.js';
import type { As2dConfig } from './config.js';
import type { TradingPartner } from './partners.js';

/**
 * An asynchronous MDN posted to us for a message we sent: matched to the sent message by partner
 * and Original-Message-ID, judged (positive, signed if asked, the MIC we computed), and recorded.
 * An MDN for a message we do not know is logged and still answered 200: refusing it would only make
 * the partner retry it forever.
 */
export async function recordMdn(ctx: ComponentContext<As2dConfig>, partner: TradingPartner, report: MdnReport, trace: UnpackTrace): Promise<void> {
  const sent = await ctx.store.as2.get('out', partner.id, report.originalMessageId);
  if (!sent) {
    ctx.log.warn({ event: 'as2.mdn.unknown', partner: partner.id, originalMessageId: report.originalMessageId }, `MDN from ${partner.id} for a message we did not send: ${report.originalMessageId}`);
    return;
  }
  const verdict = judgeMdn(report, {
    mic: sent.mic ? parseMic(sent.mic) : undefined,
    signedWanted: partner.send.signedMdn,
    signed: trace.signature !== undefined,
  });
  await ctx.store.as2.update('out', partner.id, report.originalMessageId, { status: verdict.status, disposition: formatDisposition(report.disposition), detail: verdict.detail });
  const line = `asynchronous MDN from ${partner.id} for ${report.originalMessageId}: ${verdict.status} (${verdict.detail})`;
  if (verdict.status === 'processed') ctx.log.info({ event: 'as2.mdn.received', partner: partner.id, originalMessageId: report.originalMessageId, status: verdict.status }, line);
  else ctx.log.warn({ event: 'as2.mdn.received', partner: partner.id, originalMessageId: report.originalMessageId, status: verdict.status, detail: verdict.detail }, line);
}
