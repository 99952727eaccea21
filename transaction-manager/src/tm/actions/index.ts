import type { Store } from '@ferry/core';
import type { ActionConfig } from '../config.js';
import type { FileRef } from '../files.js';
import { gunzip, gzip, zip } from './compress.js';
import type { ActionContext } from './context.js';
import { copy, move, remove, rename } from './local.js';
import { pushAction } from './push.js';
import { run } from './run.js';
import { webhook } from './webhook.js';
import { PermanentJobError } from '../worker-pool.js';

export type { ActionContext } from './context.js';

/** The name of an action, as it is written in ferry.yaml (its only key). */
export function actionName(action: ActionConfig): string {
  return Object.keys(action)[0] ?? '?';
}

/** Runs one configured action on `file`; returns the file the next action works on. */
export function runAction(ctx: ActionContext, file: FileRef, action: ActionConfig, store: Store): Promise<FileRef | null> {
  if (action.rename !== undefined) return rename(ctx, file, action.rename);
  if (action.gzip !== undefined) return gzip(ctx, file, action.gzip);
  if (action.gunzip !== undefined) return gunzip(ctx, file, action.gunzip);
  if (action.zip !== undefined) return zip(ctx, file, action.zip);
  if (action.copy !== undefined) return copy(ctx, file, action.copy);
  if (action.move !== undefined) return move(ctx, file, action.move);
  if (action.delete !== undefined) return remove(ctx, file, true);
  if (action.push !== undefined) return pushAction(store)(ctx, file, action.push);
  if (action.run !== undefined) return run(ctx, file, action.run);
  if (action.webhook !== undefined) return webhook(ctx, file, action.webhook);
  // The config schema allows exactly one key; a step only reaches here if the config changed under it.
  throw new PermanentJobError(`an action with no known key: ${JSON.stringify(action)}`);
}
