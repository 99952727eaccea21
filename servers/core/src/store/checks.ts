import { FerryError } from '../errors.js';

/** Validation of what callers hand to the store; every refusal is FERRY_ERR_BAD_REQUEST naming the rule. */

export function badRequest(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError('FERRY_ERR_BAD_REQUEST', message, { details });
}

const NAME_PATTERN = /^[A-Za-z0-9_@][A-Za-z0-9._@-]{0,63}$/;
export const ACCOUNT_NAME_RULE = '1–64 characters from A-Z a-z 0-9 . _ @ -, not starting with . or -';

/** Account and admin user names: safe in paths, log lines and protocol replies. */
export function checkName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw badRequest(`${kind} name ${JSON.stringify(name)} is not allowed: ${ACCOUNT_NAME_RULE}`, { field: 'name', allowed: ACCOUNT_NAME_RULE });
  }
  return name;
}

const MAX_PASSWORD_LENGTH = 1024;

export function checkPassword(password: unknown): string {
  if (typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD_LENGTH) {
    // The value itself is never echoed: it is a secret even when it is wrong.
    throw badRequest(`password must be a string of 1–${MAX_PASSWORD_LENGTH} characters`, { field: 'password' });
  }
  return password;
}

export function checkText(field: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength || value.includes('\0')) {
    throw badRequest(`${field} must be a non-empty string of at most ${maxLength} characters without NUL`, { field, value });
  }
  return value;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

export function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}`, { field: 'limit', value: limit });
  }
  return limit;
}

/** Normalises to `Date#toISOString`, which is what makes text comparison chronological. */
export function checkInstant(field: string, value: unknown): string {
  const date = typeof value === 'string' && value.length > 0 ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw badRequest(`${field} must be an ISO-8601 timestamp`, { field, value });
  }
  return date.toISOString();
}
