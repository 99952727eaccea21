import { formatSeconds, type ComponentKind, type NodePlanComponent, type NodePlanStep } from '@ferry/core';
import type { PlanMember, PlanMonitor, StateListener } from './plan-member.js';
import type { PlanRecorder } from './plan-recorder.js';
import { timerMs } from './plan-wait.js';

/** The graceful order of DESIGN §3: producers of work first, its consumer (tm) last. */
export const SHUTDOWN_ORDER: readonly ComponentKind[] = ['intake', 'protocol', 'tm'];

const STEP_WHAT: Readonly<Record<string, string>> = {
  intake: 'stop the intake components (folder monitor, scheduler): no new jobs',
  protocol: 'stop every protocol daemon gracefully, in parallel, each with its own timeout',
  tm: 'stop the transaction manager gracefully: running jobs finish or go back to the queue',
  immediate: 'stop every component now, in parallel',
};

const now = (): string => new Date().toISOString();
const seconds = (ms: number): string => formatSeconds(Math.round(ms / 100) / 10);

interface Draining {
  member: PlanMember;
  /** Epoch ms of the deadline the plan last sent. */
  deadlineAt: number;
  overdue: NodeJS.Timeout | undefined;
}

/**
 * One node-level shutdown: pause monitor → intake → protocol (parallel) → tm → exit. Each step
 * starts when every component of the one before has stopped or failed. A second request may
 * shorten the timeout (`shorten`) or escalate to immediate (`escalate`): every component still up
 * is then stopped now, and the steps left find them stopped.
 */
export class ShutdownRun {
  readonly #draining = new Map<string, Draining>();

  constructor(
    private readonly members: readonly PlanMember[],
    private readonly monitor: PlanMonitor,
    private readonly recorder: PlanRecorder,
  ) {}

