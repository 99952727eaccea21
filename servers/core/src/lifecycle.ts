import { FerryError } from './errors.js';

/** The states of a component, in the order a graceful stop walks them. */
export const LIFECYCLE_STATES = ['starting', 'running', 'draining', 'drained', 'stopping', 'stopped', 'failed'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

/**
 * Every allowed transition, in one table. `draining | drained → running` is resume (cancels a
 * graceful stop or ends a suspension); `stopped → starting` is an in-process restart.
 */
const TRANSITIONS: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
  starting: ['running', 'stopping', 'failed'],
  running: ['draining', 'stopping', 'failed'],
  draining: ['drained', 'running', 'stopping', 'failed'],
  drained: ['running', 'stopping', 'failed'],
  stopping: ['stopped', 'failed'],
  stopped: ['starting'],
  failed: ['starting', 'stopping', 'stopped'],
};

export function canTransition(from: LifecycleState, to: LifecycleState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(component: string, from: LifecycleState, to: LifecycleState): void {
  if (!canTransition(from, to)) {
    throw new FerryError('FERRY_ERR_LIFECYCLE_TRANSITION', `${component} cannot go from ${from} to ${to}`, {
      details: { component, from, to, allowed: TRANSITIONS[from] },
    });
  }
}

/** States in which the admission gate is closed and transfers are being waited for. */
export function isDrainingState(state: LifecycleState): boolean {
  return state === 'draining' || state === 'drained';
}

export function isLifecycleState(value: unknown): value is LifecycleState {
  return typeof value === 'string' && (LIFECYCLE_STATES as readonly string[]).includes(value);
}
