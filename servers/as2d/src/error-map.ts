import { isFerryError, type ErrorCode, type FerryError } from '@ferry/core';
import type { As2FailureKind } from './as2/errors.js';

/**
 * The only place that decides what a refusal looks like on the wire when it is not an MDN:
 * FerryError code → HTTP status and headers, with a plain-text reason (AS2 partners log the body of
 * a non-200 answer). When the partner asked for an MDN, processing failures are answered with a
 * negative MDN instead (receive.ts); what remains here is what happens before or without one.
 *
 * | situation                                   | reply                                        |
 * |---------------------------------------------|----------------------------------------------|
 * | draining (graceful stop, suspend)           | 503 + Retry-After, Connection: close         |
 * | same Message-ID being received right now    | 503 + Retry-After                            |
 * | missing AS2-From / AS2-To / Message-ID      | 400                                          |
 * | unknown partner, no MDN asked               | 403                                          |
 * | body over maxMessageSize                    | 413, Connection: close                       |
 * | failure, no MDN asked                       | 400 / 403 by kind (failureStatus)            |
 * | transfer cut at the drain deadline          | connection closed, no MDN: the partner resends |
 */

export interface TextReply {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** A server-side fault worth an error log line (the partner only sees a generic reason). */
  internal: boolean;
  cause?: unknown;
}

const STATUS: Readonly<Record<ErrorCode, number>> = {
  FERRY_ERR_DRAINING: 503,
  FERRY_ERR_AUTH_FAILED: 403,
  FERRY_ERR_PATH_OUTSIDE_HOME: 500,
  FERRY_ERR_INVALID_PATH: 500,
  FERRY_ERR_NOT_FOUND: 404,
  FERRY_ERR_EXISTS: 409,
  FERRY_ERR_NOT_A_DIRECTORY: 500,
  FERRY_ERR_IS_A_DIRECTORY: 500,
  FERRY_ERR_DIRECTORY_NOT_EMPTY: 500,
  FERRY_ERR_PERMISSION_DENIED: 403,
  FERRY_ERR_OFFSET_MISMATCH: 500,
  FERRY_ERR_TOO_LARGE: 413,
  FERRY_ERR_TRANSFER_ABORTED: 503,
  FERRY_ERR_IO: 500,
  FERRY_ERR_BAD_REQUEST: 400,
  FERRY_ERR_UNAUTHORIZED: 403,
  FERRY_ERR_CONFIG_INVALID: 500,
  FERRY_ERR_CONFIG_FILE: 500,
  FERRY_ERR_LIFECYCLE_TRANSITION: 500,
  FERRY_ERR_UNKNOWN_COMPONENT: 500,
  FERRY_ERR_ACCOUNT_EXISTS: 500,
  FERRY_ERR_ACCOUNT_NOT_FOUND: 500,
  FERRY_ERR_STORE: 503,
  FERRY_ERR_NODE_UNREACHABLE: 500,
  FERRY_ERR_START_FAILED: 500,
  FERRY_ERR_INTERNAL: 500,
  FERRY_ERR_STOP_FAILED: 500,
  // Raised by outbound transfers (transaction manager), never while receiving: a server fault if it ever were.
  FERRY_ERR_REMOTE: 500,
};

/** HTTP status of an AS2 failure answered without an MDN. */
const FAILURE_STATUS: Readonly<Record<As2FailureKind, number>> = {
  'authentication-failed': 403,
  'decompression-failed': 400,
  'decryption-failed': 400,
  'insufficient-message-security': 403,
  'integrity-check-failed': 400,
  'unexpected-processing-error': 400,
};

export function failureStatus(kind: As2FailureKind): number {
  return FAILURE_STATUS[kind];
}

function retryAfter(seconds: unknown): string {
  const n = Number(seconds);
  return String(Number.isFinite(n) && n >= 1 ? Math.ceil(n) : 1);
}

function ferryReply(err: FerryError): TextReply {
  const status = STATUS[err.code];
  const headers: Record<string, string> = {};
  let text = err.message;
  switch (err.code) {
    case 'FERRY_ERR_DRAINING':
      headers['retry-after'] = retryAfter(err.details.retryAfterSeconds);
      headers.connection = 'close';
      text = `service unavailable: ${String(err.details.reason ?? 'the server is draining')}; resend the message later`;
      break;
    case 'FERRY_ERR_TRANSFER_ABORTED':
    case 'FERRY_ERR_TOO_LARGE':
      headers.connection = 'close';
      break;
    default:
      break;
  }
  if (typeof err.details.retryAfterSeconds === 'number' && err.code !== 'FERRY_ERR_DRAINING') headers['retry-after'] = retryAfter(err.details.retryAfterSeconds);
  const internal = status >= 500 && err.code !== 'FERRY_ERR_DRAINING' && err.code !== 'FERRY_ERR_TRANSFER_ABORTED' && err.code !== 'FERRY_ERR_STORE';
  if (internal || err.code === 'FERRY_ERR_STORE') text = 'internal server error; resend the message later';
  return { status, headers, text, internal, cause: err };
}

/** Errors raised by the HTTP library itself (malformed request) carry a 4xx status. */
function libraryStatus(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

export function errorReply(err: unknown): TextReply {
  if (isFerryError(err)) return ferryReply(err);
  const status = libraryStatus(err);
  if (status !== undefined) return { status, headers: {}, text: err instanceof Error ? err.message : 'bad request', internal: false };
  return { status: 500, headers: {}, text: 'internal server error; resend the message later', internal: true, cause: err };
}

/** AS2 is POST only; anything else is told so. */
export function notFoundReply(method: string): TextReply {
  if (method !== 'POST') return { status: 405, headers: { allow: 'POST' }, text: 'this is an AS2 endpoint: POST AS2 messages here', internal: false };
  return { status: 404, headers: {}, text: 'no such resource', internal: false };
}
