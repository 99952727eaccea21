import { EventEmitter } from 'node:events';
import { timeOrderedId } from './time-ordered-id.js';

export type TransferDirection = 'upload' | 'download';
export type TransferOutcome = 'completed' | 'interrupted' | 'failed';

export interface TransferInit {
  protocol: string;
  account: string | null;
  remoteAddress: string | null;
  /** Virtual path inside the account home. */
  path: string;
  direction: TransferDirection;
  /** Total size when known (download: file size; upload: declared length). */
  size?: number | null;
  /** Where the transfer starts in the file (resume). */
  offset?: number;
  /** The protocol session that carries it, so an idle session can be closed during a drain. */
  sessionId?: string;
  /**
   * Where an upload is stored, for its routing: by default `path` in `account`'s home; a daemon
   * that stores elsewhere (as2d's partner inboxes) names the host path, with `account: null`.
   */
  storedAs?: StoredFile;
}

/** A stored file as the transaction manager's jobs refer to it. */
export interface StoredFile {
  /** null: `path` is an absolute host path. */
  account: string | null;
  path: string;
}

/** What the admin API, the drain log and the supervisor see of one running transfer. */
export interface TransferSnapshot {
  id: string;
  component: string;
  protocol: string;
  account: string | null;
  remoteAddress: string | null;
  path: string;
  direction: TransferDirection;
  /** Bytes moved by this transfer so far (not counting a resume offset). */
  bytes: number;
  offset: number;
  size: number | null;
  startedAt: string;
  /** Bytes per second over the last few seconds. */
  rate: number;
  /** Seconds left at the current rate; null when the size or the rate is unknown. */
  etaSeconds: number | null;
  sessionId: string | null;
}

/** What the registry hands to history when a transfer ends. */
export interface TransferEnd {
  snapshot: TransferSnapshot;
  outcome: TransferOutcome;
  reason: string | null;
  endedAt: string;
  /** Where the file is, for routing (uploads); null when unknown. */
  storedAs: StoredFile | null;
}

const RATE_WINDOW_MS = 1000;

/** One running transfer. Daemons call progress() per chunk and end() exactly once. */
export class Transfer {
  readonly startedAt = Date.now();
  /** Time-ordered, so the history's index on it grows at its end (see timeOrderedId). */
  readonly id = timeOrderedId(this.startedAt);
  #bytes = 0;
  #size: number | null;
  #rate = 0;
  #sampleAt = this.startedAt;
  #sampleBytes = 0;
  #ended = false;
  /** Why the core cut this transfer, once it has. */
  #abortReason: Error | undefined;
  /** Made on first use of `signal`: an AbortSignal and its listener cost more than the rest of a small file's bookkeeping. */
  #abort: AbortController | undefined;
  #abortListeners: ((reason: Error) => void)[] = [];

  constructor(
    readonly component: string,
    readonly init: Readonly<TransferInit>,
    private readonly onEnd: (transfer: Transfer, outcome: TransferOutcome, reason: string | null) => void,
  ) {
    this.#size = init.size ?? null;
  }

