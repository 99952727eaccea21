import { EventEmitter } from 'node:events';
import { AdmissionGate } from './admission.js';
import type { Component, ComponentContext } from './component.js';
import { DrainLog } from './drain-log.js';
import { isFerryError } from './errors.js';
import type { ComponentStatus, ListeningAddress, StopMode } from './ipc.js';
import { assertTransition, type LifecycleState } from './lifecycle.js';
import type { Logger } from './logging.js';
import { LoginService } from './login.js';
import { RunningJobRegistry } from './running-jobs.js';
import { SessionTable } from './sessions.js';
import type { Store } from './store/index.js';
import { TransferRegistry, type StoredFile, type TransferEnd } from './transfers.js';

export interface RuntimeOptions<C> {
  component: Component<C>;
  /** The component's config section; `gracefulShutdownTimeout` (ms) is the default drain timeout. */
  config: C & { gracefulShutdownTimeout: number };
  dataDir: string;
  store: Store;
  log: Logger;
  /** `gracefulShutdown.loggingInterval` in ms. */
  loggingIntervalMs: number;
  /** After cutting transfers at a deadline, how long daemons get to end them before the core does. */
  abortGraceMs?: number;
  login?: LoginService;
  /**
   * Every completed upload enqueues a `route` job for the transaction manager (set when the node
   * runs `tm`; a node without one would only pile up jobs nobody claims).
   */
  routeUploads?: boolean;
}

type AfterDrain = 'stop' | 'hold';

interface RuntimeEvents {
  state: [state: LifecycleState, previous: LifecycleState | null, reason: string | undefined];
  listening: [ListeningAddress];
}

const MAX_RETRY_AFTER_SECONDS = 60;

/**
 * Ended transfers are recorded (log line, history row, routing job) this long after they end, in a
 * batch. Measured on SFTP small files: recording right behind the reply took 150 µs per file, and
 * the client's next request, already waiting, waited for it; in a batch the same code also runs
 * warm. The registry forgets the transfer at once, so drains see it end without delay.
 */
const RECORD_DELAY_MS = 10;
/** A batch that grows this large is recorded at once, so a burst cannot pile up. */
const RECORD_BATCH_MAX = 256;

/**
 * Hosts one component and owns its lifecycle: start, drain (graceful stop or suspend), resume and
 * stop, with deadlines. Used in-process by tests and inside each component child process.
 */
export class ComponentRuntime<C = unknown> extends EventEmitter<RuntimeEvents> {
  readonly id: string;
  readonly gate = new AdmissionGate();
  readonly transfers: TransferRegistry;
  readonly sessions = new SessionTable();
  readonly jobs = new RunningJobRegistry();
  readonly log: Logger;
  #state: LifecycleState = 'stopped';
  #afterDrain: AfterDrain | null = null;
  #deadline: number | null = null;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #forceTimer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;
  readonly #listening: ListeningAddress[] = [];
  /** Store writes of transfers that ended (history, routing), awaited before the store closes. */
  readonly #writes = new Set<Promise<unknown>>();
  /** Ended transfers waiting to be recorded (see RECORD_DELAY_MS). */
  readonly #ended: TransferEnd[] = [];
  #recordTimer: NodeJS.Timeout | undefined;
  readonly #drainLog: DrainLog;
  readonly #context: ComponentContext<C>;

