import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { FerryError, type Logger, type NodePlan, type NodePlanAction, type NodePlanMessage, type PlanRequester, type ShutdownReportStore } from '@ferry/core';
import type { NodeShutdownRequest, NodeSuspendRequest } from '@ferry/admin-api';
import { NodeFeed } from './node-feed.js';
import type { PlanMember, PlanMonitor } from './plan-member.js';
import { PlanRecorder } from './plan-recorder.js';
import { ShutdownRun } from './shutdown-run.js';
import { SuspendRun } from './suspend-run.js';

export interface CoordinatorOptions {
  members: readonly PlanMember[];
  monitor: PlanMonitor;
  log: Logger;
  /** Where a shutdown leaves its report; none in tests that do not look at reports. */
  reports?: ShutdownReportStore;
}

interface Active {
  plan: NodePlan;
  cancel: AbortController;
  done: Promise<void>;
}

/**
 * The coordinator of DESIGN §3: runs one node-level plan at a time (shutdown, suspend, resume),
 * with its status messages on one feed. A shutdown supersedes a running suspend or resume and is
 * never superseded itself; a second shutdown request only shortens or escalates it. Emits `exit`
 * once a shutdown has finished and its report is stored: the supervisor exits then.
 */
export class NodeCoordinator extends EventEmitter<{ exit: [NodePlan] }> {
  readonly feed = new NodeFeed();
  #active: Active | undefined;
  #last: NodePlan | null = null;
  #shutdown: { run: ShutdownRun; plan: NodePlan } | undefined;

  constructor(private readonly options: CoordinatorOptions) {
    super();
  }

  get shuttingDown(): boolean {
    return this.#shutdown !== undefined;
  }

  /** The running plan, else the last one. */
  current(): NodePlan | null {
    return this.#active?.plan ?? this.#last;
  }

  watch(listener: (message: NodePlanMessage) => void): { replay: NodePlanMessage[]; close(): void } {
    return this.feed.watch(listener);
  }

  shutdown(request: NodeShutdownRequest): NodePlan {
    if (this.#shutdown) {
      if (!request.graceful) this.#shutdown.run.escalate();
      else if (request.timeoutMs !== undefined) this.#shutdown.run.shorten(request.timeoutMs);
      return this.#shutdown.plan;
    }
    this.#supersede();
    const plan = this.#newPlan('shutdown', request.graceful ? 'graceful' : 'immediate', request.timeoutMs, request.requestedBy);
    const recorder = new PlanRecorder(plan, this.feed, this.options.log, this.options.reports);
    const run = new ShutdownRun(this.options.members, this.options.monitor, recorder);
    this.#shutdown = { run, plan };
    this.#start(plan, new AbortController(), () => run.run(), () => this.emit('exit', plan));
    return plan;
  }

  suspend(request: NodeSuspendRequest): NodePlan {
    return this.#suspendOrResume('suspend', request.timeoutMs, request.requestedBy);
  }

  resume(request: { requestedBy: PlanRequester }): NodePlan {
    return this.#suspendOrResume('resume', undefined, request.requestedBy);
  }

  #suspendOrResume(action: 'suspend' | 'resume', timeoutMs: number | undefined, requestedBy: PlanRequester): NodePlan {
    if (this.#shutdown) {
      throw new FerryError('FERRY_ERR_LIFECYCLE_TRANSITION', `the node is shutting down: it cannot be ${action === 'suspend' ? 'suspended' : 'resumed'}`, {
        details: { plan: this.#shutdown.plan.id, action },
      });
    }
    if (this.#active?.plan.action === action) return this.#active.plan;
    this.#supersede();
    const plan = this.#newPlan(action, 'graceful', timeoutMs, requestedBy);
    const cancel = new AbortController();
    const recorder = new PlanRecorder(plan, this.feed, this.options.log, undefined);
    const run = new SuspendRun(this.options.members, this.options.monitor, recorder, cancel.signal);
    this.#start(plan, cancel, () => run.run());
    return plan;
  }

  #newPlan(action: NodePlanAction, mode: NodePlan['mode'], timeoutMs: number | undefined, requestedBy: PlanRequester): NodePlan {
    this.feed.beginPlan();
    return {
      id: randomUUID(),
      action,
      mode,
      timeoutMs: timeoutMs ?? null,
      requestedAt: new Date().toISOString(),
      requestedBy,
      status: 'running',
      finishedAt: null,
      steps: [],
    };
  }

  /** Ends a running suspend or resume where it is (a later node command takes over). */
  #supersede(): void {
    this.#active?.cancel.abort();
  }

  #start(plan: NodePlan, cancel: AbortController, run: () => Promise<void>, after?: () => void): void {
    const done = run()
      .catch((err: unknown) => {
        plan.status = 'failed';
        plan.finishedAt = new Date().toISOString();
        this.options.log.error({ err, plan: plan.id }, `node ${plan.action} plan failed`);
      })
      .finally(() => {
        if (this.#active?.plan === plan) this.#active = undefined;
        this.#last = plan;
        after?.();
      });
    this.#active = { plan, cancel, done };
  }
}
