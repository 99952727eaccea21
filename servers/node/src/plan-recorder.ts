import type { Logger, NodePlan, NodePlanComponent, NodePlanMessage, NodePlanStep, ShutdownReportStore } from '@ferry/core';
import type { NodeFeed } from './node-feed.js';
import type { PlanMember } from './plan-member.js';

type MessageType = NodePlanMessage['type'];
type Level = NodePlanMessage['level'];

const now = (): string => new Date().toISOString();

/**
 * The written side of one node plan: its document (steps, components, times), its status messages
 * (log line + event feed), and, for a shutdown, its report in the store, rewritten as the plan goes
 * so that a node killed mid-plan still leaves what it had done.
 */
export class PlanRecorder {
  readonly messages: NodePlanMessage[] = [];
  #saving: Promise<void> = Promise.resolve();
  #dirty = false;
  #inFlight = false;

  constructor(
    readonly plan: NodePlan,
    private readonly feed: NodeFeed,
    private readonly log: Logger,
    /** Only a shutdown leaves a report. */
    private readonly reports: ShutdownReportStore | undefined,
  ) {}

  say(type: MessageType, message: string, where: { step?: string; component?: string; level?: Level } = {}): void {
    const level = where.level ?? 'info';
    const published = this.feed.publish({
      plan: this.plan.id,
      action: this.plan.action,
      type,
      step: where.step ?? null,
      component: where.component ?? null,
      level,
      message,
    });
    this.messages.push(published);
    this.log[level]({ event: 'node.plan', plan: this.plan.id, action: this.plan.action, type, step: published.step, component: published.component }, message);
    this.persist();
  }

  startStep(name: string): NodePlanStep {
    const step: NodePlanStep = { name, startedAt: now(), endedAt: null, components: [] };
    this.plan.steps.push(step);
    return step;
  }

  endStep(step: NodePlanStep): void {
    step.endedAt = now();
  }

  entryFor(step: NodePlanStep, member: PlanMember): NodePlanComponent {
    const entry: NodePlanComponent = {
      id: member.id,
      kind: member.kind,
      skipped: null,
      requestedAt: null,
      drainStartedAt: null,
      drainEndedAt: null,
      finalState: null,
      transfers: { completed: [], cut: [] },
      jobs: member.kind === 'tm' ? { completed: [], released: [] } : null,
    };
    step.components.push(entry);
    return entry;
  }

  /**
   * Fills in what the component's drain did, from the store: transfers that ended in its window and,
   * for tm, jobs finished or released back to the queue. A store failure leaves the lists empty and
   * says so; it never holds up the plan.
   */
  async collectOutcome(entry: NodePlanComponent): Promise<void> {
    if (!this.reports || !entry.requestedAt) return;
    const from = entry.requestedAt;
    const to = now();
    try {
      const transfers = await this.reports.transfersEnded(entry.id, from, to);
      entry.transfers = {
        completed: transfers.filter((t) => t.outcome === 'completed'),
        cut: transfers.filter((t) => t.outcome !== 'completed'),
      };
      if (entry.kind === 'tm') {
        entry.jobs = { completed: await this.reports.jobsFinished(from, to), released: await this.reports.jobsReleased(entry.id, from, to) };
      }
    } catch (err) {
      this.log.warn({ err, component: entry.id }, `could not read what ${entry.id} finished during its drain`);
    }
    this.persist();
  }

  /** Rewrites the report; saves are serialised, and changes made during one are saved right after. */
  persist(): void {
    if (!this.reports) return;
    this.#dirty = true;
    if (this.#inFlight) return;
    this.#inFlight = true;
    this.#saving = (async () => {
      while (this.#dirty) {
        this.#dirty = false;
        await this.reports!.save(this.plan, this.messages).catch((err: unknown) => this.log.warn({ err }, 'could not store the shutdown report'));
      }
      this.#inFlight = false;
    })();
  }

  /** Resolves once every change so far is in the store. */
  async flushed(): Promise<void> {
    while (this.#inFlight) await this.#saving;
  }
}
