import type { AdmissionGate } from './admission.js';
import type { Logger } from './logging.js';
import type { SessionTable } from './sessions.js';
import type { TransferRegistry } from './transfers.js';
import type { ListeningAddress, StopMode } from './ipc.js';
import type { Store } from './store/index.js';
import type { LoginService } from './login.js';
import type { RunningJobRegistry } from './running-jobs.js';

/** What the core hands a component: everything it needs, nothing global. */
export interface ComponentContext<C = unknown> {
  readonly id: string;
  readonly log: Logger;
  /** This component's frozen config section. */
  readonly config: C;
  /** The node's data directory (absolute). */
  readonly dataDir: string;
  readonly gate: AdmissionGate;
  readonly transfers: TransferRegistry;
  /** Jobs running in this component (the transaction manager); they hold a drain like transfers. */
  readonly jobs: RunningJobRegistry;
  readonly sessions: SessionTable;
  readonly store: Store;
  readonly login: LoginService;
  /** Tells the supervisor (and tests) where a listener is bound; call once per listener. */
  reportListening(listening: ListeningAddress): void;
}

/**
 * The contract every daemon implements. The core owns lifecycle, admission, transfer tracking and
 * drain; a component only opens its listeners, translates core decisions into protocol replies
 * and closes what the core tells it to.
 */
export interface Component<C = unknown> {
  readonly id: string;
  /** Opens listeners. Resolves when the component serves. */
  start(ctx: ComponentContext<C>): Promise<void>;
  /**
   * The gate has just closed. Listeners stay open (late clients get a polite refusal);
   * keep-alive style reuse should end. Idle sessions are closed by the core via SessionTable.
   */
  onDrain?(reason: string): void;
  /** The gate has reopened (resume). */
  onResume?(): void;
  /**
   * Close listeners and every remaining session. With `immediate`, say goodbye where the protocol
   * has one and cut. Transfers still running have already been aborted through their signals.
   */
  stop(mode: StopMode): Promise<void>;
}

export type ComponentFactory<C = unknown> = () => Component<C>;
