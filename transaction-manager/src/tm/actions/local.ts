import { posix } from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isFerryError, type Storage } from '@ferry/core';
import type { OpenedFile } from '../files.js';
import type { FileRef } from '../files.js';
import { applyPattern } from '../naming.js';
import type { Action, ActionContext } from './context.js';

/** Local file actions: rename, copy, move, delete. */

export async function exists(storage: Storage, path: string): Promise<boolean> {
  try {
    await storage.stat(path);
    return true;
  } catch (err) {
    if (isFerryError(err) && err.code === 'FERRY_ERR_NOT_FOUND') return false;
    throw err;
  }
}

export function targetPath(ctx: ActionContext, file: FileRef, pattern: string): string {
  return applyPattern(pattern, { ...ctx.naming, path: file.path, account: file.account });
}

/**
 * Writes `source` (through optional transforms) to `target` by way of a partial file: a cut or
 * failed write leaves nothing under the target name, and its partial is removed.
 */
export async function writeThrough(
  ctx: ActionContext,
  source: Readable,
  target: OpenedFile,
  transforms: Transform[] = [],
): Promise<void> {
  await target.storage.mkdir(posix.dirname(target.path), { recursive: true });
  const upload = await target.storage.openWrite(target.path);
  try {
    await pipeline([source, ...transforms, upload.stream()], { signal: ctx.signal });
    await upload.commit();
  } catch (err) {
    await upload.discard().catch(() => undefined);
    throw err;
  }
}

export const rename: Action<string> = async (ctx, file, pattern) => {
  const opened = await ctx.files.open(file);
  const target = targetPath(ctx, file, pattern);
  if (target === opened.path) return file;
  // A re-run after the rename happened finds the source gone and the target there.
  if (!(await exists(opened.storage, opened.path)) && (await exists(opened.storage, target))) return { ...file, path: target };
  await opened.storage.mkdir(posix.dirname(target), { recursive: true });
  await opened.storage.rename(opened.path, target);
  return { ...file, path: target };
};

interface Destination {
  account?: string | undefined;
  path: string;
}

async function copyTo(ctx: ActionContext, file: FileRef, dest: Destination, removeSource: boolean): Promise<FileRef> {
  const source = await ctx.files.open(file);
  const targetRef: FileRef = { account: dest.account ?? file.account, path: targetPath(ctx, file, dest.path) };
  const target = await ctx.files.open(targetRef);
  const sourceThere = await exists(source.storage, source.path);
  if (!sourceThere && removeSource && (await exists(target.storage, target.path))) return targetRef;
  if (source.storage.home === target.storage.home && source.path === target.path) return targetRef;
  if (removeSource && source.storage.home === target.storage.home) {
    await target.storage.mkdir(posix.dirname(target.path), { recursive: true });
    await source.storage.rename(source.path, target.path);
    return targetRef;
  }
  const read = await source.storage.openRead(source.path);
  try {
    await writeThrough(ctx, read.stream(), target);
  } finally {
    await read.close();
  }
  if (removeSource) await source.storage.remove(source.path);
  return targetRef;
}

export const copy: Action<Destination> = async (ctx, file, dest) => {
  await copyTo(ctx, file, dest, false);
  // The routing goes on with the original; the copy is a side output.
  return file;
};

export const move: Action<Destination> = (ctx, file, dest) => copyTo(ctx, file, dest, true);

export const remove: Action<true> = async (ctx, file) => {
  const opened = await ctx.files.open(file);
  try {
    await opened.storage.remove(opened.path);
  } catch (err) {
    if (!(isFerryError(err) && err.code === 'FERRY_ERR_NOT_FOUND')) throw err;
  }
  return null;
};
