import { createHmac, randomBytes } from 'node:crypto';
import { FerryError, type AuthenticatedAccount, type LoginService } from '@ferry/core';
import { header, type Exchange } from './exchange.js';

/** How long a verified Basic credential is reused; tus sends one per chunk and scrypt is slow by design. */
export const CREDENTIAL_CACHE_MS = 60_000;
const CACHE_MAX_ENTRIES = 10_000;

interface CachedLogin {
  login: Promise<AuthenticatedAccount>;
  expires: number;
}

function required(reason: string): FerryError {
  return new FerryError('FERRY_ERR_AUTH_FAILED', reason);
}

/** `Basic <base64(user:password)>` → user and password; anything else is a failed login. */
function parseBasic(value: string): { user: string; password: string } {
  const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(value);
  if (!match?.[1]) throw required('only HTTP Basic authentication is supported');
  const text = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) throw required('malformed Basic credentials');
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * HTTP Basic over the core's LoginService (which refuses logins while draining and slows
 * failures). A success is cached for a short while under an HMAC of the header (keyed per process,
 * so the cache holds nothing a dump could test passwords against offline), never the header itself.
 * Concurrent requests with the same header share one login. Failures are not cached.
 */
export class BasicAuth {
  readonly #key = randomBytes(32);
  readonly #cache = new Map<string, CachedLogin>();

  constructor(
    private readonly login: LoginService,
    private readonly ttlMs = CREDENTIAL_CACHE_MS,
  ) {}

  async authenticate(exchange: Exchange): Promise<AuthenticatedAccount> {
    const value = header(exchange, 'authorization');
    if (value === undefined || value === '') throw required('authentication required');
    const key = createHmac('sha256', this.#key).update(value).digest('base64');
    const now = Date.now();
    let entry = this.#cache.get(key);
    if (entry === undefined || entry.expires <= now) {
      const { user, password } = parseBasic(value);
      const login = this.login.password(user, password, { protocol: 'http', remoteAddress: exchange.session.remoteAddress });
      entry = { login, expires: now + this.ttlMs };
      this.#remember(key, entry);
      login.catch(() => {
        if (this.#cache.get(key) === entry) this.#cache.delete(key);
      });
    }
    const result = await entry.login;
    exchange.session.account = result.account.name;
    return result;
  }

  #remember(key: string, entry: CachedLogin): void {
    if (this.#cache.size >= CACHE_MAX_ENTRIES) {
      const now = Date.now();
      for (const [k, e] of this.#cache) if (e.expires <= now) this.#cache.delete(k);
      // Still full: drop the oldest (Map keeps insertion order).
      if (this.#cache.size >= CACHE_MAX_ENTRIES) {
        const oldest = this.#cache.keys().next();
        if (!oldest.done) this.#cache.delete(oldest.value);
      }
    }
    this.#cache.set(key, entry);
  }
}
