import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import {
  FerryError,
  isComponentMessage,
  type ComponentKind,
  type ComponentMessage,
  type ComponentStatus,
  type LifecycleState,
  type ListeningAddress,
  type Logger,
  type SupervisorMessage,
  type TransferSnapshot,
} from '@ferry/core';
import type { ComponentView, StopRequest } from '@ferry/admin-api';
import type { PlanMember } from './plan-member.js';
import { componentExecArgv } from './v8-flags.js';

export interface ComponentTimeouts {
  /** Default drain timeout of a graceful stop (ms). */
  gracefulShutdownTimeout: number;
  /** How long a child has to acknowledge `draining` before it is stopped the ordinary way (ms). */
  ackTimeout: number;
  /** After SIGTERM (or an immediate stop), how long before SIGKILL (ms). */
  killTimeout: number;
}

export interface ComponentProcessOptions {
  id: string;
  kind: ComponentKind;
  /** The module the child runs. */
  entry: string;
  args: string[];
  /** The node config, already validated; sent to the child as `init`. */
  config: unknown;
  timeouts: ComponentTimeouts;
  log: Logger;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the exit followed a stop request: the monitor must not restart it. */
  expected: boolean;
  ranForMs: number;
}

interface ProcessEvents {
  state: [state: LifecycleState, previous: LifecycleState, reason: string | undefined];
  exit: [ExitInfo];
}

const STATUS_TIMEOUT_MS = 2000;
const START_TIMEOUT_MS = 60_000;

/**
 * The supervisor's side of one component child process: fork, IPC control, ack and kill timers.
 * It is also what the node plan drives (PlanMember).
 */
export class ComponentProcess extends EventEmitter<ProcessEvents> implements PlanMember {
  readonly id: string;
  readonly kind: ComponentKind;
  #child: ChildProcess | undefined;
  #state: LifecycleState = 'stopped';
  #stopRequested = false;
  #startedAt: number | null = null;
  #lastStatus: ComponentStatus | undefined;
  #listening: ListeningAddress[] = [];
  #lastExit: ComponentView['lastExit'] = null;
  #note: string | null = null;
  #ackTimer: NodeJS.Timeout | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  readonly #statusWaiters = new Map<string, (status: ComponentStatus) => void>();
  restarts = 0;

  constructor(private readonly options: ComponentProcessOptions) {
    super();
    this.id = options.id;
    this.kind = options.kind;
  }

  /** A child process runs (starting, running, draining or stopping). */
  get alive(): boolean {
    return this.#child !== undefined;
  }

  get gracefulShutdownTimeout(): number {
    return this.options.timeouts.gracefulShutdownTimeout;
  }

  get ackTimeout(): number {
    return this.options.timeouts.ackTimeout;
  }

  get killTimeout(): number {
    return this.options.timeouts.killTimeout;
  }

  get state(): LifecycleState {
    return this.#state;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  get listening(): readonly ListeningAddress[] {
    return this.#listening;
  }

