import type { Generated, Kysely, Selectable } from 'kysely';
import { badRequest, checkInstant, checkLimit, checkText } from './checks.js';
import { storeCall } from './guard.js';
import { toNumber, type Database } from './schema.js';

/**
 * Node-level plans (graceful shutdown, suspend, resume of the whole node, DESIGN §3) and the report
 * a shutdown leaves in the store (migration 0006_shutdown_reports). The supervisor rewrites the
 * report at every step so that a node killed mid-plan still leaves a partial one.
 */

/** What a component does for the node plan: intake only enqueues jobs, tm runs them. */
export type ComponentKind = 'protocol' | 'intake' | 'tm';
export const COMPONENT_KINDS: readonly ComponentKind[] = ['protocol', 'intake', 'tm'];

export type NodePlanAction = 'shutdown' | 'suspend' | 'resume';

/** Who asked: a signal to the node (detail SIGTERM/SIGINT), the admin API, or the CLI (detail: the token label). */
export interface PlanRequester {
  via: 'signal' | 'api' | 'cli';
  detail: string | null;
}

/** A transfer that ended while its component drained (from the transfer history). */
export interface DrainedTransfer {
  id: string;
  path: string;
  account: string | null;
  outcome: 'completed' | 'interrupted' | 'failed';
  endedAt: string;
}

/** A job the tm finished, or released back to the queue, while it drained. */
export interface DrainedJob {
  id: number;
  kind: string;
  /** done/failed for a finished job; `released` for one put back in the queue. */
  outcome: string;
  at: string;
}

export interface NodePlanComponent {
  id: string;
  kind: ComponentKind;
  /** Why the plan left it alone (already stopped…), else null. */
  skipped: string | null;
  /** When the plan sent its stop/drain/resume. */
  requestedAt: string | null;
  drainStartedAt: string | null;
  drainEndedAt: string | null;
  /** Its state when the step ended. */
  finalState: string | null;
  transfers: { completed: DrainedTransfer[]; cut: DrainedTransfer[] };
  /** Only for a `tm` component. */
  jobs: { completed: DrainedJob[]; released: DrainedJob[] } | null;
}

export interface NodePlanStep {
  /** pause-monitor, intake, protocol, tm, resume-monitor, exit. */
  name: string;
  startedAt: string | null;
  endedAt: string | null;
  components: NodePlanComponent[];
}

export interface NodePlan {
  /** A UUID, also the key of its report. */
  id: string;
  action: NodePlanAction;
  mode: 'graceful' | 'immediate';
  /** The request's drain timeout (ms); null: each component's own gracefulShutdownTimeout. */
  timeoutMs: number | null;
  requestedAt: string;
  requestedBy: PlanRequester;
  status: 'running' | 'done' | 'failed';
  finishedAt: string | null;
  steps: NodePlanStep[];
}

