import { setTimeout as sleep } from 'node:timers/promises';
import type { AdmissionGate } from './admission.js';
import { FerryError } from './errors.js';
import type { Logger } from './logging.js';
import type { Account, Store } from './store/index.js';
import { localStorage, type Storage } from './storage/index.js';

export interface LoginMeta {
  protocol: string;
  remoteAddress: string | null;
}

export interface AuthenticatedAccount {
  account: Account;
  storage: Storage;
}

interface FailureRecord {
  count: number;
  last: number;
}

const FAILURE_MEMORY_MS = 15 * 60_000;

/**
 * Logins for every protocol: refused while the gate is closed, checked against the store, and on
 * failure slowed (doubling per consecutive failure from the same address) and logged without the
 * secret.
 */
export class LoginService {
  readonly #failures = new Map<string, FailureRecord>();

  constructor(
    private readonly store: Store,
    private readonly gate: AdmissionGate,
    private readonly log: Logger,
    private readonly options: { baseDelayMs: number; maxDelayMs: number } = { baseDelayMs: 500, maxDelayMs: 8000 },
  ) {}

  async password(name: string, password: string, meta: LoginMeta): Promise<AuthenticatedAccount> {
    this.gate.check('login');
    const account = await this.store.accounts.verifyPassword(name, password);
    if (!account) return this.#fail(name, meta, 'password');
    return this.#succeed(account, meta, 'password');
  }

  /** For protocols that verified a credential themselves (e.g. an SSH key signature). */
  async verified(name: string, meta: LoginMeta, method: string): Promise<AuthenticatedAccount> {
    this.gate.check('login');
    const account = await this.store.accounts.get(name);
    if (!account || !account.enabled) return this.#fail(name, meta, method);
    return this.#succeed(account, meta, method);
  }

  /** Records a failure that was decided outside this service (e.g. an unknown SSH key). */
  async rejected(name: string, meta: LoginMeta, method: string): Promise<never> {
    return this.#fail(name, meta, method);
  }

  async storageFor(account: Account): Promise<Storage> {
    return localStorage(account.home, { createHome: true });
  }

  async #succeed(account: Account, meta: LoginMeta, method: string): Promise<AuthenticatedAccount> {
    if (meta.remoteAddress) this.#failures.delete(meta.remoteAddress);
    this.log.info({ event: 'login.ok', account: account.name, method, ...meta }, `login ${account.name} from ${meta.remoteAddress ?? '-'}`);
    return { account, storage: await this.storageFor(account) };
  }

  async #fail(name: string, meta: LoginMeta, method: string): Promise<never> {
    const key = meta.remoteAddress ?? '-';
    const now = Date.now();
    const previous = this.#failures.get(key);
    const count = previous && now - previous.last < FAILURE_MEMORY_MS ? previous.count + 1 : 1;
    this.#failures.set(key, { count, last: now });
    if (this.#failures.size > 10_000) this.#forgetOld(now);
    const delay = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (count - 1));
    this.log.warn({ event: 'login.failed', account: name, method, failures: count, ...meta }, `login failed for ${name} from ${key}`);
    await sleep(delay);
    throw new FerryError('FERRY_ERR_AUTH_FAILED', 'authentication failed', { details: { account: name } });
  }

  #forgetOld(now: number): void {
    for (const [key, record] of this.#failures) if (now - record.last >= FAILURE_MEMORY_MS) this.#failures.delete(key);
  }
}