  /** Fires when the core cuts the transfer (drain deadline, immediate stop). */
  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      this.#abort = new AbortController();
      if (this.#abortReason !== undefined) this.#abort.abort(this.#abortReason);
    }
    return this.#abort.signal;
  }

  /** The same as `signal`'s abort event, without an AbortSignal; called at once if already cut. */
  onAbort(listener: (reason: Error) => void): void {
    if (this.#abortReason !== undefined) listener(this.#abortReason);
    else this.#abortListeners.push(listener);
  }

  get bytes(): number {
    return this.#bytes;
  }

  get ended(): boolean {
    return this.#ended;
  }

  progress(bytes: number): void {
    this.#bytes += bytes;
    const now = Date.now();
    const elapsed = now - this.#sampleAt;
    if (elapsed >= RATE_WINDOW_MS) {
      const instant = ((this.#bytes - this.#sampleBytes) * 1000) / elapsed;
      // Exponential smoothing keeps the ETA from jumping with every burst.
      this.#rate = this.#rate === 0 ? instant : this.#rate * 0.5 + instant * 0.5;
      this.#sampleAt = now;
      this.#sampleBytes = this.#bytes;
    }
  }

  setSize(size: number | null): void {
    this.#size = size;
  }

  abort(reason: string): void {
    if (this.#ended || this.#abortReason !== undefined) return;
    this.#abortReason = new Error(reason);
    this.#abort?.abort(this.#abortReason);
    for (const listener of this.#abortListeners.splice(0)) listener(this.#abortReason);
  }

  end(outcome: TransferOutcome, reason: string | null = null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.onEnd(this, outcome, reason);
  }

  snapshot(now = Date.now()): TransferSnapshot {
    const offset = this.init.offset ?? 0;
    let rate = this.#rate;
    if (rate === 0 && now > this.startedAt) rate = (this.#bytes * 1000) / (now - this.startedAt);
    const left = this.#size === null ? null : Math.max(0, this.#size - offset - this.#bytes);
    return {
      id: this.id,
      component: this.component,
      protocol: this.init.protocol,
      account: this.init.account,
      remoteAddress: this.init.remoteAddress,
      path: this.init.path,
      direction: this.init.direction,
      bytes: this.#bytes,
      offset,
      size: this.#size,
      startedAt: new Date(this.startedAt).toISOString(),
      rate: Math.round(rate),
      etaSeconds: left === null || rate <= 0 ? null : Math.ceil(left / rate),
      sessionId: this.init.sessionId ?? null,
    };
  }
}

/**
 * Every transfer of one component. The admin API and the drain log read it; "idle" is an event,
 * never a poll, so a drain ends the moment the last transfer ends.
 */
export class TransferRegistry extends EventEmitter<{ begin: [TransferSnapshot]; end: [TransferEnd]; idle: [] }> {
  readonly #active = new Map<string, Transfer>();

  constructor(readonly component: string) {
    super();
  }

  begin(init: TransferInit): Transfer {
    const transfer = new Transfer(this.component, { ...init }, (t, outcome, reason) => this.#finish(t, outcome, reason));
    this.#active.set(transfer.id, transfer);
    if (this.listenerCount('begin') > 0) this.emit('begin', transfer.snapshot());
    return transfer;
  }

  get size(): number {
    return this.#active.size;
  }

  get(id: string): Transfer | undefined {
    return this.#active.get(id);
  }

  list(): TransferSnapshot[] {
    const now = Date.now();
    return [...this.#active.values()].map((t) => t.snapshot(now));
  }

  /** Transfers carried by one protocol session. */
  countForSession(sessionId: string): number {
    let n = 0;
    for (const t of this.#active.values()) if (t.init.sessionId === sessionId) n++;
    return n;
  }

  /** Resolves when no transfer is active (at once if none is). */
  whenIdle(): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.once('idle', resolve));
  }

  /** Signals every transfer to stop; each daemon cuts its connection and ends it `interrupted`. */
  abortAll(reason: string): void {
    for (const t of this.#active.values()) t.abort(reason);
  }

  /** Last resort after abortAll: ends what a daemon failed to end, so the registry is clean. */
  forceEndAll(reason: string): void {
    for (const t of [...this.#active.values()]) t.end('interrupted', reason);
  }

  #finish(transfer: Transfer, outcome: TransferOutcome, reason: string | null): void {
    const snapshot = transfer.snapshot();
    this.#active.delete(transfer.id);
    const { storedAs, account, path } = transfer.init;
    this.emit('end', { snapshot, outcome, reason, endedAt: new Date().toISOString(), storedAs: storedAs ?? (account === null ? null : { account, path }) });
    if (this.#active.size === 0) this.emit('idle');
  }
}
