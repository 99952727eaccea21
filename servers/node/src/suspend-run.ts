import { formatSeconds, type ComponentKind, type LifecycleState, type NodePlanStep } from '@ferry/core';
import type { PlanMember, PlanMonitor, StateListener } from './plan-member.js';
import type { PlanRecorder } from './plan-recorder.js';
import { waitForState } from './plan-wait.js';
import { SHUTDOWN_ORDER } from './shutdown-run.js';

/** Resume wakes consumers before producers: tm is ready before a daemon or the scheduler hands it work. */
export const RESUME_ORDER: readonly ComponentKind[] = [...SHUTDOWN_ORDER].reverse();

const now = (): string => new Date().toISOString();
/** Read through a call: the state changes while the plan awaits, which narrowing cannot know. */
const stateOf = (member: PlanMember): LifecycleState => member.state;

/**
 * Node suspend (intake → protocol → tm, each step drained before the next; the monitor paused) and
 * node resume (tm → protocol → intake, then the monitor). A later node command supersedes a run
 * through `signal`: it ends where it is and says so.
 */
export class SuspendRun {
  constructor(
    private readonly members: readonly PlanMember[],
    private readonly monitor: PlanMonitor,
    private readonly recorder: PlanRecorder,
    private readonly signal: AbortSignal,
  ) {}

  async run(): Promise<void> {
    const r = this.recorder;
    const plan = r.plan;
    const suspend = plan.action === 'suspend';
    const by = plan.requestedBy;
    r.say('plan:start', `node ${plan.action} requested by ${by.via}${by.detail ? ` (${by.detail})` : ''}`);
    let ok = true;
    if (suspend) {
      const pause = r.startStep('pause-monitor');
      this.monitor.pause();
      r.endStep(pause);
      r.say('step:end', 'monitor paused', { step: pause.name });
    }
    for (const kind of suspend ? SHUTDOWN_ORDER : RESUME_ORDER) {
      if (this.signal.aborted) break;
      const members = this.members.filter((m) => m.kind === kind);
      const step = r.startStep(kind);
      r.say('step:start', `${plan.action} ${kind}: ${members.length === 0 ? 'none on this node' : members.map((m) => m.id).join(', ')}`, { step: kind });
      const results = await Promise.all(members.map((m) => (suspend ? this.#suspendMember(step, m) : this.#resumeMember(step, m))));
      ok &&= results.every(Boolean);
      r.endStep(step);
      r.say('step:end', `${kind}: done`, { step: kind });
    }
    if (!suspend && !this.signal.aborted) {
      const monitor = r.startStep('resume-monitor');
      this.monitor.resume();
      r.endStep(monitor);
      r.say('step:end', 'monitor resumed', { step: monitor.name });
    }
    plan.finishedAt = now();
    if (this.signal.aborted) {
      plan.status = 'failed';
      r.say('plan:end', `node ${plan.action} superseded by a later node command`, { level: 'warn' });
    } else {
      plan.status = ok ? 'done' : 'failed';
      const what = suspend ? 'the node is suspended: new work is refused until "ferry node resume"' : 'the node is resumed';
      r.say('plan:end', ok ? what : `${what}, but not every component followed (see above)`, { level: ok ? 'info' : 'warn' });
    }
  }

  async #suspendMember(step: NodePlanStep, member: PlanMember): Promise<boolean> {
    const r = this.recorder;
    const entry = r.entryFor(step, member);
    const where = { step: step.name, component: member.id };
    if (!member.alive || member.state === 'stopping') {
      entry.skipped = `not running (${member.state})`;
      entry.finalState = member.state;
      r.say('component:skip', `${member.id}: ${entry.skipped}, skipped`, where);
      return true;
    }
    if (member.state === 'drained') {
      entry.skipped = 'already suspended';
      entry.finalState = member.state;
      r.say('component:skip', `${member.id}: already suspended, skipped`, where);
      return true;
    }
    const onState: StateListener = (state, previous) => {
      if (state === 'draining') entry.drainStartedAt ??= now();
      else if (entry.drainStartedAt) entry.drainEndedAt ??= now();
      r.say('component:state', `${member.id}: ${previous} → ${state}`, where);
    };
    member.on('state', onState);
    entry.requestedAt = now();
    const timeoutMs = r.plan.timeoutMs;
    r.say('component:request', `${member.id}: suspend${timeoutMs === null ? '' : `, drain timeout ${formatSeconds(timeoutMs / 1000)}`}`, where);
    try {
      member.suspend(timeoutMs ?? undefined);
    } catch (err) {
      member.off('state', onState);
      entry.skipped = err instanceof Error ? err.message : String(err);
      entry.finalState = member.state;
      r.say('component:skip', `${member.id}: ${entry.skipped}`, { ...where, level: 'warn' });
      return false;
    }
    // Running past the ack timeout means the drain was never acknowledged (ComponentProcess notes it).
    const acked = await waitForState(member, (state) => state !== 'running', member.ackTimeout, this.signal);
    const end =
      acked === 'reached'
        ? await waitForState(member, (state) => state !== 'draining', null, this.signal)
        : acked;
    member.off('state', onState);
    entry.finalState = stateOf(member);
    if (end === 'cancelled') return false;
    if (entry.finalState === 'drained') {
      r.say('component:state', `${member.id}: suspended`, where);
      return true;
    }
    const why = end === 'timeout' ? `did not acknowledge the suspend within ${formatSeconds(member.ackTimeout / 1000)}` : `is ${member.state} instead of suspended`;
    r.say('component:state', `${member.id}: ${why}`, { ...where, level: 'warn' });
    return false;
  }

  async #resumeMember(step: NodePlanStep, member: PlanMember): Promise<boolean> {
    const r = this.recorder;
    const entry = r.entryFor(step, member);
    const where = { step: step.name, component: member.id };
    if (!member.alive || (member.state !== 'draining' && member.state !== 'drained')) {
      entry.skipped = `not suspended (${member.state})`;
      entry.finalState = member.state;
      r.say('component:skip', `${member.id}: ${entry.skipped}, skipped`, where);
      return true;
    }
    entry.requestedAt = now();
    r.say('component:request', `${member.id}: resume`, where);
    try {
      member.resume();
    } catch (err) {
      entry.skipped = err instanceof Error ? err.message : String(err);
      entry.finalState = member.state;
      r.say('component:skip', `${member.id}: ${entry.skipped}`, { ...where, level: 'warn' });
      return false;
    }
    const end = await waitForState(member, (state) => state !== 'draining' && state !== 'drained', member.ackTimeout, this.signal);
    entry.finalState = stateOf(member);
    if (end === 'cancelled') return false;
    const ok = entry.finalState === 'running';
    r.say('component:state', ok ? `${member.id}: running` : `${member.id}: did not resume, it is ${member.state}`, { ...where, level: ok ? 'info' : 'warn' });
    return ok;
  }
}
