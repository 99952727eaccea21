import { EventEmitter } from 'node:events';
import {
  FerryError,
  type ComponentKind,
  type LifecycleState,
  type Logger,
  type NodePlan,
  type NodePlanMessage,
  type PlanRequester,
  type Store,
  type TransferSnapshot,
} from '@ferry/core';
import type { ComponentView, NodeControl, NodeShutdownRequest, NodeSuspendRequest, NodeView, StopRequest } from '@ferry/admin-api';
import { ComponentProcess, type ComponentTimeouts } from './component-process.js';
import { Monitor, type MonitorOptions } from './monitor.js';
import { NodeCoordinator } from './shutdown-plan.js';

export interface ComponentPlan {
  id: string;
  /** Its place in the node plan (DESIGN §3). */
  kind: ComponentKind;
  entry: string;
  args: string[];
  timeouts: ComponentTimeouts;
}

export interface SupervisorOptions {
  components: ComponentPlan[];
  /** The validated node config sent to every child. */
  config: unknown;
  store: Store;
  log: Logger;
  version: string;
  monitor?: MonitorOptions;
}

type NodeState = NodeView['state'];

/**
 * The node supervisor: one ComponentProcess per enabled component, the monitor that restarts
 * crashed ones, and the node-wide stop. Implements NodeControl for the admin API.
 */
