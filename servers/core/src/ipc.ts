import type { LifecycleState } from './lifecycle.js';
import { isLifecycleState } from './lifecycle.js';
import type { RunningJobSnapshot } from './running-jobs.js';
import type { TransferSnapshot } from './transfers.js';

/**
 * The control messages between the supervisor and a component child process, in one schema.
 * Deadlines are absolute epoch milliseconds (both processes share the clock); null = no deadline.
 */
export type StopMode = 'graceful' | 'immediate';

export type SupervisorMessage =
  | { type: 'init'; config: unknown }
  /** Suspend: drain, then hold drained until `resume` or `stop`. */
  | { type: 'drain'; deadline: number | null }
  | { type: 'resume' }
  | { type: 'stop'; mode: StopMode; deadline: number | null }
  | { type: 'status'; requestId: string };

export interface ListeningAddress {
  name: string;
  address: string;
  port: number;
}

export interface ComponentStatus {
  id: string;
  state: LifecycleState;
  /** When the running drain cuts what is left (ISO); null when not draining or no deadline. */
  drainDeadline: string | null;
  /** What a graceful drain turns into once drained. */
  afterDrain: 'stop' | 'hold' | null;
  transfers: TransferSnapshot[];
  jobs: RunningJobSnapshot[];
  sessions: number;
  listening: ListeningAddress[];
}

export type ComponentMessage =
  | { type: 'state'; state: LifecycleState; previous: LifecycleState | null; at: string; reason?: string }
  | { type: 'listening'; listening: ListeningAddress }
  | { type: 'status'; requestId: string; status: ComponentStatus };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

const isDeadline = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v));

export function isSupervisorMessage(value: unknown): value is SupervisorMessage {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'init':
      return 'config' in value;
    case 'drain':
      return isDeadline(value.deadline);
    case 'resume':
      return true;
    case 'stop':
      return (value.mode === 'graceful' || value.mode === 'immediate') && isDeadline(value.deadline);
    case 'status':
      return typeof value.requestId === 'string';
    default:
      return false;
  }
}

export function isComponentMessage(value: unknown): value is ComponentMessage {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'state':
      return isLifecycleState(value.state) && typeof value.at === 'string';
    case 'listening':
      return isObject(value.listening) && typeof value.listening.port === 'number';
    case 'status':
      return typeof value.requestId === 'string' && isObject(value.status);
    default:
      return false;
  }
}
