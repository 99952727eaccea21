import { posix } from 'node:path';
import { PassThrough } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { FerryError } from '@ferry/core';
import yazl from 'yazl';
import type { FileRef } from '../files.js';
import type { Action, ActionContext } from './context.js';
import { exists, writeThrough } from './local.js';

/** Transformations: gzip, gunzip and zip, each beside the file, the original removed unless `keep`. */

interface Keep {
  keep: boolean;
}

type Produce = (ctx: ActionContext, file: FileRef, target: FileRef) => Promise<void>;

/** Runs one transformation so that a re-run after a crash picks up where the first run stopped. */
function transformation(targetOf: (path: string) => string, produce: Produce): Action<Keep> {
  return async (ctx, file, { keep }) => {
    const target: FileRef = { ...file, path: targetOf(file.path) };
    const source = await ctx.files.open(file);
    const sourceThere = await exists(source.storage, source.path);
    if (!sourceThere) {
      const opened = await ctx.files.open(target);
      if (await exists(opened.storage, opened.path)) return target;
      throw new FerryError('FERRY_ERR_NOT_FOUND', `${file.path} is gone and ${target.path} was never made`, { details: { path: file.path } });
    }
    await produce(ctx, file, target);
    if (!keep) await source.storage.remove(source.path);
    return target;
  };
}

async function streamed(ctx: ActionContext, file: FileRef, target: FileRef, transform: () => NodeJS.ReadWriteStream): Promise<void> {
  const source = await ctx.files.open(file);
  const read = await source.storage.openRead(source.path);
  try {
    await writeThrough(ctx, read.stream(), await ctx.files.open(target), [transform() as PassThrough]);
  } finally {
    await read.close();
  }
}

export const gzip = transformation(
  (path) => `${path}.gz`,
  (ctx, file, target) => streamed(ctx, file, target, () => createGzip()),
);

export const gunzip: Action<Keep> = (ctx, file, config) => {
  if (!file.path.endsWith('.gz')) {
    throw new FerryError('FERRY_ERR_BAD_REQUEST', `gunzip: ${file.path} does not end in .gz`, { details: { path: file.path } });
  }
  return transformation(
    (path) => path.slice(0, -'.gz'.length),
    (c, f, target) => streamed(c, f, target, () => createGunzip()),
  )(ctx, file, config);
};

/** One entry named like the file; yazl writes ZIP64 records when the file needs them. */
export const zip = transformation(
  (path) => `${path}.zip`,
  async (ctx, file, target) => {
    const source = await ctx.files.open(file);
    const read = await source.storage.openRead(source.path);
    try {
      const archive = new yazl.ZipFile();
      const stat = await source.storage.stat(source.path);
      archive.addReadStream(read.stream(), posix.basename(file.path), { mtime: stat.mtime, mode: 0o100644 });
      archive.end();
      await writeThrough(ctx, archive.outputStream as unknown as PassThrough, await ctx.files.open(target));
    } finally {
      await read.close();
    }
  },
);
