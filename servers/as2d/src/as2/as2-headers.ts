import { newMessageId } from './mdn.js';

/** The AS2 envelope of what we send (RFC 4130 §6): the headers every message and MDN carries. */

export const AS2_VERSION = '1.1';

/** AS2 ids with spaces or specials travel quoted (RFC 4130 §6.2). */
export function quoteAs2Id(id: string): string {
  return /^[!#-'*+\-.0-9A-Z^-~]+$/.test(id) ? id : `"${id.replace(/["\\]/g, '\\$&')}"`;
}

export function unquoteAs2Id(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) return trimmed.slice(1, -1).replace(/\\(.)/g, '$1');
  return trimmed;
}

export function as2Headers(from: string, to: string, messageId = newMessageId()): Record<string, string> {
  return {
    'as2-version': AS2_VERSION,
    'as2-from': quoteAs2Id(from),
    'as2-to': quoteAs2Id(to),
    'message-id': messageId,
    date: new Date().toUTCString(),
    'mime-version': '1.0',
  };
}

