import { isFerryError } from '@ferry/core';

/**
 * Why a message could not be processed, in the words of an MDN (RFC 4130 §7.4.3): each kind is the
 * description of a `processed/error` disposition, so a failure found anywhere in the AS2 layer
 * reaches the partner as a precise, standard negative MDN.
 */
export const FAILURE_KINDS = [
  'authentication-failed',
  'decompression-failed',
  'decryption-failed',
  'insufficient-message-security',
  'integrity-check-failed',
  'unexpected-processing-error',
] as const;

export type As2FailureKind = (typeof FAILURE_KINDS)[number];

export class As2Failure extends Error {
  constructor(
    readonly kind: As2FailureKind,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'As2Failure';
  }
}

export function isAs2Failure(err: unknown): err is As2Failure {
  return err instanceof As2Failure;
}

/** The input ended before a structure was complete (a cut or truncated message). */
export class TruncatedInput extends Error {
  constructor(what: string) {
    super(`the message ends in the middle of ${what}`);
    this.name = 'TruncatedInput';
  }
}

/**
 * Re-labels whatever a layer threw as that layer's failure, keeping failures already labelled and
 * errors that are not about the message's content (a Ferry error: client gone, size limit, storage).
 */
export function failureOf(err: unknown, kind: As2FailureKind, context: string): Error {
  if (err instanceof As2Failure || isFerryError(err)) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new As2Failure(kind, `${context}: ${reason}`, { cause: err });
}
