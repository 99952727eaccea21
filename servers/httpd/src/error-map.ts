import { FerryError, isFerryError, type ErrorCode } from '@ferry/core';

/**
 * The only place that decides what an error looks like on the wire: FerryError code → HTTP status
 * and headers, body `{ code, message }`. Messages name virtual paths only (storage guarantees it);
 * anything that is not a FerryError is answered with a generic message and logged by the caller.
 */

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: { code: string; message: string };
  /** A server-side fault worth an error log line (the client only sees a generic message). */
  internal: boolean;
}

const STATUS: Readonly<Record<ErrorCode, number>> = {
  FERRY_ERR_DRAINING: 503,
  FERRY_ERR_AUTH_FAILED: 401,
  FERRY_ERR_PATH_OUTSIDE_HOME: 403,
  FERRY_ERR_INVALID_PATH: 400,
  FERRY_ERR_NOT_FOUND: 404,
  FERRY_ERR_EXISTS: 409,
  FERRY_ERR_NOT_A_DIRECTORY: 409,
  FERRY_ERR_IS_A_DIRECTORY: 409,
  FERRY_ERR_DIRECTORY_NOT_EMPTY: 409,
  FERRY_ERR_PERMISSION_DENIED: 403,
  FERRY_ERR_OFFSET_MISMATCH: 409,
  FERRY_ERR_TOO_LARGE: 413,
  FERRY_ERR_TRANSFER_ABORTED: 503,
  FERRY_ERR_IO: 500,
  FERRY_ERR_BAD_REQUEST: 400,
  FERRY_ERR_UNAUTHORIZED: 401,
  FERRY_ERR_CONFIG_INVALID: 500,
  FERRY_ERR_CONFIG_FILE: 500,
  FERRY_ERR_LIFECYCLE_TRANSITION: 409,
  FERRY_ERR_UNKNOWN_COMPONENT: 404,
  FERRY_ERR_ACCOUNT_EXISTS: 409,
  FERRY_ERR_ACCOUNT_NOT_FOUND: 404,
  FERRY_ERR_STORE: 503,
  FERRY_ERR_NODE_UNREACHABLE: 502,
  FERRY_ERR_STOP_FAILED: 500,
  FERRY_ERR_START_FAILED: 500,
  FERRY_ERR_INTERNAL: 500,
  FERRY_ERR_REMOTE: 502,
};

/**
 * HTTP refinements of FERRY_ERR_BAD_REQUEST that have their own status. Handlers name the kind in
 * `details.http` (through `badRequest()`), and this table turns it into a status.
 */
const BAD_REQUEST_STATUS = {
  'method-not-allowed': 405,
  'length-required': 411,
  'precondition-failed': 412,
  'unsupported-media-type': 415,
  'range-not-satisfiable': 416,
} as const;

export type BadRequestKind = keyof typeof BAD_REQUEST_STATUS;

/** A FERRY_ERR_BAD_REQUEST whose HTTP status is more specific than 400. */
export function badRequest(kind: BadRequestKind, message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError('FERRY_ERR_BAD_REQUEST', message, { details: { ...details, http: kind } });
}

/** The Retry-After a drain asks for: the gate's estimate, at least one second. */
function retryAfter(err: FerryError): string {
  const seconds = Number(err.details.retryAfterSeconds);
  return String(Number.isFinite(seconds) && seconds >= 1 ? Math.ceil(seconds) : 1);
}

function ferryReply(err: FerryError): ErrorReply {
  const headers: Record<string, string> = {};
  let status = STATUS[err.code];
  let message = err.message;
  switch (err.code) {
    case 'FERRY_ERR_DRAINING':
      headers['retry-after'] = retryAfter(err);
      headers.connection = 'close';
      message = `service unavailable: ${String(err.details.reason ?? 'the server is draining')}; retry later`;
      break;
    case 'FERRY_ERR_AUTH_FAILED':
    case 'FERRY_ERR_UNAUTHORIZED':
      headers['www-authenticate'] = 'Basic realm="ferry", charset="UTF-8"';
      break;
    case 'FERRY_ERR_TOO_LARGE':
      // The rest of the body is not read; closing is cheaper than draining it.
      headers.connection = 'close';
      break;
    case 'FERRY_ERR_TRANSFER_ABORTED':
      headers.connection = 'close';
      break;
    case 'FERRY_ERR_BAD_REQUEST': {
      const kind = err.details.http as BadRequestKind | undefined;
      if (kind !== undefined && kind in BAD_REQUEST_STATUS) status = BAD_REQUEST_STATUS[kind];
      if (kind === 'range-not-satisfiable' && typeof err.details.size === 'number') headers['content-range'] = `bytes */${err.details.size}`;
      if (kind === 'method-not-allowed' && typeof err.details.allow === 'string') headers.allow = err.details.allow;
      break;
    }
    default:
      break;
  }
  // A resumable upload's offset travels with its refusals (a 404 HEAD with a partial, a 413 chunk).
  if (typeof err.details.uploadOffset === 'number') headers['upload-offset'] = String(err.details.uploadOffset);
  // Store and config failures carry host details in their messages; the client needs none of it.
  const internal = status >= 500 && err.code !== 'FERRY_ERR_DRAINING' && err.code !== 'FERRY_ERR_TRANSFER_ABORTED';
  if (internal && err.code !== 'FERRY_ERR_IO') message = 'internal server error';
  return { status, headers, body: { code: err.code, message }, internal };
}

/** Errors raised by the HTTP library itself (bad headers, unknown content type...) carry a 4xx status. */
function libraryStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const status = (err as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

export function errorReply(err: unknown): ErrorReply {
  if (isFerryError(err)) return ferryReply(err);
  const status = libraryStatus(err);
  if (status !== undefined) {
    const message = err instanceof Error ? err.message : 'bad request';
    return { status, headers: {}, body: { code: 'FERRY_ERR_BAD_REQUEST', message }, internal: false };
  }
  return { status: 500, headers: {}, body: { code: 'FERRY_ERR_IO', message: 'internal server error' }, internal: true };
}

/** What an unknown URL gets. */
export function notFoundReply(): ErrorReply {
  return ferryReply(new FerryError('FERRY_ERR_NOT_FOUND', 'no such resource'));
}
