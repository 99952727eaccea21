/**
 * Typed errors with stable codes. Every code is listed here once, with whether a client may retry
 * and a one-line meaning; `docs/errors.md` documents the same list and a test keeps them in step.
 * Daemons map codes to protocol replies in their own error-map.ts, never by message text.
 */
export const ERROR_CODES = {
  FERRY_ERR_DRAINING: { retryable: true, summary: 'The component is draining (graceful stop or suspend); new operations and logins are refused.' },
  FERRY_ERR_AUTH_FAILED: { retryable: false, summary: 'Unknown account, wrong password, or account disabled.' },
  FERRY_ERR_PATH_OUTSIDE_HOME: { retryable: false, summary: 'The path leaves the account home (.., absolute escape, or a symlink pointing out).' },
  FERRY_ERR_INVALID_PATH: { retryable: false, summary: 'The path is malformed (NUL byte, empty segment where a name is needed).' },
  FERRY_ERR_NOT_FOUND: { retryable: false, summary: 'No such file or directory.' },
  FERRY_ERR_EXISTS: { retryable: false, summary: 'The target already exists.' },
  FERRY_ERR_NOT_A_DIRECTORY: { retryable: false, summary: 'A directory was expected.' },
  FERRY_ERR_IS_A_DIRECTORY: { retryable: false, summary: 'A file was expected, the path is a directory.' },
  FERRY_ERR_DIRECTORY_NOT_EMPTY: { retryable: false, summary: 'The directory is not empty.' },
  FERRY_ERR_PERMISSION_DENIED: { retryable: false, summary: 'The account may not do this.' },
  FERRY_ERR_OFFSET_MISMATCH: { retryable: false, summary: 'A resume offset does not match what is stored.' },
  FERRY_ERR_TOO_LARGE: { retryable: false, summary: 'The request body or chunk exceeds the configured limit.' },
  FERRY_ERR_TRANSFER_ABORTED: { retryable: true, summary: 'The transfer was cut (drain deadline, immediate stop, or client gone); an upload stays resumable.' },
  FERRY_ERR_IO: { retryable: true, summary: 'The storage failed for another reason (disk full, I/O error).' },
  FERRY_ERR_BAD_REQUEST: { retryable: false, summary: 'The request is malformed.' },
  FERRY_ERR_UNAUTHORIZED: { retryable: false, summary: 'The admin API call carries no valid token.' },
  FERRY_ERR_CONFIG_INVALID: { retryable: false, summary: 'A configuration value is not allowed; the message names key, value and what is allowed.' },
  FERRY_ERR_CONFIG_FILE: { retryable: false, summary: 'The configuration file cannot be read or parsed.' },
  FERRY_ERR_LIFECYCLE_TRANSITION: { retryable: false, summary: 'The component cannot go from its current state to the requested one.' },
  FERRY_ERR_UNKNOWN_COMPONENT: { retryable: false, summary: 'No component with that id is configured on this node.' },
  FERRY_ERR_ACCOUNT_EXISTS: { retryable: false, summary: 'An account with that name already exists.' },
  FERRY_ERR_ACCOUNT_NOT_FOUND: { retryable: false, summary: 'No account with that name.' },
  FERRY_ERR_STORE: { retryable: true, summary: 'The store (SQLite or PostgreSQL) failed.' },
  FERRY_ERR_NODE_UNREACHABLE: { retryable: true, summary: 'The CLI cannot reach the node admin API.' },
  FERRY_ERR_START_FAILED: { retryable: true, summary: 'A component did not reach running (it failed or exited while starting).' },
  FERRY_ERR_INTERNAL: { retryable: true, summary: 'An unexpected failure; the node log has the details, the reply has none.' },
  FERRY_ERR_STOP_FAILED: { retryable: false, summary: 'A component did not stop as asked (it failed, or was killed).' },
  FERRY_ERR_REMOTE: { retryable: true, summary: 'A partner site of an outbound transfer failed or could not be reached (connection, TLS, protocol error, refused operation, negative MDN).' },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FerryErrorOptions {
  cause?: unknown;
  /** Machine-readable facts (key, value, allowed, path, retryAfterSeconds...). Never secrets. */
  details?: Record<string, unknown>;
}

export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: FerryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.details = options.details ?? {};
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isFerryError(err: unknown, code?: ErrorCode): err is FerryError {
  return err instanceof FerryError && (code === undefined || err.code === code);
}