  constructor(private readonly options: RuntimeOptions<C>) {
    super();
    this.id = options.component.id;
    this.log = options.log;
    this.transfers = new TransferRegistry(this.id);
    this.#drainLog = new DrainLog(this.log, this.transfers, options.loggingIntervalMs, this.jobs);
    this.#context = {
      id: this.id,
      log: this.log,
      config: options.config,
      dataDir: options.dataDir,
      gate: this.gate,
      transfers: this.transfers,
      jobs: this.jobs,
      sessions: this.sessions,
      store: options.store,
      login: options.login ?? new LoginService(options.store, this.gate, this.log),
      reportListening: (listening) => {
        this.#listening.push(listening);
        this.emit('listening', listening);
      },
    };
    this.transfers.on('end', (end) => this.#onTransferEnd(end));
    this.gate.on('idle', () => this.#checkDrained());
    this.jobs.on('idle', () => this.#checkDrained());
  }

  get state(): LifecycleState {
    return this.#state;
  }

  get context(): ComponentContext<C> {
    return this.#context;
  }

  get listening(): readonly ListeningAddress[] {
    return this.#listening;
  }

  status(): ComponentStatus {
    return {
      id: this.id,
      state: this.#state,
      drainDeadline: this.#deadline === null ? null : new Date(this.#deadline).toISOString(),
      afterDrain: this.#afterDrain,
      transfers: this.transfers.list(),
      jobs: this.jobs.list(),
      sessions: this.sessions.size,
      listening: [...this.#listening],
    };
  }

  async start(): Promise<void> {
    this.#set('starting');
    this.gate.open();
    this.#stopping = undefined;
    this.#listening.length = 0;
    try {
      await this.options.component.start(this.#context);
    } catch (err) {
      if (this.#state === 'starting') this.#set('failed', errorText(err));
      throw err;
    }
    // A stop that arrived while starting has already moved the state on.
    if (this.#state === 'starting') this.#set('running');
  }

  /** Graceful stop: drain until `deadline` (epoch ms; default now + gracefulShutdownTimeout), then stop. */
  gracefulStop(deadline?: number | null): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'failed') return Promise.resolve();
    if (this.#stopping) return this.#stopping;
    // Nothing can be in flight before the component serves: stopping now is graceful enough.
    if (this.#state === 'starting') return this.stopNow();
    this.#drain(deadline === undefined ? Date.now() + this.options.config.gracefulShutdownTimeout : deadline, 'stop');
    return this.#waitFor(['stopped', 'failed']);
  }

  /** Suspend: drain (until `deadline`, or for as long as transfers run), then hold drained. */
  suspend(deadline: number | null = null): Promise<void> {
    if (this.#state !== 'running' && this.#state !== 'draining' && this.#state !== 'drained') {
      assertTransition(this.id, this.#state, 'draining');
    }
    this.#drain(deadline, 'hold');
    return this.#waitFor(['drained', 'running', 'stopped', 'failed']);
  }

  /** Ends a suspension or cancels a graceful stop that has not reached its stop yet. */
  resume(): void {
    if (this.#state === 'running') return;
    assertTransition(this.id, this.#state, 'running');
    this.#clearDeadline();
    this.#drainLog.stop();
    this.#afterDrain = null;
    this.gate.open();
    this.#set('running', 'resumed');
    this.options.component.onResume?.();
  }

  /** Immediate stop: cut every transfer now and close. A no-op when already stopped. */
  stopNow(): Promise<void> {
    if (this.#state === 'stopped') return Promise.resolve();
    this.gate.close('server is stopping', MAX_RETRY_AFTER_SECONDS);
    this.transfers.abortAll('immediate stop');
    this.jobs.abortAll('immediate stop');
    if (this.#stopping) return this.#stopping; // a graceful stop already closing: the abort above escalates it
    return this.#stop('immediate');
  }

  #drain(deadline: number | null, after: AfterDrain): void {
    if (this.#state === 'running') {
      const reason = after === 'stop' ? 'server is shutting down' : 'server is suspended';
      this.#afterDrain = after;
      this.#setDeadline(deadline);
      this.gate.close(reason, this.#retryAfterSeconds());
      this.#set('draining', reason);
      this.options.component.onDrain?.(reason);
      this.sessions.closeIdle(reason, (id) => this.transfers.countForSession(id) > 0);
      this.#drainLog.start();
      this.#checkDrained();
      return;
    }
    if (this.#state !== 'draining' && this.#state !== 'drained') {
      assertTransition(this.id, this.#state, 'draining');
      return;
    }
    // A second request while draining may shorten the deadline or turn a suspension into a stop.
    if (deadline !== null && (this.#deadline === null || deadline < this.#deadline)) this.#setDeadline(deadline);
    if (after === 'stop' && this.#afterDrain !== 'stop') {
      this.#afterDrain = 'stop';
      this.gate.close('server is shutting down', this.#retryAfterSeconds());
    }
    if (this.#state === 'drained' && this.#afterDrain === 'stop') void this.#stop('graceful');
  }

  #setDeadline(deadline: number | null): void {
    this.#clearDeadline();
    this.#deadline = deadline;
    if (deadline === null) return;
    this.#deadlineTimer = setTimeout(() => this.#onDeadline(), Math.max(0, deadline - Date.now()));
  }

  #clearDeadline(): void {
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    if (this.#forceTimer) clearTimeout(this.#forceTimer);
    this.#deadlineTimer = undefined;
    this.#forceTimer = undefined;
    this.#deadline = null;
  }

  #onDeadline(): void {
    if (this.#state !== 'draining') return;
    const left = this.transfers.list();
    const jobs = this.jobs.list();
    this.log.warn(
      { event: 'drain.deadline', transfers: left.map((t) => t.id), jobs: jobs.map((j) => j.jobId) },
      `drain deadline reached: cutting ${left.length} transfer(s)${jobs.length > 0 ? ` and ${jobs.length} job(s)` : ''}`,
    );
    this.transfers.abortAll('drain deadline reached');
    this.jobs.abortAll('drain deadline reached');
    // A daemon that does not end an aborted transfer in time must not hold the drain forever.
    this.#forceTimer = setTimeout(() => this.transfers.forceEndAll('drain deadline reached'), this.options.abortGraceMs ?? 5000);
    this.#forceTimer.unref();
  }

  #retryAfterSeconds(): number {
    if (this.#deadline === null) return MAX_RETRY_AFTER_SECONDS;
    return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil((this.#deadline - Date.now()) / 1000)));
  }

  #onTransferEnd(end: TransferEnd): void {
    this.#ended.push(end);
    if (this.#ended.length >= RECORD_BATCH_MAX) this.#recordEnded();
    else this.#recordTimer ??= setTimeout(() => this.#recordEnded(), RECORD_DELAY_MS);
    const { sessionId } = end.snapshot;
    if (this.#state === 'draining' && sessionId && this.transfers.countForSession(sessionId) === 0) {
      this.sessions.closeOne(sessionId, this.gate.closedReason ?? 'server is shutting down');
    }
    this.#checkDrained();
  }

  /** Records every ended transfer still waiting; also before a state change, so log lines keep their order. */
  #recordEnded(): void {
    clearTimeout(this.#recordTimer);
    this.#recordTimer = undefined;
    for (const end of this.#ended.splice(0)) this.#record(end);
  }

  #record(end: TransferEnd): void {
    const t = end.snapshot;
    this.log.info(
      { event: 'transfer.end', transfer: t, outcome: end.outcome, reason: end.reason },
      `${t.direction} ${t.path} ${end.outcome}${end.reason ? ` (${end.reason})` : ''}: ${t.offset + t.bytes} bytes`,
    );
    this.#track(
      this.options.store.history.record({
        id: t.id,
        component: t.component,
        protocol: t.protocol,
        account: t.account,
        remoteAddress: t.remoteAddress,
        path: t.path,
        direction: t.direction,
        bytes: t.offset + t.bytes,
        size: t.size,
        outcome: end.outcome,
        reason: end.reason,
        startedAt: t.startedAt,
        endedAt: end.endedAt,
      }),
      (err) => this.log.error({ err, transferId: t.id }, 'could not record transfer history'),
    );
    if (this.options.routeUploads && t.direction === 'upload' && end.outcome === 'completed' && end.storedAs) this.#enqueueRouting(t, end.storedAs);
  }

  /** One `route` job per completed upload; the dedupe key makes a repeated enqueue harmless. */
  #enqueueRouting(t: TransferEnd['snapshot'], file: StoredFile): void {
    this.#track(
      this.options.store.jobs.enqueue({
        kind: 'route',
        payload: { file, source: t.component, protocol: t.protocol, transferId: t.id },
        dedupeKey: `route:${t.id}`,
      }),
      (err) => this.log.error({ err, transferId: t.id }, `could not enqueue routing of ${t.path}`),
    );
  }

  #track(write: Promise<unknown>, onError: (err: unknown) => void): void {
    const settled = write.catch(onError).finally(() => this.#writes.delete(settled));
    this.#writes.add(settled);
  }

  /** Resolves once the store writes of every transfer that has ended are done: call before closing the store. */
  async writesSettled(): Promise<void> {
    this.#recordEnded();
    while (this.#writes.size > 0) await Promise.allSettled([...this.#writes]);
  }

  #checkDrained(): void {
    if (this.#state !== 'draining' || this.transfers.size > 0 || this.jobs.size > 0 || this.gate.inFlight > 0) return;
    this.#drainLog.stop();
    const after = this.#afterDrain;
    this.#clearDeadline();
    this.#set('drained');
    if (after === 'stop') void this.#stop('graceful');
  }

  #stop(mode: StopMode): Promise<void> {
    this.#stopping ??= (async () => {
      this.#clearDeadline();
      this.#drainLog.stop();
      this.#set('stopping', mode);
      try {
        await this.options.component.stop(mode);
        if (this.transfers.size > 0 || this.jobs.size > 0) {
          const idle = Promise.all([this.transfers.whenIdle(), this.jobs.whenIdle()]);
          const grace = new Promise<void>((r) => setTimeout(r, this.options.abortGraceMs ?? 5000).unref());
          await Promise.race([idle, grace]);
          this.transfers.forceEndAll(`${mode} stop`);
        }
        this.sessions.closeIdle('server stopped', () => false);
        this.#set('stopped', mode);
      } catch (err) {
        this.log.error({ err }, 'component failed while stopping');
        this.#set('failed', errorText(err));
      }
    })();
    return this.#stopping;
  }

  #set(state: LifecycleState, reason?: string): void {
    const previous = this.#state;
    if (previous === state) return;
    if (!(previous === 'stopped' && state === 'starting')) assertTransition(this.id, previous, state);
    this.#recordEnded();
    this.#state = state;
    this.log.info({ event: 'state', state, previous, reason }, `${this.id}: ${previous} → ${state}${reason ? ` (${reason})` : ''}`);
    this.emit('state', state, previous, reason);
  }

  #waitFor(states: LifecycleState[]): Promise<void> {
    if (states.includes(this.#state)) return Promise.resolve();
    return new Promise((resolve) => {
      const onState = (state: LifecycleState): void => {
        if (!states.includes(state)) return;
        this.off('state', onState);
        resolve();
      };
      this.on('state', onState);
    });
  }
}

function errorText(err: unknown): string {
  if (isFerryError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