  /** Forks the child and resolves once it runs (rejects if it fails or exits first). */
  start(): Promise<void> {
    if (this.#child) return this.#waitFor(['running'], ['failed', 'stopped']);
    this.#stopRequested = false;
    this.#note = null;
    this.#listening = [];
    this.#lastStatus = undefined;
    const child = fork(this.options.entry, this.options.args, {
      execArgv: componentExecArgv(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.#child = child;
    this.#startedAt = Date.now();
    this.#setState('starting');
    child.on('message', (message: unknown) => this.#onMessage(message));
    child.on('exit', (code, signal) => this.#onExit(child, code, signal));
    child.on('error', (err) => this.options.log.error({ err, component: this.id }, 'child process error'));
    this.#send({ type: 'init', config: this.options.config });
    const started = this.#waitFor(['running'], ['failed', 'stopped']);
    const timeout = setTimeout(() => {
      if (this.#state === 'starting') {
        this.#note = `did not start within ${START_TIMEOUT_MS / 1000}s`;
        this.#ordinaryStop();
      }
    }, START_TIMEOUT_MS);
    return started.finally(() => clearTimeout(timeout));
  }

  /** Graceful (drain then stop) or immediate. A stop while stopped is a no-op. */
  stop(request: StopRequest): void {
    if (!this.#child) return;
    this.#stopRequested = true;
    if (!request.graceful) {
      this.#send({ type: 'stop', mode: 'immediate', deadline: null });
      this.#armKill();
      return;
    }
    const timeout = request.timeoutMs ?? this.options.timeouts.gracefulShutdownTimeout;
    this.#send({ type: 'stop', mode: 'graceful', deadline: Date.now() + timeout });
    this.#armAck('stop');
  }

  suspend(timeoutMs?: number): void {
    if (!this.#child) throw new FerryError('FERRY_ERR_LIFECYCLE_TRANSITION', `${this.id} is not running`, { details: { state: this.#state } });
    this.#send({ type: 'drain', deadline: timeoutMs === undefined ? null : Date.now() + timeoutMs });
    this.#armAck('suspend');
  }

  resume(): void {
    if (!this.#child) throw new FerryError('FERRY_ERR_LIFECYCLE_TRANSITION', `${this.id} is not running`, { details: { state: this.#state } });
    if (this.#state === 'stopping') {
      throw new FerryError('FERRY_ERR_LIFECYCLE_TRANSITION', `${this.id} is already stopping`, { details: { state: this.#state } });
    }
    this.#stopRequested = false;
    this.#clearAck();
    this.#send({ type: 'resume' });
  }

  /** Asks the child for its transfers; falls back to the last answer if it does not reply in time. */
  async status(): Promise<ComponentStatus | undefined> {
    if (!this.#child || !this.#child.connected) return undefined;
    const requestId = randomUUID();
    const answer = new Promise<ComponentStatus | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.#statusWaiters.delete(requestId);
        resolve(this.#lastStatus);
      }, STATUS_TIMEOUT_MS);
      this.#statusWaiters.set(requestId, (status) => {
        clearTimeout(timer);
        resolve(status);
      });
    });
    this.#send({ type: 'status', requestId });
    return answer;
  }

  async view(enabled: boolean, restartAt: number | null): Promise<ComponentView> {
    const status = await this.status();
    const transfers: TransferSnapshot[] = this.#child ? (status?.transfers ?? []) : [];
    return {
      id: this.id,
      state: this.#state,
      enabled,
      pid: this.pid,
      startedAt: this.#child && this.#startedAt ? new Date(this.#startedAt).toISOString() : null,
      restarts: this.restarts,
      restartAt: restartAt === null ? null : new Date(restartAt).toISOString(),
      drainDeadline: this.#child ? (status?.drainDeadline ?? null) : null,
      afterDrain: this.#child ? (status?.afterDrain ?? null) : null,
      transfers,
      jobs: this.#child ? (status?.jobs ?? []) : [],
      listening: [...this.#listening],
      lastExit: this.#lastExit,
      note: this.#note,
    };
  }

  /** Resolves once the child has exited (at once if none runs). */
  whenExited(): Promise<void> {
    if (!this.#child) return Promise.resolve();
    return new Promise((resolve) => this.once('exit', () => resolve()));
  }

  #onMessage(message: unknown): void {
    if (!isComponentMessage(message)) return;
    this.#handle(message);
  }

  #handle(message: ComponentMessage): void {
    switch (message.type) {
      case 'state':
        if (message.state === 'draining' || message.state === 'drained' || message.state === 'stopping' || message.state === 'stopped') {
          this.#clearAck();
        }
        if (message.state === 'stopping' || message.state === 'stopped') this.#stopRequested = true;
        this.#setState(message.state, message.reason);
        return;
      case 'listening':
        this.#listening.push(message.listening);
        return;
      case 'status': {
        this.#lastStatus = message.status;
        const waiter = this.#statusWaiters.get(message.requestId);
        this.#statusWaiters.delete(message.requestId);
        waiter?.(message.status);
        return;
      }
    }
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    this.#clearAck();
    if (this.#killTimer) clearTimeout(this.#killTimer);
    this.#killTimer = undefined;
    const expected = this.#stopRequested;
    const ranForMs = this.#startedAt === null ? 0 : Date.now() - this.#startedAt;
    // A stop that ended by SIGTERM is the ordinary stop it asked for; anything else is worth showing.
    const clean = code === 0 || (code === null && signal === 'SIGTERM');
    if (!expected || !clean) this.#lastExit = { code, signal, at: new Date().toISOString() };
    this.#setState(expected && (clean || signal === 'SIGKILL') ? 'stopped' : 'failed', `exit code ${code} signal ${signal}`);
    this.emit('exit', { code, signal, expected, ranForMs });
  }

  /** LCA-style: a drain not acknowledged within ackTimeout falls back to an ordinary stop. */
  #armAck(kind: 'stop' | 'suspend'): void {
    this.#clearAck();
    const { ackTimeout } = this.options.timeouts;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = undefined;
      if (this.#state !== 'running' && this.#state !== 'starting') return;
      if (kind === 'suspend') {
        this.#note = `did not acknowledge suspend within ${ackTimeout / 1000}s: still running`;
        this.options.log.warn({ component: this.id }, this.#note);
        return;
      }
      this.#note = `no drain acknowledgement within ${ackTimeout / 1000}s: stopped the ordinary way`;
      this.options.log.warn({ component: this.id }, this.#note);
      this.#ordinaryStop();
    }, ackTimeout);
  }

  #clearAck(): void {
    if (this.#ackTimer) clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  /** SIGTERM, then SIGKILL after killTimeout. */
  #ordinaryStop(): void {
    this.#stopRequested = true;
    this.#child?.kill('SIGTERM');
    this.#armKill();
  }

  #armKill(): void {
    if (this.#killTimer) return;
    this.#killTimer = setTimeout(() => {
      this.#killTimer = undefined;
      if (!this.#child) return;
      this.#note = `did not exit within ${this.options.timeouts.killTimeout / 1000}s: killed`;
      this.options.log.warn({ component: this.id }, this.#note);
      this.#child.kill('SIGKILL');
    }, this.options.timeouts.killTimeout);
  }

  #send(message: SupervisorMessage): void {
    const child = this.#child;
    if (!child || !child.connected) return;
    child.send(message, (err) => {
      if (err) this.options.log.warn({ err, component: this.id, message: message.type }, 'control message not delivered');
    });
  }

  #setState(state: LifecycleState, reason?: string): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.emit('state', state, previous, reason);
  }

  #waitFor(ok: LifecycleState[], bad: LifecycleState[]): Promise<void> {
    if (ok.includes(this.#state)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onState = (state: LifecycleState, _previous: LifecycleState, reason: string | undefined): void => {
        if (ok.includes(state)) {
          this.off('state', onState);
          resolve();
        } else if (bad.includes(state)) {
          this.off('state', onState);
          reject(new FerryError('FERRY_ERR_START_FAILED', `${this.id} did not start: ${reason ?? state}`, { details: { state } }));
        }
      };
      this.on('state', onState);
    });
  }
}
