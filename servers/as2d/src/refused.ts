import { isFerryError, type ComponentContext } from '@ferry/core';
import type { As2dConfig } from './config.js';
import type { Exchange } from './exchange.js';

/**
 * History for a message refused before its payload had a name: an unknown partner, missing AS2
 * headers, an oversized body, a message that does not decrypt or whose MIME is malformed, one cut
 * before its first KiB. A message becomes a Transfer only once its payload is named (its path is
 * that name, and a registry transfer's path is fixed when it begins), so such a message is
 * recorded as a transfer that begins and ends at the refusal. It goes through the registry like
 * every other, so the history row, the `transfer.end` log line and the admin API see it alike.
 */

/** Header text is the sender's: kept to a length that reads as a history column. */
const MAX_FIELD = 256;

export interface RefusedMessage {
  /** The AS2-From as the sender claims it (verified or not: the reason says which). */
  from: string | null;
  messageId: string | null;
  /** Content-Length, when announced. */
  declared: number | null;
  /** Body bytes read before the refusal. */
  bytes: number;
}

export function recordRefused(ctx: ComponentContext<As2dConfig>, exchange: Exchange, message: RefusedMessage, outcome: 'failed' | 'interrupted', reason: string): void {
  const transfer = ctx.transfers.begin({
    protocol: 'as2',
    account: clip(message.from),
    remoteAddress: exchange.remoteAddress,
    // No payload name yet: the Message-ID is what the partner's logs know the message by.
    path: clip(message.messageId) ?? '',
    direction: 'upload',
    size: message.declared,
    sessionId: exchange.sessionId,
  });
  if (message.bytes > 0) transfer.progress(message.bytes);
  transfer.end(outcome, reason);
}

/**
 * Refusals that ask the partner to resend later (a drain, the store unavailable) are not an
 * outcome: the message arrives again, and the resend is what gets recorded.
 */
export function isResendLater(err: unknown): boolean {
  return isFerryError(err, 'FERRY_ERR_DRAINING') || isFerryError(err, 'FERRY_ERR_STORE');
}

/** A message cut (the partner hung up, a stall, a stop) rather than refused for what it is. */
export function isCut(err: unknown): boolean {
  return isFerryError(err, 'FERRY_ERR_TRANSFER_ABORTED') || (err as { name?: unknown } | null)?.name === 'AbortError';
}

function clip(text: string | null): string | null {
  if (text === null) return null;
  return text.length > MAX_FIELD ? `${text.slice(0, MAX_FIELD)}…` : text;
}
