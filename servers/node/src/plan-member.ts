import type { ComponentKind, LifecycleState } from '@ferry/core';
import type { StopRequest } from '@ferry/admin-api';

export type StateListener = (state: LifecycleState, previous: LifecycleState, reason: string | undefined) => void;

/**
 * One component as the node plan drives it. ComponentProcess is one; the plan's unit tests use
 * in-memory fakes, so the order of the steps is tested without child processes.
 */
export interface PlanMember {
  readonly id: string;
  readonly kind: ComponentKind;
  readonly state: LifecycleState;
  /** A process runs (it may be starting, draining or stopping); false once it exited. */
  readonly alive: boolean;
  /** Default drain timeout of a graceful stop (ms). */
  readonly gracefulShutdownTimeout: number;
  /** How long it has to acknowledge a drain (ms). */
  readonly ackTimeout: number;
  /** After an immediate stop, how long before it is killed (ms). */
  readonly killTimeout: number;
  stop(request: StopRequest): void;
  suspend(timeoutMs?: number): void;
  resume(): void;
  /** Resolves once the process has exited (at once if none runs). */
  whenExited(): Promise<void>;
  on(event: 'state', listener: StateListener): unknown;
  off(event: 'state', listener: StateListener): unknown;
}

/** What the plan needs of the monitor: it is paused first, and resumed after a node resume. */
export interface PlanMonitor {
  pause(): void;
  resume(): void;
}
