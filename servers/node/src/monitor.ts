/**
 * The watchdog: restarts a component that exits unexpectedly, with backoff, and never one that was
 * asked to stop (the caller decides what was expected). Paused first in a node-level shutdown.
 */
export interface MonitorOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  /** A component that ran this long before crashing starts its backoff afresh. */
  stableAfterMs: number;
}

export const DEFAULT_MONITOR: MonitorOptions = { initialDelayMs: 1000, maxDelayMs: 30_000, stableAfterMs: 60_000 };

interface Pending {
  timer: NodeJS.Timeout;
  at: number;
}

export class Monitor {
  #paused = false;
  readonly #failures = new Map<string, number>();
  readonly #pending = new Map<string, Pending>();

  constructor(private readonly options: MonitorOptions = DEFAULT_MONITOR) {}

  get paused(): boolean {
    return this.#paused;
  }

  pause(): void {
    this.#paused = true;
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    this.#pending.clear();
  }

  resume(): void {
    this.#paused = false;
  }

  /** When the pending restart of `id` fires (epoch ms), if one is scheduled. */
  restartAt(id: string): number | null {
    return this.#pending.get(id)?.at ?? null;
  }

  /** Cancels a scheduled restart (an operator stopped or started the component by hand). */
  cancel(id: string): void {
    const pending = this.#pending.get(id);
    if (pending) clearTimeout(pending.timer);
    this.#pending.delete(id);
  }

  /** Schedules `restart` after the backoff for `id`; returns the delay, or null when paused. */
  unexpectedExit(id: string, ranForMs: number, restart: () => void): number | null {
    if (this.#paused) return null;
    const failures = ranForMs >= this.options.stableAfterMs ? 1 : (this.#failures.get(id) ?? 0) + 1;
    this.#failures.set(id, failures);
    const delay = Math.min(this.options.maxDelayMs, this.options.initialDelayMs * 2 ** (failures - 1));
    this.cancel(id);
    const timer = setTimeout(() => {
      this.#pending.delete(id);
      if (!this.#paused) restart();
    }, delay);
    this.#pending.set(id, { timer, at: Date.now() + delay });
    return delay;
  }
}
