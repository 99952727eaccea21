import { EventEmitter } from 'node:events';
import type { ComponentKind, LifecycleState } from '@ferry/core';
import type { StopRequest } from '@ferry/admin-api';
import type { PlanMember, StateListener } from '../src/plan-member.js';

/**
 * An in-memory component for plan tests: a drain lasts `drainMs` (or until its deadline, if
 * sooner), then a stop takes `stopMs`. Every command and state change lands in one shared journal,
 * so a test reads the order in which the plan drove the components.
 */
export class FakeMember extends EventEmitter<{ state: Parameters<StateListener> }> implements PlanMember {
  state: LifecycleState = 'running';
  alive = true;
  gracefulShutdownTimeout = 30_000;
  ackTimeout = 1000;
  killTimeout = 1000;
  readonly requests: string[] = [];
  #afterDrain: 'stop' | 'hold' | null = null;
  #drainEnd = Number.POSITIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #exited: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly kind: ComponentKind,
    private readonly journal: string[],
    public drainMs = 20,
    private readonly stopMs = 5,
  ) {
    super();
  }

  stop(request: StopRequest): void {
    this.requests.push(request.graceful ? `graceful ${request.timeoutMs ?? 'default'}` : 'immediate');
    this.journal.push(`${this.id} stop ${request.graceful ? 'graceful' : 'immediate'}`);
    if (!this.alive) return;
    if (!request.graceful || this.state === 'drained') return this.#stopNow();
    this.#afterDrain = 'stop';
    this.#drain(request.timeoutMs ?? this.gracefulShutdownTimeout);
  }

  suspend(timeoutMs?: number): void {
    this.journal.push(`${this.id} suspend`);
    this.#afterDrain = 'hold';
    this.#drain(timeoutMs ?? Number.POSITIVE_INFINITY);
  }

  resume(): void {
    this.journal.push(`${this.id} resume`);
    clearTimeout(this.#timer);
    this.#afterDrain = null;
    this.#drainEnd = Number.POSITIVE_INFINITY;
    this.#move('running');
  }

  whenExited(): Promise<void> {
    if (!this.alive) return Promise.resolve();
    return new Promise((resolve) => this.#exited.push(resolve));
  }

  /** Test hook: the process died on its own. */
  crash(): void {
    clearTimeout(this.#timer);
    this.#move('failed');
    this.#exit();
  }

  #drain(timeoutMs: number): void {
    if (this.state === 'running') this.#move('draining');
    const end = Math.min(this.#drainEnd === Number.POSITIVE_INFINITY ? Date.now() + this.drainMs : this.#drainEnd, Date.now() + timeoutMs);
    if (end >= this.#drainEnd) return;
    this.#drainEnd = end;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#move('drained');
      if (this.#afterDrain === 'stop') this.#stopNow();
    }, Math.max(0, end - Date.now()));
  }

  #stopNow(): void {
    clearTimeout(this.#timer);
    if (this.state === 'stopping') return;
    this.#move('stopping');
    this.#timer = setTimeout(() => {
      this.#move('stopped');
      this.#exit();
    }, this.stopMs);
  }

  #exit(): void {
    this.alive = false;
    for (const resolve of this.#exited.splice(0)) resolve();
  }

  #move(state: LifecycleState): void {
    const previous = this.state;
    if (previous === state) return;
    this.state = state;
    this.journal.push(`${this.id} ${state}`);
    this.emit('state', state, previous, undefined);
  }
}
