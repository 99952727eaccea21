import { EXIT, println } from '../io.js';
import { table } from '../table.js';
import type { JobList, JobView, ScheduleView } from '../wire.js';
import type { CommandContext } from './context.js';

/** `jobs [--json]`: the transaction manager's queue, newest first, with the count per status. */
export async function listJobs(ctx: CommandContext): Promise<number> {
  const { client, io, args } = ctx;
  const list = await client.get<JobList>('/api/v1/jobs');
  if (args.json) {
    println(io.stdout, JSON.stringify(list, null, 2));
    return EXIT.ok;
  }
  const { queued, running, done, failed } = list.counts;
  println(io.stdout, `queued ${queued}, running ${running}, done ${done}, failed ${failed}`);
  if (list.jobs.length === 0) return EXIT.ok;
  const rows = list.jobs.map((j) => [String(j.id), j.kind, j.status, `${j.attempts}/${j.maxAttempts}`, j.updatedAt, summary(j)]);
  println(io.stdout, table(['ID', 'KIND', 'STATUS', 'ATTEMPTS', 'UPDATED', 'WHAT'], rows));
  return EXIT.ok;
}

/** `jobs show <id> [--json]`. */
export async function showJob(ctx: CommandContext, id: string): Promise<number> {
  const job = await ctx.client.get<JobView>(`/api/v1/jobs/${encodeURIComponent(id)}`);
  println(ctx.io.stdout, JSON.stringify(job, null, 2));
  return EXIT.ok;
}

/** `jobs retry <id>`: a failed job back in the queue with fresh attempts. */
export async function retryJob(ctx: CommandContext, id: string): Promise<number> {
  const job = await ctx.client.post<JobView>(`/api/v1/jobs/${encodeURIComponent(id)}/retry`);
  println(ctx.io.stdout, `job ${job.id} (${job.kind}) is queued again`);
  return EXIT.ok;
}

function summary(job: JobView): string {
  const p = job.payload as { file?: { account?: string | null; path?: string }; rule?: string; site?: string; remotePath?: string };
  const file = p.file ? `${p.file.account ?? 'host'}:${p.file.path ?? ''}` : '';
  const what = [p.rule, p.site, p.remotePath, file].filter(Boolean).join(' ');
  return job.status === 'failed' && job.lastError ? `${what} — ${job.lastError}` : what;
}

/** `schedules [--json]`: the scheduler's schedules with their next and last fire. */
export async function listSchedules(ctx: CommandContext): Promise<number> {
  const { client, io, args } = ctx;
  const schedules = await client.get<ScheduleView[]>('/api/v1/schedules');
  if (args.json) {
    println(io.stdout, JSON.stringify(schedules, null, 2));
    return EXIT.ok;
  }
  if (schedules.length === 0) {
    println(io.stdout, 'no schedules (the scheduler is not enabled or has none)');
    return EXIT.ok;
  }
  const rows = schedules.map((s) => [s.name, s.cron + (s.timezone ? ` (${s.timezone})` : ''), s.kind, s.misfire, s.nextFire ?? '-', s.lastFireAt ?? '-']);
  println(io.stdout, table(['NAME', 'CRON', 'JOB', 'MISFIRE', 'NEXT', 'LAST'], rows));
  return EXIT.ok;
}
