import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, expect } from 'vitest';
import type { ErrorCode } from '../src/errors.js';
import { localStorage, type MetadataMode, type Storage, type UploadHandle } from '../src/storage/index.js';

export interface Sandbox {
  /** Real path of the account home. */
  home: string;
  /** A real directory next to the home, standing for "anywhere else on the host". */
  outside: string;
  storage: Storage;
}

const roots: string[] = [];

/** undefined: chosen from the mount table, as in production (inline on a local disk). */
let metadataCalls: MetadataMode | undefined;

/** Runs the storage suites imported after this call with the given way of making metadata calls. */
export function useMetadataCalls(mode: MetadataMode): void {
  metadataCalls = mode;
}

/** Whether the suites run with metadata calls through the thread pool (never a write on the spot then). */
export function pooledCalls(): boolean {
  return metadataCalls === 'pooled';
}

afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

export async function sandbox(): Promise<Sandbox> {
  const root = await realpath(await mkdtemp(path.join(os.tmpdir(), 'ferry-storage-')));
  roots.push(root);
  const home = path.join(root, 'home');
  const outside = path.join(root, 'outside');
  await mkdir(home);
  await mkdir(outside);
  return { home, outside, storage: await localStorage(home, { metadataCalls }) };
}

export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'FerryError', code });
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Writes `data` through an upload's stream and waits for it to finish. */
export async function streamInto(upload: UploadHandle, data: Buffer | string): Promise<void> {
  await pipeline(Readable.from([Buffer.from(data)]), upload.stream());
}

export async function upload(storage: Storage, file: string, data: Buffer | string): Promise<void> {
  const handle = await storage.openWrite(file);
  await streamInto(handle, data);
  await handle.commit();
}

export async function readFileVia(storage: Storage, file: string): Promise<Buffer> {
  const handle = await storage.openRead(file);
  try {
    return await readAll(handle.stream());
  } finally {
    await handle.close();
  }
}

/** A sink that never drains, to hold a stream open mid-transfer. */
export function stuckSink(): Writable {
  return new Writable({ highWaterMark: 1, write: () => undefined });
}
