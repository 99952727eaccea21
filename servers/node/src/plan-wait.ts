import type { LifecycleState } from '@ferry/core';
import type { PlanMember, StateListener } from './plan-member.js';

/** setTimeout fires at once for delays above 2^31-1 ms; a day-long drain timeout must not. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
export const timerMs = (ms: number): number => Math.max(0, Math.min(ms, MAX_TIMER_MS));

export type WaitEnd = 'reached' | 'timeout' | 'cancelled';

/**
 * Waits until `reached(state, seen)` holds for the member (checked now and at every state change),
 * `timeoutMs` passes, or `signal` aborts. `seen` holds every state observed since the wait began.
 */
export function waitForState(
  member: PlanMember,
  reached: (state: LifecycleState, seen: ReadonlySet<LifecycleState>) => boolean,
  timeoutMs: number | null,
  signal: AbortSignal,
): Promise<WaitEnd> {
  const seen = new Set<LifecycleState>([member.state]);
  if (reached(member.state, seen)) return Promise.resolve('reached');
  if (signal.aborted) return Promise.resolve('cancelled');
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const end = (how: WaitEnd): void => {
      member.off('state', onState);
      signal.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      resolve(how);
    };
    const onState: StateListener = (state) => {
      seen.add(state);
      if (reached(state, seen)) end('reached');
    };
    const onAbort = (): void => end('cancelled');
    member.on('state', onState);
    signal.addEventListener('abort', onAbort);
    if (timeoutMs !== null) timer = setTimeout(() => end('timeout'), timerMs(timeoutMs));
  });
}
