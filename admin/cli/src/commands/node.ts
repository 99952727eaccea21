import { formatSeconds, isFerryError } from '@ferry/core';
import { request } from 'undici';
import { UsageError } from '../args.js';
import { EXIT, println } from '../io.js';
import type { NodePlan, NodePlanComponent, NodePlanMessage, ShutdownReport } from '../wire.js';
import type { CommandContext } from './context.js';

/**
 * `ferry node shutdown|suspend|resume|report`: the node as a whole (DESIGN §3). The commands start a
 * node plan and follow its status messages on the node's event stream (SSE), one line each.
 */

const WATCH_HINT = '(Ctrl-C stops watching; the node carries on)';
/** How long the CLI waits for the node process to go away once its shutdown plan has ended. */
const EXIT_WAIT_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `node shutdown [-g [-timeout N]]`: exits 0 once the node is down. Without -g: immediate. */
export async function nodeShutdown(ctx: CommandContext): Promise<number> {
  const { args, client, io } = ctx;
  if (args.given.has('timeout') && !args.graceful) throw new UsageError('-timeout applies to a graceful shutdown: add -g (node shutdown -g -timeout N)');
  const body = { graceful: args.graceful, via: 'cli', ...(args.graceful && args.timeout !== undefined ? { timeoutSeconds: args.timeout } : {}) };
  const plan = await client.post<NodePlan>('/api/v1/node/shutdown', body);
  const how = args.graceful ? `graceful, timeout ${args.timeout === undefined ? "each component's gracefulShutdownTimeout" : formatSeconds(args.timeout)}` : 'immediate';
  println(io.stdout, `node shutdown (${how}) under way ${WATCH_HINT}`);
  const end = await followPlan(ctx, plan.id);
  if (end && end.level !== 'info') println(io.stderr, end.message);
  // The node exits right after its plan; "down" is when its admin API stops answering.
  const until = Date.now() + EXIT_WAIT_MS;
  for (;;) {
    try {
      await client.get('/api/v1/node');
    } catch (err) {
      if (!isFerryError(err, 'FERRY_ERR_NODE_UNREACHABLE')) throw err;
      println(io.stdout, 'the node is down');
      return EXIT.ok;
    }
    if (Date.now() > until) {
      println(io.stderr, `the node still answers ${EXIT_WAIT_MS / 1000}s after its shutdown plan ${end ? 'ended' : 'was started'}`);
      return EXIT.failed;
    }
    await sleep(Math.min(ctx.pollIntervalMs, 200));
  }
}

/** `node suspend [-timeout N]`: exits 0 once every component is suspended. */
export async function nodeSuspend(ctx: CommandContext): Promise<number> {
  const body = { via: 'cli', ...(ctx.args.timeout === undefined ? {} : { timeoutSeconds: ctx.args.timeout }) };
  return runPlan(ctx, 'suspend', body);
}

/** `node resume`: exits 0 once every suspended component runs again. */
export async function nodeResume(ctx: CommandContext): Promise<number> {
  return runPlan(ctx, 'resume', { via: 'cli' });
}

async function runPlan(ctx: CommandContext, action: 'suspend' | 'resume', body: Record<string, unknown>): Promise<number> {
  const plan = await ctx.client.post<NodePlan>(`/api/v1/node/${action}`, body);
  println(ctx.io.stdout, `node ${action} under way ${WATCH_HINT}`);
  const end = await followPlan(ctx, plan.id);
  if (!end) {
    println(ctx.io.stderr, `lost the node's event stream before the ${action} ended`);
    return EXIT.failed;
  }
  if (end.level !== 'info') {
    println(ctx.io.stderr, end.message);
    return EXIT.failed;
  }
  return EXIT.ok;
}

/**
 * Prints every message of plan `planId` from the node's event stream (the node replays what the
 * plan already said) until its `plan:end`, which it returns; undefined when the stream ends first
 * (the node went away).
 */
