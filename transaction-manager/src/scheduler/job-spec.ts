import type { DeepReadonly } from '@ferry/core';
import { z } from 'zod';

/**
 * A job as ferry.yaml describes it for the scheduler and the folder monitor, which only enqueue.
 * The payload belongs to the transaction manager, which validates it when it runs the job; here it
 * only has to be a mapping, so that it passes through to the queue unchanged.
 */
export const INTAKE_JOB_KINDS = ['route', 'push', 'pull', 'run', 'webhook'] as const;
export type IntakeJobKind = (typeof INTAKE_JOB_KINDS)[number];

const PAYLOAD_FORMS = 'a mapping of the job kind\'s settings (key: value lines)';

export function intakeJob() {
  return z.object({
    kind: z.enum(INTAKE_JOB_KINDS),
    payload: z
      .custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), {
        message: 'must be a mapping',
        params: { allowed: PAYLOAD_FORMS },
      })
      .default({}),
  });
}

export type IntakeJob = DeepReadonly<z.output<ReturnType<typeof intakeJob>>>;

/** Names of schedules and folders: they appear in dedupe keys, log lines and the store. */
export const INTAKE_NAME_RULE = '1–64 characters from A-Z a-z 0-9 . _ -, not starting with . or -';
const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

export function intakeName() {
  return z.string().refine((name) => NAME_PATTERN.test(name), { message: 'not an allowed name', params: { allowed: INTAKE_NAME_RULE } });
}

/**
 * Refuses a list whose entries repeat a name; the issue names the later entry's `name` key and
 * the first one's index.
 */
export function uniqueNames<T extends { name: string }>(list: readonly T[], ctx: z.core.$RefinementCtx<readonly T[]>, what: string): void {
  const first = new Map<string, number>();
  list.forEach((entry, index) => {
    const earlier = first.get(entry.name);
    if (earlier === undefined) {
      first.set(entry.name, index);
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: [index, 'name'],
      input: entry.name,
      message: `the ${what} name "${entry.name}" is already used by entry [${earlier}]`,
      params: { allowed: `a ${what} name used once` },
    });
  });
}
