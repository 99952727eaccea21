import {
  FerryError,
  TransferRegistry,
  assertTransition,
  type LifecycleState,
  type Store,
  type Transfer,
  type TransferInit,
  type TransferSnapshot,
} from '@ferry/core';
import type { ComponentView, NodeControl, NodeView, StopRequest } from '../../src/control.js';

/**
 * An in-memory supervisor for tests: NodeControl with real state changes, checked against core's
 * lifecycle table, and real TransferRegistries, so a drain ends exactly when the last transfer
 * ends and the deadline cuts what is left — as the real one does, without child processes.
 */

interface FakeComponent {
  id: string;
  state: LifecycleState;
  pid: number | null;
  startedAt: string | null;
  restarts: number;
  gracefulShutdownTimeoutMs: number;
  drainDeadline: number | null;
  afterDrain: 'stop' | 'hold' | null;
  transfers: TransferRegistry;
  lastExit: ComponentView['lastExit'];
  note: string | null;
  /** Set by killAtNextStop: the next stop ends with SIGKILL, as after a kill timeout. */
  killNote: string | null;
  deadlineTimer: NodeJS.Timeout | undefined;
}

export interface FakeNodeOptions {
  /** Component ids → default graceful timeout (ms). */
  components: Record<string, number>;
  /** When given, state changes are recorded as lifecycle events, as the supervisor does. */
  store?: Store;
  /** How long `starting` and `stopping` last (ms). */
  stepMs?: number;
}

let nextPid = 40_000;

export class FakeNode implements NodeControl {
  readonly #components = new Map<string, FakeComponent>();
  readonly #startedAt = new Date().toISOString();
  readonly #stepMs: number;
  nodeState: NodeView['state'] = 'running';
  /** Every command, in order, for assertions. */
  readonly calls: string[] = [];

