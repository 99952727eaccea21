import type { LifecycleState, ListeningAddress, TransferSnapshot } from '@ferry/core';

/** What the supervisor knows of one component, as the admin API shows it. */
export interface ComponentView {
  id: string;
  state: LifecycleState;
  enabled: boolean;
  pid: number | null;
  startedAt: string | null;
  /** Restarts by the monitor since the node started. */
  restarts: number;
  /** When the monitor will restart it after an unexpected exit (ISO), else null. */
  restartAt: string | null;
  drainDeadline: string | null;
  afterDrain: 'stop' | 'hold' | null;
  transfers: TransferSnapshot[];
  listening: ListeningAddress[];
  /** The last unexpected exit, for the operator. */
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  /** Why the last stop request ended the way it did (e.g. "no drain acknowledgement within 10s: stopped ordinarily"). */
  note: string | null;
}

export interface StopRequest {
  graceful: boolean;
  /** Drain timeout in ms; default: the component's gracefulShutdownTimeout. Ignored when not graceful. */
  timeoutMs?: number;
}

export interface NodeView {
  state: 'running' | 'draining' | 'stopping';
  startedAt: string;
  pid: number;
  version: string;
}

/**
 * The supervisor as the admin API sees it. Commands return once the request is under way (the
 * component has been told); callers follow progress through `component()`.
 */
export interface NodeControl {
  node(): NodeView;
  components(): Promise<ComponentView[]>;
  /** Throws FerryError FERRY_ERR_UNKNOWN_COMPONENT for an id that is not configured. */
  component(id: string): Promise<ComponentView>;
  start(id: string): Promise<ComponentView>;
  stop(id: string, request: StopRequest): Promise<ComponentView>;
  suspend(id: string, request: { timeoutMs?: number }): Promise<ComponentView>;
  resume(id: string): Promise<ComponentView>;
  /** Every active transfer on the node. */
  transfers(): Promise<TransferSnapshot[]>;
}