export class Supervisor extends EventEmitter<{ stopped: [] }> implements NodeControl {
  readonly #processes = new Map<string, ComponentProcess>();
  readonly monitor: Monitor;
  readonly #startedAt = new Date().toISOString();
  #state: NodeState = 'running';
  readonly #coordinator: NodeCoordinator;

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.monitor = new Monitor(options.monitor);
    for (const plan of options.components) {
      const proc = new ComponentProcess({ ...plan, config: options.config, log: options.log });
      proc.on('state', (state, previous, reason) => this.#onState(proc, state, previous, reason));
      proc.on('exit', (exit) => {
        if (exit.expected || this.#state !== 'running') return;
        const delay = this.monitor.unexpectedExit(proc.id, exit.ranForMs, () => {
          proc.restarts++;
          this.#record(proc.id, 'monitor:restart', { restarts: proc.restarts });
          proc.start().catch((err: unknown) => options.log.error({ err, component: proc.id }, 'restart failed'));
        });
        options.log.warn(
          { component: proc.id, code: exit.code, signal: exit.signal, restartInMs: delay },
          `${proc.id} exited unexpectedly (code ${exit.code}, signal ${exit.signal})${delay === null ? '' : `: restart in ${delay} ms`}`,
        );
      });
      this.#processes.set(plan.id, proc);
    }
    this.#coordinator = new NodeCoordinator({
      members: [...this.#processes.values()],
      monitor: this.monitor,
      log: options.log,
      reports: options.store.shutdownReports,
    });
    this.#coordinator.on('exit', () => {
      this.#state = 'stopping';
      this.emit('stopped');
    });
  }

  /** Starts every component in parallel; a component that fails to start is left to the monitor. */
  async startAll(): Promise<void> {
    await Promise.all(
      [...this.#processes.values()].map((proc) =>
        proc.start().catch((err: unknown) => this.options.log.error({ err, component: proc.id }, `${proc.id} failed to start`)),
      ),
    );
  }

  node(): NodeView {
    return { state: this.#state, startedAt: this.#startedAt, pid: process.pid, version: this.options.version };
  }

  async components(): Promise<ComponentView[]> {
    return Promise.all([...this.#processes.values()].map((proc) => this.#view(proc)));
  }

  async component(id: string): Promise<ComponentView> {
    return this.#view(this.#get(id));
  }

  async start(id: string): Promise<ComponentView> {
    const proc = this.#get(id);
    this.#refuseWhileNodeStops(id);
    this.monitor.cancel(id);
    if (proc.state === 'stopped' || proc.state === 'failed') {
      this.#record(id, 'request:start');
      await proc.start();
    }
    return this.#view(proc);
  }

  async stop(id: string, request: StopRequest): Promise<ComponentView> {
    const proc = this.#get(id);
    if (request.graceful) this.#refuseTmAlone(proc);
    this.monitor.cancel(id);
    this.#record(id, 'request:stop', { graceful: request.graceful, timeoutMs: request.timeoutMs ?? null });
    proc.stop(request);
    return this.#view(proc);
  }

  async suspend(id: string, request: { timeoutMs?: number }): Promise<ComponentView> {
    const proc = this.#get(id);
    this.#record(id, 'request:suspend', { timeoutMs: request.timeoutMs ?? null });
    proc.suspend(request.timeoutMs);
    return this.#view(proc);
  }

  async resume(id: string): Promise<ComponentView> {
    const proc = this.#get(id);
    this.#refuseWhileNodeStops(id);
    this.#record(id, 'request:resume');
    proc.resume();
    return this.#view(proc);
  }

  async transfers(): Promise<TransferSnapshot[]> {
    const statuses = await Promise.all([...this.#processes.values()].map((proc) => proc.status()));
    return statuses.flatMap((status) => status?.transfers ?? []);
  }

  /**
   * Node-wide stop, for a signal: the node plan (graceful), or everything now (immediate). A later
   * request shortens or escalates the running plan. Resolves when the plan has started.
   */
  stopAll(mode: 'graceful' | 'immediate', requestedBy: PlanRequester = { via: 'signal', detail: null }): Promise<NodePlan> {
    return this.shutdownNode({ graceful: mode === 'graceful', requestedBy });
  }

  async shutdownNode(request: NodeShutdownRequest): Promise<NodePlan> {
    this.#state = request.graceful && this.#state !== 'stopping' ? 'draining' : 'stopping';
    return this.#coordinator.shutdown(request);
  }

  async suspendNode(request: NodeSuspendRequest): Promise<NodePlan> {
    return this.#coordinator.suspend(request);
  }

  async resumeNode(request: { requestedBy: PlanRequester }): Promise<NodePlan> {
    return this.#coordinator.resume(request);
  }

  nodePlan(): NodePlan | null {
    return this.#coordinator.current();
  }

  watchNode(listener: (message: NodePlanMessage) => void): { replay: NodePlanMessage[]; close(): void } {
    return this.#coordinator.watch(listener);
  }

  /**
   * Seed 002: stop protocol daemons and intake before the transaction manager, or jobs they hand it
   * would be cut. A graceful stop of a `tm` component alone is refused while any of them may still
   * produce work; the node plan orders them itself and drives the processes directly.
   */
  #refuseTmAlone(proc: ComponentProcess): void {
    if (proc.kind !== 'tm' || !proc.alive) return;
    const blockers = [...this.#processes.values()].filter(
      (other) => other.kind !== 'tm' && (other.alive || this.monitor.restartAt(other.id) !== null),
    );
    if (blockers.length === 0) return;
    const names = blockers.map((b) => `${b.id} (${b.kind}, ${b.state})`).join(', ');
    throw new FerryError(
      'FERRY_ERR_LIFECYCLE_TRANSITION',
      `a graceful stop of ${proc.id} alone is refused while ${names} still run${blockers.length === 1 ? 's' : ''}: ` +
        `stop ${blockers.length === 1 ? 'it' : 'them'} first, or use "ferry node shutdown -g", which stops them in order`,
      {
        details: {
          component: proc.id,
          blockers: blockers.map((b) => ({ id: b.id, kind: b.kind, state: b.state })),
          hint: 'ferry node shutdown -g',
        },
      },
    );
  }

  #get(id: string): ComponentProcess {
    const proc = this.#processes.get(id);
    if (!proc) {
      throw new FerryError('FERRY_ERR_UNKNOWN_COMPONENT', `no component "${id}" on this node`, {
        details: { id, known: [...this.#processes.keys()] },
      });
    }
    return proc;
  }

  #refuseWhileNodeStops(id: string): void {
    if (this.#state === 'running' && !this.#coordinator.shuttingDown) return;
    throw new FerryError('FERRY_ERR_LIFECYCLE_TRANSITION', `the node is shutting down: ${id} cannot be started or resumed`, {
      details: { node: this.#state },
    });
  }

  #view(proc: ComponentProcess): Promise<ComponentView> {
    return proc.view(true, this.monitor.restartAt(proc.id));
  }

  #onState(proc: ComponentProcess, state: LifecycleState, previous: LifecycleState, reason: string | undefined): void {
    this.options.log.info({ event: 'component.state', component: proc.id, state, previous, reason }, `${proc.id}: ${previous} → ${state}`);
    this.#record(proc.id, `state:${state}`, { previous, reason: reason ?? null });
  }

  #record(component: string, event: string, detail: Record<string, unknown> = {}): void {
    this.options.store.events
      .record({ component, event, detail })
      .catch((err: unknown) => this.options.log.warn({ err }, 'could not record lifecycle event'));
  }
}
