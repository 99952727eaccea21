import { isFerryError, type ErrorCode, type FerryError } from '@ferry/core';
import { STATUS, type StatusCode } from './sftp-packets.js';

/**
 * The only place that decides what a failure looks like to an SFTP client: FerryError code →
 * SFTP v3 status code and message. SFTP v3 has few codes, so most refusals are SSH_FX_FAILURE with
 * a message that says why; the errno-like ones follow OpenSSH's sftp-server (ENOTDIR and ELOOP are
 * "no such file" there too). Messages name virtual paths only (storage guarantees it).
 */

export interface StatusReply {
  code: StatusCode;
  message: string;
  /** A server-side fault worth an error log line (the client only sees a generic message). */
  internal: boolean;
}

const CODES: Readonly<Record<ErrorCode, StatusCode>> = {
  FERRY_ERR_DRAINING: STATUS.FAILURE,
  FERRY_ERR_AUTH_FAILED: STATUS.PERMISSION_DENIED,
  FERRY_ERR_PATH_OUTSIDE_HOME: STATUS.PERMISSION_DENIED,
  FERRY_ERR_INVALID_PATH: STATUS.FAILURE,
  FERRY_ERR_NOT_FOUND: STATUS.NO_SUCH_FILE,
  FERRY_ERR_EXISTS: STATUS.FAILURE,
  FERRY_ERR_NOT_A_DIRECTORY: STATUS.NO_SUCH_FILE,
  FERRY_ERR_IS_A_DIRECTORY: STATUS.FAILURE,
  FERRY_ERR_DIRECTORY_NOT_EMPTY: STATUS.FAILURE,
  FERRY_ERR_PERMISSION_DENIED: STATUS.PERMISSION_DENIED,
  FERRY_ERR_OFFSET_MISMATCH: STATUS.FAILURE,
  FERRY_ERR_TOO_LARGE: STATUS.FAILURE,
  FERRY_ERR_TRANSFER_ABORTED: STATUS.FAILURE,
  FERRY_ERR_IO: STATUS.FAILURE,
  FERRY_ERR_BAD_REQUEST: STATUS.BAD_MESSAGE,
  FERRY_ERR_UNAUTHORIZED: STATUS.PERMISSION_DENIED,
  FERRY_ERR_CONFIG_INVALID: STATUS.FAILURE,
  FERRY_ERR_CONFIG_FILE: STATUS.FAILURE,
  FERRY_ERR_LIFECYCLE_TRANSITION: STATUS.FAILURE,
  FERRY_ERR_UNKNOWN_COMPONENT: STATUS.FAILURE,
  FERRY_ERR_ACCOUNT_EXISTS: STATUS.FAILURE,
  FERRY_ERR_ACCOUNT_NOT_FOUND: STATUS.PERMISSION_DENIED,
  FERRY_ERR_STORE: STATUS.FAILURE,
  FERRY_ERR_NODE_UNREACHABLE: STATUS.FAILURE,
  FERRY_ERR_START_FAILED: STATUS.FAILURE,
  FERRY_ERR_STOP_FAILED: STATUS.FAILURE,
  FERRY_ERR_INTERNAL: STATUS.FAILURE,
  // Outbound transfers only (transaction manager); never a client's business.
  FERRY_ERR_REMOTE: STATUS.FAILURE,
};

/** Codes whose message is for the operator's log only (it may carry host details). */
const INTERNAL: ReadonlySet<ErrorCode> = new Set([
  'FERRY_ERR_CONFIG_INVALID',
  'FERRY_ERR_CONFIG_FILE',
  'FERRY_ERR_LIFECYCLE_TRANSITION',
  'FERRY_ERR_UNKNOWN_COMPONENT',
  'FERRY_ERR_STORE',
  'FERRY_ERR_NODE_UNREACHABLE',
  'FERRY_ERR_START_FAILED',
  'FERRY_ERR_STOP_FAILED',
  'FERRY_ERR_INTERNAL',
  'FERRY_ERR_REMOTE',
]);

function ferryReply(err: FerryError): StatusReply {
  const code = CODES[err.code];
  if (err.code === 'FERRY_ERR_DRAINING') {
    // The gate's own message names the operation and the reason: "upload refused: server is shutting down".
    return { code, message: `${err.message}; retry later`, internal: false };
  }
  if (INTERNAL.has(err.code)) return { code, message: 'internal server error', internal: true };
  return { code, message: err.message, internal: err.code === 'FERRY_ERR_IO' };
}

export function statusFor(err: unknown): StatusReply {
  if (isFerryError(err)) return ferryReply(err);
  return { code: STATUS.FAILURE, message: 'internal server error', internal: true };
}

/** The reason a refused SSH connection is given, from the error that refused it. */
export function disconnectReason(err: unknown): string {
  if (isFerryError(err, 'FERRY_ERR_DRAINING')) return `${String(err.details.reason ?? 'server is shutting down')}; retry later`;
  return 'service not available';
}

/** What a client hears for requests Ferry does not implement. */
export function unsupported(what: string): StatusReply {
  return { code: STATUS.OP_UNSUPPORTED, message: `${what} is not supported`, internal: false };
}

/** A request that does not decode. */
export function malformed(reason: string): StatusReply {
  return { code: STATUS.BAD_MESSAGE, message: `malformed request: ${reason}`, internal: false };
}

/** A handle the client never got, or already closed (OpenSSH answers SSH_FX_FAILURE too). */
export function badHandle(): StatusReply {
  return { code: STATUS.FAILURE, message: 'invalid handle', internal: false };
}