async function followPlan(ctx: CommandContext, planId: string): Promise<NodePlanMessage | undefined> {
  const { location } = ctx.client;
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(`${location.adminUrl}/api/v1/node/events`, {
      headers: { accept: 'text/event-stream', ...(location.token ? { authorization: `Bearer ${location.token}` } : {}) },
      headersTimeout: 15_000,
      // A plan may wait for a day-long drain; the node sends a heartbeat, and the stream has no end before the plan's.
      bodyTimeout: 0,
    });
  } catch {
    return undefined;
  }
  if (response.statusCode !== 200) {
    await response.body.text().catch(() => '');
    throw new UsageError(`the node refused its event stream (HTTP ${response.statusCode})`);
  }
  let buffered = '';
  try {
    for await (const chunk of response.body) {
      buffered += (chunk as Buffer).toString('utf8');
      let cut: number;
      while ((cut = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, cut);
        buffered = buffered.slice(cut + 2);
        const message = parseEvent(block);
        if (!message || message.plan !== planId) continue;
        println(message.level === 'info' ? ctx.io.stdout : ctx.io.stderr, `[${message.step ?? message.action}] ${message.message}`);
        if (message.type === 'plan:end') {
          response.body.destroy();
          return message;
        }
      }
    }
  } catch {
    // The node closed the connection as it exited: the caller checks what that means.
  }
  return undefined;
}

function parseEvent(block: string): NodePlanMessage | undefined {
  const data = block
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trimStart())
    .join('\n');
  if (!data) return undefined;
  try {
    return JSON.parse(data) as NodePlanMessage;
  } catch {
    return undefined;
  }
}

/** `node report [ID] [--json]`: the latest shutdown report by default. */
export async function nodeReport(ctx: CommandContext, id?: string): Promise<number> {
  const { client, io, args } = ctx;
  if (id !== undefined && !/^[1-9]\d*$/.test(id)) throw new UsageError(`node report: "${id}" is not a report id (a positive integer)`);
  let report: ShutdownReport | undefined;
  if (id === undefined) [report] = await client.get<ShutdownReport[]>('/api/v1/node/shutdown-reports?limit=1');
  else report = await client.get<ShutdownReport>(`/api/v1/node/shutdown-reports/${id}`);
  if (!report) {
    println(io.stderr, 'no shutdown report yet: the node has not been shut down with this store');
    return EXIT.failed;
  }
  if (args.json) {
    println(io.stdout, JSON.stringify(report, null, 2));
    return EXIT.ok;
  }
  for (const line of renderReport(report)) println(io.stdout, line);
  return EXIT.ok;
}

const time = (iso: string | null): string => (iso ? iso.replace('T', ' ').replace('Z', '') : '-');

export function renderReport(report: ShutdownReport): string[] {
  const { plan } = report;
  const by = `${plan.requestedBy.via}${plan.requestedBy.detail ? ` (${plan.requestedBy.detail})` : ''}`;
  const timeout = plan.timeoutMs === null ? "each component's own timeout" : `timeout ${formatSeconds(plan.timeoutMs / 1000)}`;
  const lines = [
    `shutdown report ${report.id}: ${plan.mode}, ${timeout}, requested ${time(plan.requestedAt)} by ${by}`,
    `status ${plan.status}${plan.finishedAt ? `, finished ${time(plan.finishedAt)}` : ' (the node did not finish its plan)'}`,
  ];
  for (const step of plan.steps) {
    lines.push(`step ${step.name}: ${time(step.startedAt)} → ${time(step.endedAt)}`);
    for (const c of step.components) lines.push(...renderComponent(c));
  }
  return lines;
}

function renderComponent(c: NodePlanComponent): string[] {
  if (c.skipped) return [`  ${c.id} (${c.kind}): skipped, ${c.skipped}`];
  const lines = [`  ${c.id} (${c.kind}): ${c.finalState ?? 'not finished'}; drain ${time(c.drainStartedAt)} → ${time(c.drainEndedAt)}`];
  const { completed, cut } = c.transfers;
  if (completed.length + cut.length > 0) lines.push(`    transfers: ${completed.length} completed, ${cut.length} cut`);
  for (const t of [...completed, ...cut]) lines.push(`      ${t.outcome.padEnd(11)} ${t.path}  ${t.account ?? '-'}  ${t.id}`);
  if (c.jobs) {
    lines.push(`    jobs: ${c.jobs.completed.length} finished, ${c.jobs.released.length} back in the queue`);
    for (const j of c.jobs.completed) lines.push(`      ${j.outcome.padEnd(11)} job ${j.id} (${j.kind})`);
    for (const j of c.jobs.released) lines.push(`      ${'released'.padEnd(11)} job ${j.id} (${j.kind})`);
  }
  return lines;
}
