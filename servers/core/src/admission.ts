import { EventEmitter } from 'node:events';
import { FerryError } from './errors.js';

/** Everything a client can ask of a protocol daemon that the gate may refuse during a drain. */
export type FileOperation =
  | 'login'
  | 'upload'
  | 'download'
  | 'list'
  | 'stat'
  | 'delete'
  | 'rename'
  | 'mkdir'
  | 'rmdir';

interface ClosedGate {
  reason: string;
  retryAfterSeconds: number;
}

/**
 * The admission gate: while closed it refuses every new file operation and login with one typed
 * error that each daemon maps to its own retryable reply. Operations admitted before the gate
 * closed are counted until they settle, so that "drained" can be decided by event.
 */
export class AdmissionGate extends EventEmitter<{ idle: [] }> {
  #closed: ClosedGate | undefined;
  #inFlight = 0;

  get isOpen(): boolean {
    return this.#closed === undefined;
  }

  /** Operations admitted and not yet settled (transfers are counted by the TransferRegistry). */
  get inFlight(): number {
    return this.#inFlight;
  }

  get closedReason(): string | undefined {
    return this.#closed?.reason;
  }

  get retryAfterSeconds(): number {
    return this.#closed?.retryAfterSeconds ?? 0;
  }

  close(reason: string, retryAfterSeconds: number): void {
    this.#closed = { reason, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) };
  }

  open(): void {
    this.#closed = undefined;
  }

  /** Throws FERRY_ERR_DRAINING when the gate is closed. Cheap: one field read on the hot path. */
  check(operation: FileOperation): void {
    const closed = this.#closed;
    if (closed === undefined) return;
    throw new FerryError('FERRY_ERR_DRAINING', `${operation} refused: ${closed.reason}`, {
      details: { operation, reason: closed.reason, retryAfterSeconds: closed.retryAfterSeconds },
    });
  }

  /** Admits a short operation (listing, rename, ...) and counts it until it settles. */
  async run<T>(operation: FileOperation, fn: () => Promise<T>): Promise<T> {
    this.check(operation);
    this.#inFlight++;
    try {
      return await fn();
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) this.emit('idle');
    }
  }
}
