import type { LifecycleState, ListeningAddress, NodePlan, NodePlanMessage, PlanRequester, RunningJobSnapshot, TransferSnapshot } from '@ferry/core';

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
  /** Jobs running in it (the transaction manager). */
  jobs: RunningJobSnapshot[];
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

/** A node-level shutdown (DESIGN §3): graceful runs the ordered plan, immediate stops everything now. */
export interface NodeShutdownRequest {
  graceful: boolean;
  /** Drain timeout of every component (ms); default: each component's gracefulShutdownTimeout. */
  timeoutMs?: number;
  requestedBy: PlanRequester;
}

export interface NodeSuspendRequest {
  /** Drain timeout of every component (ms); default: no deadline, as for one component. */
  timeoutMs?: number;
  requestedBy: PlanRequester;
}

/** A subscription to the plan messages: those of the current (or last) plan so far, then each new one. */
export interface NodeWatch {
  replay: NodePlanMessage[];
  close(): void;
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
  /**
   * Starts the node plan; a second request while one runs may shorten its timeout or escalate it to
   * immediate, and returns the running plan.
   */
  shutdownNode(request: NodeShutdownRequest): Promise<NodePlan>;
  /** Suspends the node in the plan's order (intake, protocol, tm); refused while it shuts down. */
  suspendNode(request: NodeSuspendRequest): Promise<NodePlan>;
  /** Resumes the node in the reverse order (tm, protocol, intake), then the monitor. */
  resumeNode(request: { requestedBy: PlanRequester }): Promise<NodePlan>;
  /** The running node plan, else the last one; null when there was none. */
  nodePlan(): NodePlan | null;
  watchNode(listener: (message: NodePlanMessage) => void): NodeWatch;
}
