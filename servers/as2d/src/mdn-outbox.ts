import type { As2Store, Logger, NewPendingMdn, PendingMdn, StopMode } from '@ferry/core';
import { post } from './as2/http-client.js';

/**
 * Asynchronous MDNs (Receipt-Delivery-Option): persisted in the store before the partner's message
 * is answered, then delivered — once at once by the receiver, later by rounds with a doubling
 * retry interval. So an MDN is delivered before a stop or survives it and goes after the restart;
 * an MDN not delivered after `expireAfter` is given up, with a warning.
 */

export interface OutboxOptions {
  store: As2Store;
  log: Logger;
  retryIntervalMs: number;
  expireAfterMs: number;
  /** Idle timeout of one delivery attempt. */
  timeoutMs?: number;
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
}

const MAX_RETRY_MS = 3_600_000;
const ROUND_LIMIT = 50;
const DEFAULT_TIMEOUT_MS = 30_000;

export class MdnOutbox {
  readonly #options: OutboxOptions;
  readonly #inFlight = new Set<Promise<boolean>>();
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #stopped = true;

  constructor(options: OutboxOptions) {
    this.#options = options;
  }

  get #timeoutMs(): number {
    return this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Starts the rounds. The first runs at once and tries every MDN left from before the restart, whatever its schedule. */
  start(): void {
    this.#stopped = false;
    void this.#runRound(this.#everything()).finally(() => this.#schedule(this.#pollMs));
  }

  /** Persists an MDN, held by this process for the first attempt it is about to make. */
  queue(mdn: NewPendingMdn): Promise<PendingMdn> {
    return this.#options.store.queueMdn(mdn, { leaseMs: this.#timeoutMs * 2 });
  }

  /** One delivery attempt; true when the partner took it (2xx). */
  deliver(pending: PendingMdn): Promise<boolean> {
    const attempt = this.#attempt(pending);
    this.#inFlight.add(attempt);
    void attempt.finally(() => this.#inFlight.delete(attempt));
    return attempt;
  }

  /** A round now, of everything pending whatever its schedule (a drain began: deliver before the stop). */
  flush(): void {
    if (this.#stopped) return;
    // After the round in progress, if any: that one only took what was due.
    void (this.#round ?? Promise.resolve()).then(() => this.#runRound(this.#everything()));
  }

  #everything(): Date {
    return new Date(Date.now() + MAX_RETRY_MS + this.#options.expireAfterMs);
  }

  get #pollMs(): number {
    return Math.min(this.#options.retryIntervalMs, 30_000);
  }

  /** graceful: attempts in progress finish; immediate: they are cut (the rows stay for later). */
  async stop(mode: StopMode): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (mode === 'immediate') this.#abort.abort(new Error('immediate stop'));
    await this.#round?.catch(() => undefined);
    await Promise.allSettled([...this.#inFlight]);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#runRound().finally(() => this.#schedule(this.#pollMs)), delayMs);
    this.#timer.unref();
  }

  #runRound(dueBy?: Date): Promise<void> {
    if (this.#round) return this.#round;
    this.#round = (async () => {
      try {
        const due = await this.#options.store.claimDueMdns({ leaseMs: this.#timeoutMs * 2, limit: ROUND_LIMIT, ...(dueBy ? { dueBy } : {}) });
        await Promise.all(due.map((pending) => (this.#expired(pending) ? this.#giveUp(pending) : this.deliver(pending))));
      } catch (err) {
        this.#options.log.error({ err }, 'asynchronous MDN round failed');
      } finally {
        this.#round = undefined;
      }
    })();
    return this.#round;
  }

  #expired(pending: PendingMdn): boolean {
    return Date.now() - Date.parse(pending.createdAt) > this.#options.expireAfterMs;
  }

  async #giveUp(pending: PendingMdn): Promise<boolean> {
    this.#options.log.warn(
      { event: 'as2.mdn.expired', partner: pending.partner, originalMessageId: pending.originalMessageId, attempts: pending.attempts, lastError: pending.lastError },
      `giving up the asynchronous MDN for ${pending.originalMessageId} to ${pending.partner} after ${pending.attempts} attempts`,
    );
    await this.#options.store.dropMdn(pending.id);
    return false;
  }

  async #attempt(pending: PendingMdn): Promise<boolean> {
    const { log, store } = this.#options;
    const where = { partner: pending.partner, originalMessageId: pending.originalMessageId, url: pending.url, attempt: pending.attempts };
    let problem: string;
    try {
      const answer = await post({
        url: pending.url,
        headers: Object.fromEntries(pending.headers.map(([name, value]) => [name.toLowerCase(), value])),
        body: pending.body,
        timeoutMs: this.#timeoutMs,
        signal: this.#abort.signal,
        tls: this.#options.tls,
      });
      if (answer.status >= 200 && answer.status < 300) {
        await store.mdnDelivered(pending.id);
        log.info({ event: 'as2.mdn.delivered', ...where }, `asynchronous MDN for ${pending.originalMessageId} delivered to ${pending.partner}`);
        return true;
      }
      problem = `HTTP ${answer.status}`;
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
    const delay = Math.min(MAX_RETRY_MS, this.#options.retryIntervalMs * 2 ** Math.max(0, pending.attempts - 1));
    const next = new Date(Date.now() + delay).toISOString();
    log.warn({ event: 'as2.mdn.retry', ...where, problem, next }, `asynchronous MDN for ${pending.originalMessageId} not delivered (${problem}); next attempt at ${next}`);
    await store.mdnFailed(pending.id, problem, next).catch((err: unknown) => log.error({ err, ...where }, 'could not record the MDN attempt'));
    return false;
  }
}
