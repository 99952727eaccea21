import { isAbsolute } from 'node:path';
import { defineComponentSection, duration, type DeepReadonly } from '@ferry/core';
import { z } from 'zod';
import { intakeJob, intakeName, uniqueNames } from '../scheduler/job-spec.js';

const GLOB_FORMS = 'a glob like *, *.csv or in/**/*.xml (one without / matches the file name at any depth)';

const glob = () => z.string().refine((pattern) => pattern.length > 0, { message: 'empty pattern', params: { allowed: GLOB_FORMS } });

const atLeast = (ms: number, allowed: string) => ({ message: `must be at least ${ms} ms`, params: { allowed } });

/** Lexically, as the jail will: `..` may not climb above the account home. */
export function climbsOutOfHome(virtualPath: string): boolean {
  let depth = 0;
  for (const segment of virtualPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    depth += segment === '..' ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}

const folder = z
  .object({
    /** Names the folder in logs, job sources and dedupe keys; unique. */
    name: intakeName(),
    /** With an account, `path` is a directory in its home (`/` is the home), jailed like its sessions. */
    account: z.string().min(1).optional(),
    /** An absolute host directory, or with `account` a virtual directory in the account's home. */
    path: z.string().min(1),
    pattern: glob().default('*'),
    /** Globs of files never picked up, besides dot-files and uploads in progress, which never are. */
    ignore: z.array(glob()).default([]),
    recursive: z.boolean().default(false),
    /** A file counts once its size and mtime have not changed for this long. */
    stableFor: duration().default(5_000),
    /** How often the folder is listed: the stability check, and the fallback where fs.watch sees nothing. */
    pollInterval: duration()
      .refine((ms) => ms >= 50, atLeast(50, 'a duration of 50ms or more, like 2s'))
      .default(2_000),
    /** The job to enqueue per stable file, the file merged into its payload as `file`; default a `route` job. */
    job: intakeJob().optional(),
  })
  .superRefine((entry, ctx) => {
    if (entry.path.includes('\0')) {
      ctx.addIssue({ code: 'custom', path: ['path'], input: entry.path, message: 'contains a NUL byte', params: { allowed: 'a directory path' } });
      return;
    }
    if (entry.account === undefined && !isAbsolute(entry.path)) {
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        input: entry.path,
        message: 'a folder without an account is a host directory',
        params: { allowed: 'an absolute host path, or a path in the home of the folder\'s account' },
      });
    }
    if (entry.account !== undefined && climbsOutOfHome(entry.path)) {
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        input: entry.path,
        message: `leaves the home of account ${entry.account}`,
        params: { allowed: 'a directory inside the account home, like /inbox' },
      });
    }
  });

/** The `folder-monitor` section of ferry.yaml: folders whose stable files become jobs. */
export const folderMonitorSection = defineComponentSection(
  'folder-monitor',
  z.object({
    folders: z
      .array(folder)
      .superRefine((list, ctx) => uniqueNames(list, ctx, 'folder'))
      .default([]),
  }),
  // It holds no transfer: a drain is instant, the timeout only bounds a scan in flight.
  { gracefulShutdownTimeout: '30s' },
);

export type FolderMonitorConfig = DeepReadonly<z.output<typeof folderMonitorSection.schema>>;
export type FolderConfig = FolderMonitorConfig['folders'][number];
