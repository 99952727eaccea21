import { FerryError, type ErrorCode } from '../errors.js';

/**
 * Node errno codes → Ferry codes. Anything not listed is FERRY_ERR_IO (retryable), so only codes a
 * retry can never fix are listed. ELOOP is what an O_NOFOLLOW open reports when a final component
 * was swapped for a symlink after resolution, hence "outside the home".
 */
const ERRNO_CODES: Readonly<Record<string, ErrorCode>> = {
  ENOENT: 'FERRY_ERR_NOT_FOUND',
  EEXIST: 'FERRY_ERR_EXISTS',
  ENOTDIR: 'FERRY_ERR_NOT_A_DIRECTORY',
  EISDIR: 'FERRY_ERR_IS_A_DIRECTORY',
  ENOTEMPTY: 'FERRY_ERR_DIRECTORY_NOT_EMPTY',
  EACCES: 'FERRY_ERR_PERMISSION_DENIED',
  EPERM: 'FERRY_ERR_PERMISSION_DENIED',
  EROFS: 'FERRY_ERR_PERMISSION_DENIED',
  ELOOP: 'FERRY_ERR_PATH_OUTSIDE_HOME',
  ENAMETOOLONG: 'FERRY_ERR_INVALID_PATH',
};

const REASONS: Partial<Record<ErrorCode, string>> = {
  FERRY_ERR_NOT_FOUND: 'no such file or directory',
  FERRY_ERR_EXISTS: 'already exists',
  FERRY_ERR_NOT_A_DIRECTORY: 'not a directory',
  FERRY_ERR_IS_A_DIRECTORY: 'is a directory',
  FERRY_ERR_DIRECTORY_NOT_EMPTY: 'directory not empty',
  FERRY_ERR_PERMISSION_DENIED: 'permission denied',
  FERRY_ERR_PATH_OUTSIDE_HOME: 'leaves the account home',
  FERRY_ERR_INVALID_PATH: 'name too long',
};

export function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Wraps a failed fs call. The message names the virtual path only: Node's own message carries the
 * host path, so it stays in `cause` (logs), never in what a client is shown.
 */
export function storageError(err: unknown, op: string, virtualPath: string): FerryError {
  if (err instanceof FerryError) return err;
  const errno = errnoOf(err);
  const code: ErrorCode = (errno !== undefined ? ERRNO_CODES[errno] : undefined) ?? 'FERRY_ERR_IO';
  const reason = REASONS[code] ?? `storage failure${errno !== undefined ? ` (${errno})` : ''}`;
  return new FerryError(code, `${op} ${virtualPath}: ${reason}`, {
    cause: err,
    details: { path: virtualPath, ...(errno !== undefined ? { errno } : {}) },
  });
}

/** A refusal decided by Ferry itself (no errno behind it). */
export function refusal(code: ErrorCode, op: string, virtualPath: string, reason: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(code, `${op} ${virtualPath}: ${reason}`, { details: { path: virtualPath, ...details } });
}
