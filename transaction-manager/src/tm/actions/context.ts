import type { Logger, TransferRegistry } from '@ferry/core';
import type { SiteConfig } from '../../outbound/site-config.js';
import type { FileAccess, FileRef } from '../files.js';
import type { NamingInput } from '../naming.js';

/** What an action needs besides its own config: the file, the job, and the node's services. */
export interface ActionContext {
  /** The job running this step (its id names temporary and AS2 message ids). */
  jobId: number;
  /** Placeholder values come from the routing's root job and start, so a re-run names things alike. */
  naming: Omit<NamingInput, 'path' | 'account'>;
  signal: AbortSignal;
  files: FileAccess;
  transfers: TransferRegistry;
  sites: Readonly<Record<string, SiteConfig>>;
  log: Logger;
}

/**
 * Every action takes the file the routing has reached and returns the file the next action works
 * on (null when there is none left, after a delete). Each is safe to run again after a crash: a
 * re-run finds its earlier output and goes on from there, so nothing is delivered twice.
 */
export type Action<Config> = (ctx: ActionContext, file: FileRef, config: Config) => Promise<FileRef | null>;