  get #plan() {
    return this.recorder.plan;
  }

  async run(): Promise<void> {
    const r = this.recorder;
    const how = this.#plan.mode === 'graceful' ? `graceful, timeout ${this.#plan.timeoutMs === null ? "each component's gracefulShutdownTimeout" : seconds(this.#plan.timeoutMs)}` : 'immediate';
    const by = this.#plan.requestedBy;
    r.say('plan:start', `node shutdown (${how}) requested by ${by.via}${by.detail ? ` (${by.detail})` : ''}`);

    const pause = r.startStep('pause-monitor');
    r.say('step:start', 'pause the monitor: nothing is restarted from now on', { step: pause.name });
    this.monitor.pause();
    r.endStep(pause);
    r.say('step:end', 'monitor paused', { step: pause.name });

    if (this.#plan.mode === 'immediate') await this.#step('immediate', this.members);
    else for (const kind of SHUTDOWN_ORDER) await this.#step(kind, this.members.filter((m) => m.kind === kind));

    const exit = r.startStep('exit');
    const failed = this.#plan.steps.flatMap((s) => s.components).filter((c) => c.finalState === 'failed');
    this.#plan.status = 'done';
    this.#plan.finishedAt = now();
    r.endStep(exit);
    r.say(
      'plan:end',
      failed.length === 0 ? 'every component stopped: the node exits' : `the node exits; ${failed.map((c) => c.id).join(', ')} ended failed`,
      { step: exit.name, level: failed.length === 0 ? 'info' : 'warn' },
    );
    await r.flushed();
  }

  /** A second request: immediate from now on, for every component still up. */
  escalate(): void {
    if (this.#plan.mode === 'immediate') return;
    this.#plan.mode = 'immediate';
    this.recorder.say('plan:escalate', 'escalated to an immediate shutdown: every component still up is stopped now', { level: 'warn' });
    for (const d of this.#draining.values()) clearTimeout(d.overdue);
    this.#draining.clear();
    for (const member of this.members) if (member.alive) member.stop({ graceful: false });
  }

  /** A second graceful request with a shorter timeout: closer deadlines now, and for the steps to come. */
  shorten(timeoutMs: number): void {
    if (this.#plan.mode === 'immediate' || (this.#plan.timeoutMs !== null && this.#plan.timeoutMs <= timeoutMs)) return;
    this.#plan.timeoutMs = timeoutMs;
    this.recorder.say('plan:escalate', `drain timeout shortened to ${seconds(timeoutMs)}`);
    const deadlineAt = Date.now() + timeoutMs;
    for (const d of this.#draining.values()) {
      if (deadlineAt >= d.deadlineAt) continue;
      this.#sendGraceful(d.member, timeoutMs);
    }
  }

  async #step(name: string, members: readonly PlanMember[]): Promise<void> {
    const r = this.recorder;
    const step = r.startStep(name);
    r.say('step:start', `${STEP_WHAT[name] ?? name}: ${members.length === 0 ? 'none on this node' : members.map((m) => m.id).join(', ')}`, { step: name });
    await Promise.all(members.map((member) => this.#stopMember(step, member)));
    r.endStep(step);
    r.say('step:end', `${name}: done`, { step: name });
  }

  async #stopMember(step: NodePlanStep, member: PlanMember): Promise<void> {
    const r = this.recorder;
    const entry = r.entryFor(step, member);
    const where = { step: step.name, component: member.id };
    if (!member.alive) {
      entry.skipped = `already ${member.state}`;
      entry.finalState = member.state;
      r.say('component:skip', `${member.id}: already ${member.state}, skipped`, where);
      return;
    }
    const onState: StateListener = (state, previous) => {
      const at = now();
      if (state === 'draining') entry.drainStartedAt ??= at;
      else if (entry.drainStartedAt && state !== 'running' && state !== 'starting') entry.drainEndedAt ??= at;
      r.say('component:state', `${member.id}: ${previous} → ${state}`, where);
    };
    member.on('state', onState);
    const exited = member.whenExited();
    entry.requestedAt = now();
    // A suspended component is drained already: its drain began before this plan.
    if (member.state === 'draining' || member.state === 'drained') entry.drainStartedAt = entry.requestedAt;
    if (member.state === 'drained') entry.drainEndedAt = entry.requestedAt;
    if (this.#plan.mode === 'immediate') {
      r.say('component:request', `${member.id}: immediate stop`, where);
      member.stop({ graceful: false });
    } else {
      const timeoutMs = this.#plan.timeoutMs ?? member.gracefulShutdownTimeout;
      r.say('component:request', `${member.id}: graceful stop, drain timeout ${seconds(timeoutMs)}`, where);
      this.#sendGraceful(member, timeoutMs);
    }
    await exited;
    member.off('state', onState);
    clearTimeout(this.#draining.get(member.id)?.overdue);
    this.#draining.delete(member.id);
    entry.finalState = member.state;
    entry.drainEndedAt ??= entry.drainStartedAt ? now() : null;
    await r.collectOutcome(entry);
    r.say('component:state', `${member.id}: ${member.state}${summary(entry)}`, { ...where, level: member.state === 'failed' ? 'warn' : 'info' });
  }

  /**
   * Sends the graceful stop, and arms the plan's own guard: a component still up well past its
   * deadline (a hung child) is stopped immediately, so that one component cannot hold the node.
   */
  #sendGraceful(member: PlanMember, timeoutMs: number): void {
    const previous = this.#draining.get(member.id);
    clearTimeout(previous?.overdue);
    member.stop({ graceful: true, timeoutMs });
    const overdue = setTimeout(() => {
      if (!member.alive) return;
      this.recorder.say('component:request', `${member.id}: still up ${seconds(member.killTimeout)} after its deadline: immediate stop`, {
        component: member.id,
        level: 'warn',
      });
      member.stop({ graceful: false });
    }, timerMs(timeoutMs + member.killTimeout));
    overdue.unref();
    this.#draining.set(member.id, { member, deadlineAt: Date.now() + timeoutMs, overdue });
  }
}

function summary(entry: NodePlanComponent): string {
  const parts: string[] = [];
  if (entry.drainStartedAt && entry.drainEndedAt) parts.push(`drained in ${seconds(Date.parse(entry.drainEndedAt) - Date.parse(entry.drainStartedAt))}`);
  const { completed, cut } = entry.transfers;
  if (completed.length + cut.length > 0) parts.push(`${completed.length} transfer(s) completed, ${cut.length} cut`);
  if (entry.jobs && entry.jobs.completed.length + entry.jobs.released.length > 0) {
    parts.push(`${entry.jobs.completed.length} job(s) finished, ${entry.jobs.released.length} back in the queue`);
  }
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}
