import type { Store } from '@ferry/core';
import type { ActionConfig } from '../config.js';
import type { FileRef } from '../files.js';
import { gunzip, gzip, zip } from './compress.js';
import type { ActionContext } from './context.js';
import { copy, move, remove, rename } from './local.js';
import { pushAction } from './push.js';
import { run } from './run.js';
import { webhook } from './webhook.js';

export type { ActionContext } from './context.js';

/** The name of an action, as it is written in ferry.yaml (its only key). */
export function actionName(action: ActionConfig): string {
  return Object.keys(action)[0] ?? '?';
}

/** Runs one configured action on `file`; returns the file the next action works on. */
export function runAction(ctx: ActionContext, file: FileRef, action: ActionConfig, store: Store): Promise<FileRef | null> {
  if ('rename' in action) return rename(ctx, file, action.rename);
  if ('gzip' in action) return gzip(ctx, file, action.gzip);
  if ('gunzip' in action) return gunzip(ctx, file, action.gunzip);
  if ('zip' in action) return zip(ctx, file, action.zip);
  if ('copy' in action) return copy(ctx, file, action.copy);
  if ('move' in action) return move(ctx, file, action.move);
  if ('delete' in action) return remove(ctx, file, true);
  if ('push' in action) return pushAction(store)(ctx, file, action.push);
  if ('run' in action) return run(ctx, file, action.run);
  return webhook(ctx, file, action.webhook);
}
