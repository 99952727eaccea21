import { defineComponentSection, duration, type DeepReadonly } from '@ferry/core';
import picomatch from 'picomatch';
import { z } from 'zod';
import { siteSchema } from '../outbound/site-config.js';
import { NAME_PLACEHOLDERS, unknownPlaceholders } from './naming.js';

/** The transaction manager's default drain timeout: long enough for a large push to finish. */
export const DEFAULT_TM_TIMEOUT = '1h';
/** Seed 002: under 30 s a TM shutdown risks not being graceful. */
const SHORT_TIMEOUT_MS = 30_000;

const atLeastOne = { message: 'must be 1 or more', params: { allowed: 'a whole number of 1 or more' } };

const glob = (what: string) =>
  z.string().min(1).refine(
    (pattern) => {
      try {
        picomatch(pattern);
        return true;
      } catch {
        return false;
      }
    },
    { message: `${what} is not a glob pattern`, params: { allowed: 'a glob like /inbound/*.csv or **/*.xml' } },
  );

const namePattern = z
  .string()
  .min(1)
  .refine((pattern) => unknownPlaceholders(pattern).length === 0 && !pattern.split('/').includes('..'), {
    message: 'unknown placeholder or .. segment in the name pattern',
    params: { allowed: `text with placeholders ${NAME_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}, no .. segments` },
  });

const virtualPath = z
  .string()
  .min(1)
  .refine((path) => !path.split('/').includes('..') && !path.includes('\0'), {
    message: 'not a path inside an account home',
    params: { allowed: 'a path like /archive or /out/{name}, without .. segments' },
  });

/** Where a copy or move puts the file: a directory (ending in /) or a name pattern, optionally in another account's home. */
const destination = z.strictObject({ account: z.string().min(1).optional(), path: namePattern });

const envValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

// No default for the whole mapping: an optional key with a default would always be present.
const keep = z.strictObject({ keep: z.boolean().default(false) });

/** One step of a routing rule: exactly one key, named after what it does. */
const actionShape = {
  rename: namePattern,
  gzip: keep,
  gunzip: keep,
  zip: keep,
  copy: destination,
  move: destination,
  delete: z.literal(true),
  push: z.strictObject({
    site: z.string().min(1),
    /** Remote path: a directory (ending in /, default the site's base) or a name pattern. */
    path: namePattern.default('{name}'),
  }),
  run: z.strictObject({
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), envValue).default({}),
    timeout: duration().default(300_000),
  }),
  webhook: z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    headers: z.record(z.string(), z.string()).default({}),
    timeout: duration().default(30_000),
  }),
};

export const ACTION_NAMES = Object.keys(actionShape) as (keyof typeof actionShape)[];

// Every key optional and the object strict: a misspelt action is named as an unknown key, and a bad
// value is reported at its own key (tm.routes[0].actions[1].rename), not as a failed union.
export const actionSchema = z.strictObject(Object.fromEntries(ACTION_NAMES.map((name) => [name, actionShape[name].optional()])) as {
  [K in keyof typeof actionShape]: z.ZodOptional<(typeof actionShape)[K]>;
}).refine((action) => Object.values(action).filter((value) => value !== undefined).length === 1, {
  message: 'an action has exactly one key',
  params: { allowed: `one of ${ACTION_NAMES.join(', ')}` },
  // Said only of an action whose keys are otherwise fine: a bad value is already named at its key.
  when: (payload) => payload.issues.length === 0,
});

export const routeSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'route names are 1–64 letters, digits, . _ -'),
  /** Account name glob; default every account. */
  account: glob('account').default('*'),
  /** Virtual path glob inside the account home; default every file. */
  path: glob('path').default('**'),
  /** Which component received the file (sshd, ftpd, httpd, as2d, folder-monitor:<name>, tm); default any. */
  source: glob('source').default('*'),
  actions: z.array(actionSchema).min(1),
  /** A later rule is not tried once this one matched. */
  final: z.boolean().default(false),
});

export const tmSection = defineComponentSection(
  'tm',
  z
    .object({
      /** Jobs run at once by this node. */
      workers: z.number().int().refine((n) => n >= 1 && n <= 256, { message: 'must be from 1 to 256', params: { allowed: 'a whole number from 1 to 256' } }).default(4),
      /** How often an idle worker looks for due jobs (other processes enqueue them). */
      pollInterval: duration().default(500),
      /** A claimed job's lease; renewed while it runs. A node that dies loses its jobs to others after this. */
      lease: duration().refine((ms) => ms >= 5000, { message: 'must be at least 5s', params: { allowed: 'a duration of 5s or more' } }).default(60_000),
      retry: z
        .object({
          maxAttempts: z.number().int().refine((n) => n >= 1, atLeastOne).default(5),
          /** First retry delay; doubles per attempt up to maxBackoff. */
          backoff: duration().default(5000),
          maxBackoff: duration().default(600_000),
        })
        .default({ maxAttempts: 5, backoff: 5000, maxBackoff: 600_000 }),
      routes: z.array(routeSchema).default([]),
      sites: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/), siteSchema).default({}),
      /** Where pulled files land and work files are kept; default `<dataDir>/tm`. */
      workDir: virtualPath.optional(),
    })
    .superRefine((tm, ctx) => {
      const names = new Set<string>();
      tm.routes.forEach((route, i) => {
        if (names.has(route.name)) {
          ctx.addIssue({ code: 'custom', path: ['routes', i, 'name'], message: `route name "${route.name}" is used twice`, params: { allowed: 'unique route names' } });
        }
        names.add(route.name);
        route.actions.forEach((action, j) => {
          if (action.push !== undefined && !(action.push.site in tm.sites)) {
            ctx.addIssue({
              code: 'custom',
              path: ['routes', i, 'actions', j, 'push', 'site'],
              message: `no site "${action.push.site}" in tm.sites`,
              params: { allowed: Object.keys(tm.sites).join(', ') || 'a site defined under tm.sites' },
            });
          }
        });
      });
    }),
  {
    gracefulShutdownTimeout: DEFAULT_TM_TIMEOUT,
    aliases: { 'TransactionManager.GracefulShutdownTimeout': 'gracefulShutdownTimeout' },
    warnings: (tm) =>
      tm.gracefulShutdownTimeout < SHORT_TIMEOUT_MS
        ? [`tm.gracefulShutdownTimeout is ${tm.gracefulShutdownTimeout / 1000}s: under 30s, running jobs risk being cut (seed 002 recommends 30s or more)`]
        : [],
  },
);

export type TmConfig = DeepReadonly<z.output<typeof tmSection.schema>>;
export type RouteConfig = TmConfig['routes'][number];
export type ActionConfig = RouteConfig['actions'][number];