/** One status message of a plan: a log line, an event of the API stream, a CLI progress line. */
export interface NodePlanMessage {
  /** Increases over the node's life, across plans (the SSE event id). */
  seq: number;
  at: string;
  plan: string;
  action: NodePlanAction;
  type: 'plan:start' | 'plan:escalate' | 'step:start' | 'step:end' | 'component:skip' | 'component:request' | 'component:state' | 'plan:end';
  step: string | null;
  component: string | null;
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface ShutdownReport {
  id: number;
  updatedAt: string;
  plan: NodePlan;
  messages: NodePlanMessage[];
}

export interface ShutdownReportStore {
  /** Stores a new report or rewrites the one of the same plan; returns its id. */
  save(plan: NodePlan, messages: readonly NodePlanMessage[]): Promise<number>;
  get(id: number): Promise<ShutdownReport | undefined>;
  /** Newest first; 1–10000, default 100. */
  list(limit?: number): Promise<ShutdownReport[]>;
  /** Transfers of `component` that ended in [from, to], oldest first. */
  transfersEnded(component: string, from: string, to: string): Promise<DrainedTransfer[]>;
  /** Jobs that finished (done or failed) in [from, to], oldest first. */
  jobsFinished(from: string, to: string): Promise<DrainedJob[]>;
  /** Jobs `component` released back to the queue in [from, to] (its `job:released` events), oldest first. */
  jobsReleased(component: string, from: string, to: string): Promise<DrainedJob[]>;
}

type ShutdownReportTable = {
  id: Generated<number>;
  plan_id: string;
  mode: string;
  status: string;
  requested_at: string;
  finished_at: string | null;
  body: string;
  updated_at: string;
};

/** The columns of the tm's queue (migration 0003_jobs) this store reads. */
type JobWindowTable = { id: number | string; kind: string; status: string; finished_at: string | null };

type Tables = Database & { shutdown_reports: ShutdownReportTable; jobs: JobWindowTable };

/** A report body larger than this is refused rather than stored half (a plan has a few dozen messages). */
const MAX_BODY = 4 * 1024 * 1024;
/** A window holds at most this many transfers or jobs in a report; more are left out, not guessed. */
const WINDOW_LIMIT = 10_000;

export function shutdownReportStore(base: Kysely<Database>): ShutdownReportStore {
  const db = base.withTables<{ shutdown_reports: ShutdownReportTable; jobs: JobWindowTable }>() as unknown as Kysely<Tables>;

  return {
    save: (plan, messages) =>
      storeCall('save shutdown report', async () => {
        const body = JSON.stringify({ plan, messages });
        if (body.length > MAX_BODY) throw badRequest(`a shutdown report may not exceed ${MAX_BODY} bytes`, { field: 'body' });
        const row = {
          plan_id: checkText('plan.id', plan.id, 64),
          mode: plan.mode,
          status: plan.status,
          requested_at: checkInstant('requestedAt', plan.requestedAt),
          finished_at: plan.finishedAt,
          body,
          updated_at: new Date().toISOString(),
        };
        const saved = await db
          .insertInto('shutdown_reports')
          .values(row)
          .onConflict((oc) => oc.column('plan_id').doUpdateSet({ status: row.status, finished_at: row.finished_at, body: row.body, updated_at: row.updated_at }))
          .returning('id')
          .executeTakeFirstOrThrow();
        return toNumber(saved.id);
      }),

    get: (id) =>
      storeCall('get shutdown report', async () => {
        const row = await db.selectFrom('shutdown_reports').selectAll().where('id', '=', id).executeTakeFirst();
        return row ? toReport(row) : undefined;
      }),

    list: (limit) =>
      storeCall('list shutdown reports', async () => {
        const rows = await db.selectFrom('shutdown_reports').selectAll().orderBy('requested_at', 'desc').orderBy('id', 'desc').limit(checkLimit(limit)).execute();
        return rows.map(toReport);
      }),

    transfersEnded: (component, from, to) =>
      storeCall('read transfers of a drain', async () => {
        const rows = await db
          .selectFrom('transfer_history')
          .select(['transfer_id', 'path', 'account', 'outcome', 'ended_at'])
          .where('component', '=', component)
          .where('ended_at', '>=', checkInstant('from', from))
          .where('ended_at', '<=', checkInstant('to', to))
          .orderBy('ended_at')
          .orderBy('seq')
          .limit(WINDOW_LIMIT)
          .execute();
        return rows.map((row) => ({
          id: row.transfer_id,
          path: row.path,
          account: row.account,
          outcome: row.outcome as DrainedTransfer['outcome'],
          endedAt: row.ended_at,
        }));
      }),

    jobsFinished: (from, to) =>
      storeCall('read jobs of a drain', async () => {
        const rows = await db
          .selectFrom('jobs')
          .select(['id', 'kind', 'status', 'finished_at'])
          .where('finished_at', '>=', checkInstant('from', from))
          .where('finished_at', '<=', checkInstant('to', to))
          .orderBy('finished_at')
          .orderBy('id')
          .limit(WINDOW_LIMIT)
          .execute();
        return rows.map((row) => ({ id: toNumber(row.id), kind: row.kind, outcome: row.status, at: row.finished_at ?? to }));
      }),

    jobsReleased: (component, from, to) =>
      storeCall('read released jobs of a drain', async () => {
        const rows = await db
          .selectFrom('lifecycle_events')
          .select(['detail', 'at'])
          .where('component', '=', component)
          .where('event', '=', 'job:released')
          .where('at', '>=', checkInstant('from', from))
          .where('at', '<=', checkInstant('to', to))
          .orderBy('at')
          .orderBy('id')
          .limit(WINDOW_LIMIT)
          .execute();
        return rows.map((row) => {
          const detail = JSON.parse(row.detail) as { jobId?: unknown; kind?: unknown };
          return { id: Number(detail.jobId), kind: typeof detail.kind === 'string' ? detail.kind : 'unknown', outcome: 'released', at: row.at };
        });
      }),
  };
}

function toReport(row: Selectable<ShutdownReportTable>): ShutdownReport {
  const body = JSON.parse(row.body) as { plan: NodePlan; messages: NodePlanMessage[] };
  return { id: toNumber(row.id), updatedAt: row.updated_at, plan: body.plan, messages: body.messages };
}
