import { constants } from 'node:fs';
import type { FileDescriptor } from './descriptor.js';
import { errnoOf } from './errno.js';
import type { FsCalls } from './fs-calls.js';

// Absent on Windows; there the races they close stay open, nothing else changes.
/** A symlink swapped in after resolution fails the open with ELOOP instead of being followed. */
export const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
/** Opening a FIFO would otherwise block a thread-pool thread until the other end shows up. */
export const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/** Runs `work` on a freshly opened file, closing the file if it throws. */
export async function closeOnFailure<T>(fh: FileDescriptor, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

export async function removeIfPresent(calls: FsCalls, real: string): Promise<void> {
  try {
    await calls.unlink(real);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
}

/**
 * Writes every byte of `buffers` at `position`, retrying short writes (a disk filling up, or more
 * buffers than IOV_MAX). `progress` sees each syscall's count so callers can account partial work.
 */
export async function writeFully(fh: FileDescriptor, buffers: Buffer[], position: number, progress: (written: number) => void): Promise<void> {
  let pending = buffers;
  let at = position;
  while (pending.length > 0) {
    const first = pending[0] as Buffer;
    const { bytesWritten } = pending.length === 1 ? await fh.write(first, 0, first.length, at) : await fh.writev(pending, at);
    if (bytesWritten === 0 && pending.some((buf) => buf.length > 0)) throw new Error('write made no progress');
    at += bytesWritten;
    progress(bytesWritten);
    pending = dropWritten(pending, bytesWritten);
  }
}

function dropWritten(buffers: Buffer[], written: number): Buffer[] {
  let skip = written;
  let index = 0;
  while (index < buffers.length && skip >= (buffers[index] as Buffer).length) {
    skip -= (buffers[index] as Buffer).length;
    index += 1;
  }
  const rest = buffers.slice(index);
  const first = rest[0];
  if (first !== undefined && skip > 0) rest[0] = first.subarray(skip);
  return rest;
}
