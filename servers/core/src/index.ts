// The public surface of @ferry/core. Daemons, the node and the admin packages import only this.
export { ERROR_CODES, FerryError, isFerryError, type ErrorCode, type FerryErrorOptions } from './errors.js';
export { LIFECYCLE_STATES, canTransition, assertTransition, isDrainingState, isLifecycleState, type LifecycleState } from './lifecycle.js';
export { AdmissionGate, type FileOperation } from './admission.js';
export {
  Transfer,
  TransferRegistry,
  type TransferInit,
  type TransferSnapshot,
  type TransferEnd,
  type StoredFile,
  type TransferDirection,
  type TransferOutcome,
} from './transfers.js';
export { SessionTable, type Session, type SessionInit } from './sessions.js';
export {
  RunningJob,
  RunningJobRegistry,
  type RunningJobEnd,
  type RunningJobInit,
  type RunningJobOutcome,
  type RunningJobSnapshot,
} from './running-jobs.js';
export { BufferPool } from './buffer-pool.js';
export { setReceiveLowWater, socketOptionsAvailable } from './socket-options.js';
export { HttpConnectionSession } from './http-session.js';
export { DrainLog, describeTransfer } from './drain-log.js';
export { createLogger, formatBytes, formatSeconds, type Logger, type LoggerOptions } from './logging.js';
export {
  isSupervisorMessage,
  isComponentMessage,
  type SupervisorMessage,
  type ComponentMessage,
  type ComponentStatus,
  type ListeningAddress,
  type StopMode,
} from './ipc.js';
export type { Component, ComponentContext, ComponentFactory } from './component.js';
export { LoginService, type LoginMeta, type AuthenticatedAccount } from './login.js';
export { ComponentRuntime, type RuntimeOptions } from './runtime.js';
export { runComponentProcess, type HostedConfig } from './process-host.js';
export * from './storage/index.js';
export * from './store/index.js';
export * from './config/index.js';
