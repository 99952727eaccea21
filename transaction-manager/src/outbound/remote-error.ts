import { posix } from 'node:path';
import { FerryError, isFerryError, type ErrorCode } from '@ferry/core';
import type { SiteConfig } from './site-config.js';

/**
 * Errors of the outbound clients: every message says which site, protocol and host, and what
 * failed; none carries a password (messages are scrubbed of it, in case a library echoes it).
 */

export class SiteContext {
  readonly name: string;
  readonly site: SiteConfig;
  /** `sftp://files.partner.example:22`, `https://partner.example/files/`: for messages, never with credentials. */
  readonly where: string;

  constructor(site: SiteConfig, name: string) {
    this.site = site;
    this.name = name;
    this.where = site.url !== undefined ? stripCredentials(site.url) : `${site.protocol}://${site.host ?? '?'}:${site.port}`;
  }

  /** `site "acme" (sftp://host:22)`. */
  get label(): string {
    return `site "${this.name}" (${this.where})`;
  }

  /** The absolute remote path of a path relative to the site's base directory. */
  resolve(remotePath: string): string {
    if (remotePath.includes('\0')) throw this.error('FERRY_ERR_INVALID_PATH', `remote path ${JSON.stringify(remotePath)}`, 'it contains a NUL byte');
    const segments = remotePath.split('/');
    if (segments.includes('..')) {
      throw this.error('FERRY_ERR_PATH_OUTSIDE_HOME', `remote path ${JSON.stringify(remotePath)}`, `.. segments may not leave the site's path ${this.site.path}`);
    }
    return posix.join(this.site.path, posix.normalize(`/${remotePath}`));
  }

  /** A FerryError naming the site; `what` is the operation ("push a.txt → /in/a.txt"). */
  error(code: ErrorCode, what: string, reason: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}): FerryError {
    const message = this.scrub(`${this.label}: ${what}: ${reason}`);
    return new FerryError(code, message, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      details: { site: this.name, protocol: this.site.protocol, host: this.site.host ?? this.where, ...options.details },
    });
  }

  /** Wraps whatever a library threw, unless it is already ours. */
  wrap(err: unknown, what: string, code: ErrorCode = 'FERRY_ERR_REMOTE'): FerryError {
    if (isFerryError(err)) return err;
    return this.error(code, what, `failed: ${this.reasonOf(err)}`, { cause: scrubbedCause(err, this.site.password) });
  }

  aborted(what: string): FerryError {
    return this.error('FERRY_ERR_TRANSFER_ABORTED', what, 'aborted');
  }

  reasonOf(err: unknown): string {
    const text = err instanceof Error ? err.message || err.name : String(err);
    return this.scrub(text.trim() || 'unknown error');
  }

  scrub(text: string): string {
    let out = text;
    for (const secret of [this.site.password, this.site.passphrase]) {
      if (secret !== undefined && secret.length > 0) out = out.split(secret).join('***');
    }
    return out;
  }
}

function stripCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(bad url)';
  }
}

/** A cause is kept for the log, but never one whose message carries the password. */
function scrubbedCause(err: unknown, password: string | undefined): unknown {
  if (password === undefined || !(err instanceof Error) || !err.message.includes(password)) return err;
  return new Error(err.message.split(password).join('***'));
}

/** Runs `work`, rejecting at once with the site's abort error when `signal` fires; `onAbort` cuts the connection. */
export function abortable<T>(ctx: SiteContext, what: string, signal: AbortSignal, onAbort: () => void, work: () => Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(ctx.aborted(what));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const abort = (): void => {
      if (settled) return;
      settled = true;
      try {
        onAbort();
      } finally {
        reject(ctx.aborted(what));
      }
    };
    signal.addEventListener('abort', abort, { once: true });
    work().then(
      (value) => {
        signal.removeEventListener('abort', abort);
        if (settled) return;
        settled = true;
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        if (settled) return;
        settled = true;
        reject(signal.aborted ? ctx.aborted(what) : ctx.wrap(err, what));
      },
    );
  });
}

/**
 * `.name.ferry-push` next to `final`: one per final name, so a re-run overwrites what a cut run left.
 * (Not `.ferry-partial`: a Ferry server reserves that suffix for its own uploads in progress.)
 */
export function temporaryName(final: string): string {
  return posix.join(posix.dirname(final), `.${posix.basename(final)}.ferry-push`);
}
