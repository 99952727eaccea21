import type { Job, JobStatus, LifecycleState, RunningJobSnapshot, TransferSnapshot } from '@ferry/core';

/**
 * The shapes of the admin API replies that the CLI reads. The CLI is an HTTP client of the node:
 * it depends on the documented JSON (admin/api/README.md), not on the server package.
 */
export interface ComponentView {
  id: string;
  state: LifecycleState;
  enabled: boolean;
  pid: number | null;
  startedAt: string | null;
  restarts: number;
  restartAt: string | null;
  drainDeadline: string | null;
  afterDrain: 'stop' | 'hold' | null;
  transfers: TransferSnapshot[];
  /** Absent from nodes older than the transaction manager. */
  jobs?: RunningJobSnapshot[];
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  note: string | null;
}

export interface NodeView {
  state: 'running' | 'draining' | 'stopping';
  startedAt: string;
  pid: number;
  version: string;
}

export interface TransferRecord {
  id: string;
  component: string;
  protocol: string;
  account: string | null;
  path: string;
  direction: 'upload' | 'download';
  bytes: number;
  size: number | null;
  outcome: 'completed' | 'interrupted' | 'failed';
  reason: string | null;
  endedAt: string;
}

export interface Account {
  name: string;
  home: string;
  enabled: boolean;
  createdAt: string;
}

export interface SshKey {
  fingerprint: string;
}

/** An AS2 partner in the store (GET /api/v1/as2/partners). */
export interface As2Partner {
  id: string;
  certificate: string;
  certificateInfo: { subject: string; issuer: string; notBefore: string; notAfter: string; fingerprint: string };
  url: string | null;
  inbox: string;
  requireSignature: boolean;
  requireEncryption: boolean;
  accept: { encryption: string[]; signature: string[] };
  send: { encryption: string; keyTransport: string; signature: string; compression: string; mdn: string; signedMdn: boolean };
  createdAt: string;
  updatedAt: string;
}

export type { RunningJobSnapshot, TransferSnapshot };

/** `GET /api/v1/jobs/:id`: the store's job, as JSON. */
export type JobView = Job;

/** `GET /api/v1/schedules`. */
export interface ScheduleView {
  name: string;
  cron: string;
  timezone: string | null;
  misfire: string;
  kind: string;
  nextFire: string | null;
  lastFireAt: string | null;
  coveredUntil: string | null;
}

export interface JobList {
  counts: Record<JobStatus, number>;
  jobs: JobView[];
}
export type { NodePlan, NodePlanComponent, NodePlanMessage, ShutdownReport } from '@ferry/core';