  constructor(private readonly options: FakeNodeOptions) {
    this.#stepMs = options.stepMs ?? 20;
    for (const [id, timeoutMs] of Object.entries(options.components)) {
      const transfers = new TransferRegistry(id);
      const c: FakeComponent = {
        id,
        state: 'running',
        pid: nextPid++,
        startedAt: this.#startedAt,
        restarts: 0,
        gracefulShutdownTimeoutMs: timeoutMs,
        drainDeadline: null,
        afterDrain: null,
        transfers,
        lastExit: null,
        note: null,
        killNote: null,
        deadlineTimer: undefined,
      };
      transfers.on('idle', () => this.#onIdle(c));
      this.#components.set(id, c);
    }
  }

  node(): NodeView {
    return { state: this.nodeState, startedAt: this.#startedAt, pid: process.pid, version: '0.0.0-test' };
  }

  async components(): Promise<ComponentView[]> {
    return [...this.#components.values()].map((c) => this.#view(c));
  }

  async component(id: string): Promise<ComponentView> {
    return this.#view(this.#get(id));
  }

  async start(id: string): Promise<ComponentView> {
    this.calls.push(`start ${id}`);
    const c = this.#get(id);
    if (c.state === 'stopped' || c.state === 'failed') {
      this.#move(c, 'starting');
      c.pid = nextPid++;
      c.note = null;
      setTimeout(() => {
        if (c.state !== 'starting') return;
        c.startedAt = new Date().toISOString();
        this.#move(c, 'running');
      }, this.#stepMs);
    }
    return this.#view(c);
  }

  async stop(id: string, request: StopRequest): Promise<ComponentView> {
    this.calls.push(`stop ${id} ${request.graceful ? 'graceful' : 'immediate'}${request.timeoutMs === undefined ? '' : ` ${request.timeoutMs}ms`}`);
    const c = this.#get(id);
    if (c.state === 'stopped' || c.state === 'stopping') return this.#view(c);
    if (!request.graceful || c.state === 'starting' || c.state === 'failed') {
      this.#stopNow(c, 'immediate stop');
      return this.#view(c);
    }
    const deadline = Date.now() + (request.timeoutMs ?? c.gracefulShutdownTimeoutMs);
    // A second graceful request may only bring the deadline closer.
    this.#drain(c, 'stop', c.drainDeadline === null ? deadline : Math.min(c.drainDeadline, deadline));
    return this.#view(c);
  }

  async suspend(id: string, request: { timeoutMs?: number }): Promise<ComponentView> {
    this.calls.push(`suspend ${id}`);
    const c = this.#get(id);
    if (c.state === 'draining' || c.state === 'drained') return this.#view(c);
    assertTransition(id, c.state, 'draining');
    this.#drain(c, 'hold', Date.now() + (request.timeoutMs ?? c.gracefulShutdownTimeoutMs));
    return this.#view(c);
  }

  async resume(id: string): Promise<ComponentView> {
    this.calls.push(`resume ${id}`);
    const c = this.#get(id);
    assertTransition(id, c.state, 'running');
    this.#clearDrain(c);
    this.#move(c, 'running');
    return this.#view(c);
  }

  async transfers(): Promise<TransferSnapshot[]> {
    return [...this.#components.values()].flatMap((c) => c.transfers.list());
  }

  /** Test hook: a transfer begins on a component, as a daemon would begin one. */
  beginTransfer(id: string, init: Partial<TransferInit> = {}): Transfer {
    return this.#get(id).transfers.begin({
      protocol: 'http',
      account: 'alice',
      remoteAddress: '192.0.2.7',
      path: '/in/report.csv',
      direction: 'upload',
      size: 1_000_000,
      ...init,
    });
  }

  /** Test hook: the component process dies (crash, or SIGKILL by someone else). */
  crash(id: string, exit: { code: number | null; signal: string | null }, note: string | null = null): void {
    const c = this.#get(id);
    this.#clearDrain(c);
    c.transfers.forceEndAll('process exited');
    c.lastExit = { ...exit, at: new Date().toISOString() };
    c.note = note;
    c.pid = null;
    this.#move(c, 'failed');
  }

  /** Test hook: the next stop ends like one where the process ignored SIGTERM and was killed. */
  killAtNextStop(id: string, note: string): void {
    this.#get(id).killNote = note;
  }

  #drain(c: FakeComponent, afterDrain: 'stop' | 'hold', deadline: number): void {
    if (c.state === 'running') this.#move(c, 'draining');
    else if (c.state === 'drained' && afterDrain === 'stop') {
      // A stop while suspended: nothing is in flight, so it goes straight on to stopping.
      c.afterDrain = 'stop';
      this.#stopNow(c, 'stop while drained');
      return;
    }
    c.afterDrain = afterDrain;
    c.drainDeadline = deadline;
    clearTimeout(c.deadlineTimer);
    c.deadlineTimer = setTimeout(() => this.#onDeadline(c), Math.max(0, deadline - Date.now()));
    if (c.transfers.size === 0) queueMicrotask(() => this.#onIdle(c));
  }

  #onIdle(c: FakeComponent): void {
    if (c.state !== 'draining') return;
    this.#move(c, 'drained');
    if (c.afterDrain === 'stop') this.#stopNow(c, 'drained');
    else clearTimeout(c.deadlineTimer);
  }

  #onDeadline(c: FakeComponent): void {
    if (c.state !== 'draining') return;
    c.transfers.abortAll('drain deadline reached');
    c.transfers.forceEndAll('drain deadline reached');
  }

  #stopNow(c: FakeComponent, why: string): void {
    this.#clearDrain(c);
    this.#move(c, 'stopping', why);
    c.transfers.abortAll('stopped');
    setTimeout(() => {
      c.transfers.forceEndAll('stopped');
      if (c.killNote) {
        c.lastExit = { code: null, signal: 'SIGKILL', at: new Date().toISOString() };
        c.note = c.killNote;
        c.killNote = null;
      }
      c.pid = null;
      c.startedAt = null;
      this.#move(c, 'stopped');
    }, this.#stepMs);
  }

  #clearDrain(c: FakeComponent): void {
    clearTimeout(c.deadlineTimer);
    c.deadlineTimer = undefined;
    c.drainDeadline = null;
    c.afterDrain = null;
  }

  #move(c: FakeComponent, to: LifecycleState, reason?: string): void {
    const previous = c.state;
    assertTransition(c.id, previous, to);
    c.state = to;
    // Like the supervisor: an event that cannot be recorded (store closed at test end) is not a state change failure.
    this.options.store?.events.record({ component: c.id, event: `state:${to}`, detail: { previous, reason: reason ?? null } }).catch(() => undefined);
  }

  #get(id: string): FakeComponent {
    const c = this.#components.get(id);
    if (!c) {
      throw new FerryError('FERRY_ERR_UNKNOWN_COMPONENT', `no component "${id}" on this node`, { details: { id, known: [...this.#components.keys()] } });
    }
    return c;
  }

  #view(c: FakeComponent): ComponentView {
    return {
      id: c.id,
      state: c.state,
      enabled: true,
      pid: c.pid,
      startedAt: c.startedAt,
      restarts: c.restarts,
      restartAt: null,
      drainDeadline: c.drainDeadline === null ? null : new Date(c.drainDeadline).toISOString(),
      afterDrain: c.afterDrain,
      transfers: c.transfers.list(),
      jobs: [],
      listening: c.state === 'stopped' ? [] : [{ name: c.id, address: '127.0.0.1', port: 0 }],
      lastExit: c.lastExit,
      note: c.note,
    };
  }
}
