import { duration, FerryError } from '@ferry/core';
import { z } from 'zod';

/**
 * The payload of each job kind the transaction manager runs. Jobs come from other processes (a
 * daemon's completed upload, the scheduler, the folder monitor, the API), so every payload is
 * checked when the job runs; one that does not fit fails the job for good with the reason.
 */

const fileRef = z.strictObject({ account: z.string().min(1).nullable(), path: z.string().min(1) });

export const payloadSchemas = {
  route: z.object({ file: fileRef, source: z.string().default('unknown') }),
  step: z.object({
    rule: z.string(),
    index: z.number().int().min(0),
    file: fileRef,
    /** The route job that started this routing. */
    root: z.number().int(),
    /** When the routing began (ISO): placeholders use it, so re-runs name alike. */
    at: z.string(),
  }),
  push: z.object({ site: z.string().min(1), file: fileRef, path: z.string().min(1).default('{name}') }),
  pull: z.object({
    site: z.string().min(1),
    /** A remote file, or a directory ending in `/` whose files matching `pattern` are pulled. */
    remotePath: z.string().min(1),
    pattern: z.string().min(1).default('*'),
    /** Where pulled files land: an account's directory, or an absolute host directory (account null). */
    account: z.string().min(1).nullable(),
    path: z.string().min(1),
    /** Remove each file from the site once it is safely here. */
    delete: z.boolean().default(false),
    /** Route each pulled file like an upload. */
    route: z.boolean().default(true),
    maxFiles: z.number().int().min(1).max(10_000).default(1000),
  }),
  run: z.object({
    file: fileRef,
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    timeout: duration().default(300_000),
  }),
  webhook: z.object({
    file: fileRef,
    url: z.url({ protocol: /^https?$/ }),
    headers: z.record(z.string(), z.string()).default({}),
    timeout: duration().default(30_000),
  }),
} as const;

export type JobKind = keyof typeof payloadSchemas;
export const JOB_KINDS = Object.keys(payloadSchemas) as JobKind[];
export type Payload<K extends JobKind> = z.output<(typeof payloadSchemas)[K]>;

export function parsePayload<K extends JobKind>(kind: K, payload: unknown): Payload<K> {
  const parsed = payloadSchemas[kind].safeParse(payload);
  if (parsed.success) return parsed.data as Payload<K>;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(payload)'}: ${issue.message}`).join('; ');
  throw new FerryError('FERRY_ERR_BAD_REQUEST', `${kind} job payload does not fit: ${problems}`, { details: { kind, problems } });
}

/** The check the admin API runs before it enqueues a job: a known kind with a payload that fits. */
export function checkJob(kind: string, payload: unknown): void {
  if (!(JOB_KINDS as readonly string[]).includes(kind)) {
    throw new FerryError('FERRY_ERR_BAD_REQUEST', `unknown job kind "${kind}"; allowed: ${JOB_KINDS.join(', ')}`, { details: { field: 'kind', value: kind, allowed: JOB_KINDS } });
  }
  parsePayload(kind as JobKind, payload);
}

/**
 * What an admin API caller may enqueue: no commands and no host paths. Those come only from
 * ferry.yaml (routes, schedules, monitored folders), which needs access to the host already; an
 * API token must not turn into a shell or a way around the account jails.
 */
export const API_JOB_KINDS = ['route', 'push', 'pull', 'webhook'] as const satisfies readonly JobKind[];

export function checkApiJob(kind: string, payload: unknown): void {
  if (!(API_JOB_KINDS as readonly string[]).includes(kind)) {
    throw new FerryError('FERRY_ERR_BAD_REQUEST', `job kind "${kind}" cannot be enqueued through the API; allowed: ${API_JOB_KINDS.join(', ')} (commands run only from ferry.yaml)`, {
      details: { field: 'kind', value: kind, allowed: API_JOB_KINDS },
    });
  }
  const parsed = parsePayload(kind as JobKind, payload) as { file?: { account: string | null }; account?: string | null };
  if (parsed.file?.account === null || parsed.account === null) {
    throw new FerryError('FERRY_ERR_BAD_REQUEST', 'a job from the API works on account files only: give the account (host paths come only from ferry.yaml)', {
      details: { field: parsed.file ? 'file.account' : 'account' },
    });
  }
}
