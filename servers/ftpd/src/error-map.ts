import { FerryError, isFerryError, type ErrorCode } from '@ferry/core';

/**
 * The only place that decides what a refusal looks like on the wire: FerryError code → FTP reply
 * code and text, and whether the control connection closes after it. Messages name virtual paths
 * only (storage guarantees it); anything that is not a FerryError gets a generic text and is
 * logged by the caller.
 */

export interface FtpReply {
  code: number;
  text: string;
  /** Close the control connection once the reply is out (421). */
  close: boolean;
  /** A server-side fault worth an error log line (the client only sees a generic text). */
  internal: boolean;
}

const REPLY_CODE: Readonly<Record<ErrorCode, number>> = {
  // 421: "service not available, closing control connection" — the transient reply of RFC 959.
  FERRY_ERR_DRAINING: 421,
  FERRY_ERR_AUTH_FAILED: 530,
  FERRY_ERR_PATH_OUTSIDE_HOME: 550,
  FERRY_ERR_INVALID_PATH: 553,
  FERRY_ERR_NOT_FOUND: 550,
  FERRY_ERR_EXISTS: 550,
  FERRY_ERR_NOT_A_DIRECTORY: 550,
  FERRY_ERR_IS_A_DIRECTORY: 550,
  FERRY_ERR_DIRECTORY_NOT_EMPTY: 550,
  FERRY_ERR_PERMISSION_DENIED: 550,
  // RFC 3659 §5.5: a REST offset the file cannot honour.
  FERRY_ERR_OFFSET_MISMATCH: 554,
  FERRY_ERR_TOO_LARGE: 552,
  // RFC 959: "connection closed; transfer aborted". The partial stays, so a REST can resume it.
  FERRY_ERR_TRANSFER_ABORTED: 426,
  FERRY_ERR_IO: 451,
  FERRY_ERR_BAD_REQUEST: 501,
  FERRY_ERR_UNAUTHORIZED: 530,
  FERRY_ERR_CONFIG_INVALID: 451,
  FERRY_ERR_CONFIG_FILE: 451,
  FERRY_ERR_LIFECYCLE_TRANSITION: 451,
  FERRY_ERR_UNKNOWN_COMPONENT: 451,
  FERRY_ERR_ACCOUNT_EXISTS: 451,
  FERRY_ERR_ACCOUNT_NOT_FOUND: 451,
  FERRY_ERR_STORE: 451,
  FERRY_ERR_NODE_UNREACHABLE: 451,
  FERRY_ERR_START_FAILED: 451,
  FERRY_ERR_INTERNAL: 451,
  FERRY_ERR_STOP_FAILED: 451,
  // Outbound transfers only (transaction manager); never a client's business.
  FERRY_ERR_REMOTE: 451,
};

/**
 * FTP refinements of FERRY_ERR_BAD_REQUEST: protocol refusals that have their own reply code.
 * Command handlers name the kind through `refused()`, and this table turns it into the code.
 */
const REFUSAL_CODE = {
  /** RFC 959 500: the line is not a command we know, or is too long to be one. */
  'unknown-command': 500,
  'line-too-long': 500,
  /** 501: the command is known, its argument is not acceptable. */
  syntax: 501,
  /** 502: known to FTP, not offered here (or switched off by config). */
  'not-implemented': 502,
  /** 503: commands in the wrong order (PASS before USER, RNTO without RNFR...). */
  sequence: 503,
  /** 504: known command, parameter not offered (e.g. a PORT to a third party: RFC 2577's bounce). */
  'parameter-refused': 504,
  'not-logged-in': 530,
  /** 530 on USER/PASS when the policy wants TLS first (what vsftpd answers too). */
  'tls-required': 530,
  /** RFC 4217 §9: a PROT level the policy does not allow. */
  'protection-refused': 534,
  /** RFC 4217 §9: a data command while the protection level is not acceptable. */
  'data-protection-required': 521,
  /** RFC 959 425: no data connection could be opened (none offered, client never came). */
  'no-data-connection': 425,
  /** RFC 2428 522: the network protocol asked for is not served. */
  'network-protocol': 522,
} as const;

export type RefusalKind = keyof typeof REFUSAL_CODE;

/** A protocol refusal with its own reply code (carried as FERRY_ERR_BAD_REQUEST). */
export function refused(kind: RefusalKind, message: string): FerryError {
  return new FerryError('FERRY_ERR_BAD_REQUEST', message, { details: { ftp: kind } });
}

/** The transient refusal of a drain or a stop: RFC 959's 421, which also closes the connection. */
function serviceClosing(reason: string): FtpReply {
  return { code: 421, text: `${reason}; try again later`, close: true, internal: false };
}

/** What a session says when the core (or a stop) closes it politely. */
export function closingReply(reason: string): FtpReply {
  return serviceClosing(reason);
}

function ferryReply(err: FerryError): FtpReply {
  let code = REPLY_CODE[err.code];
  let text = err.message;
  switch (err.code) {
    case 'FERRY_ERR_DRAINING':
      return serviceClosing(String(err.details.reason ?? 'service not available'));
    case 'FERRY_ERR_AUTH_FAILED':
      text = 'Login incorrect';
      break;
    case 'FERRY_ERR_TRANSFER_ABORTED':
      text = `Transfer aborted: ${String(err.details.reason ?? err.message)}`;
      break;
    case 'FERRY_ERR_IO':
      // RFC 959 452: "insufficient storage space in system".
      if (err.details.errno === 'ENOSPC' || err.details.errno === 'EDQUOT') code = 452;
      break;
    case 'FERRY_ERR_BAD_REQUEST': {
      const kind = err.details.ftp as RefusalKind | undefined;
      if (kind !== undefined && kind in REFUSAL_CODE) code = REFUSAL_CODE[kind];
      break;
    }
    default:
      break;
  }
  // Store and config failures carry host details in their messages; the client needs none of it.
  const internal = code === 451 && err.code !== 'FERRY_ERR_IO';
  if (internal) text = 'Local error in processing';
  return { code, text, close: false, internal };
}

export function errorReply(err: unknown): FtpReply {
  if (isFerryError(err)) return ferryReply(err);
  return { code: 451, text: 'Local error in processing', close: false, internal: true };
}
