import type { Readable, Writable } from 'node:stream';
import { FerryError, isFerryError, type FileStat, type OpenWriteOptions, type Storage, type Transfer, type TransferOutcome } from '@ferry/core';
import type { Exchange } from './exchange.js';
import type { HttpdServices } from './services.js';

/**
 * Request body → upload. One path for PUT and for each tus PATCH: open the partial, begin the
 * Transfer, pump the raw body into the partial with backpressure, then commit (rename into place)
 * or keep the partial for the next chunk. A cut (core abort, client gone) keeps the partial and
 * never renames it.
 */

export interface UploadPlan {
  account: string;
  storage: Storage;
  path: string;
  open: OpenWriteOptions;
  /** tus: the partial must hold exactly this many bytes, else FERRY_ERR_OFFSET_MISMATCH and nothing is written. */
  expectOffset?: number;
  /** The whole file's declared size, when known (the Transfer's size). */
  size: number | null;
  /** At most this many body bytes are written; a longer body is cut there and refused with `tooLarge`. */
  limit?: number;
  tooLarge?: (limit: number) => FerryError;
  /** Given the offset reached, whether the file is complete (commit) or waits for more (keep the partial). */
  complete: (offset: number) => boolean;
}

export interface UploadResult {
  /** Offset reached: bytes in the partial, or the size of the committed file. */
  offset: number;
  committed: FileStat | null;
}

/** Result of pumping: whether the body was longer than the limit. */
type PumpEnd = 'end' | 'over-limit';

function clientGone(): FerryError {
  return new FerryError('FERRY_ERR_TRANSFER_ABORTED', 'the client closed the connection during the upload');
}

/**
 * The hot loop: what `pipe()` does, plus progress and the byte limit, in one listener per chunk.
 * Never destroys `body` (a refused upload still gets its reply; the response closes the connection).
 */
function pump(body: Readable, sink: Writable, transfer: Transfer, limit: number): Promise<PumpEnd> {
  return new Promise((resolve, reject) => {
    let left = limit;
    let over = false;
    let settled = false;
    const settle = (err: unknown, end: PumpEnd = 'end'): void => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onBodyError);
      body.off('close', onBodyClose);
      sink.off('drain', onDrain);
      sink.off('finish', onFinish);
      sink.off('error', onSinkError);
      if (err === null) resolve(end);
      else {
        body.pause();
        reject(err);
      }
    };
    const onData = (chunk: Buffer): void => {
      let data = chunk;
      if (data.length > left) {
        data = data.subarray(0, left);
        over = true;
      }
      left -= data.length;
      if (data.length > 0) {
        transfer.progress(data.length);
        if (!sink.write(data)) body.pause();
      }
      if (over) {
        body.off('data', onData);
        body.pause();
        sink.end();
      }
    };
    const onDrain = (): void => {
      if (!over) body.resume();
    };
    const onEnd = (): void => {
      if (!over) sink.end();
    };
    const onFinish = (): void => settle(null, over ? 'over-limit' : 'end');
    const onBodyError = (): void => settle(clientGone());
    const onBodyClose = (): void => {
      if (!body.readableEnded && !over) settle(clientGone());
    };
    const onSinkError = (err: Error): void => settle(err);
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onBodyError);
    body.once('close', onBodyClose);
    sink.on('drain', onDrain);
    sink.once('finish', onFinish);
    sink.once('error', onSinkError);
    body.resume();
  });
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function receiveUpload(services: HttpdServices, exchange: Exchange, plan: UploadPlan): Promise<UploadResult> {
  const { gate, transfers } = services.ctx;
  const handle = await plan.storage.openWrite(plan.path, plan.open);
  let transfer: Transfer;
  try {
    if (plan.expectOffset !== undefined && handle.offset !== plan.expectOffset) {
      throw new FerryError('FERRY_ERR_OFFSET_MISMATCH', `${plan.path}: Upload-Offset ${plan.expectOffset} does not match the ${handle.offset} bytes received`, {
        details: { path: plan.path, offset: plan.expectOffset, stored: handle.offset },
      });
    }
    // Checked again here: a drain may have begun while the login or the open was running.
    gate.check('upload');
    transfer = transfers.begin({
      protocol: 'http',
      account: plan.account,
      remoteAddress: exchange.session.remoteAddress,
      path: plan.path,
      direction: 'upload',
      size: plan.size,
      offset: handle.offset,
      sessionId: exchange.session.id,
    });
  } catch (err) {
    await handle.abandon().catch(() => undefined);
    throw err;
  }

  const end = (outcome: TransferOutcome, reason: string | null = null): void => transfer.end(outcome, reason);
  const onAbort = (): void => exchange.cut();
  transfer.signal.addEventListener('abort', onAbort, { once: true });
  try {
    let pumped: PumpEnd;
    try {
      pumped = await pump(exchange.body, handle.stream(), transfer, plan.limit ?? Number.POSITIVE_INFINITY);
    } catch (err) {
      await handle.abandon().catch(() => undefined);
      if (transfer.signal.aborted) end('interrupted', reasonOf(transfer.signal.reason));
      else if (isFerryError(err, 'FERRY_ERR_TRANSFER_ABORTED')) end('interrupted', err.message);
      else end('failed', reasonOf(err));
      throw err;
    }
    const offset = handle.offset + handle.bytesWritten;
    if (transfer.signal.aborted) {
      await handle.abandon().catch(() => undefined);
      end('interrupted', reasonOf(transfer.signal.reason));
      throw new FerryError('FERRY_ERR_TRANSFER_ABORTED', `${plan.path}: upload cut (${reasonOf(transfer.signal.reason)})`);
    }
    if (pumped === 'over-limit') {
      await handle.abandon().catch(() => undefined);
      const limit = plan.limit ?? 0;
      const err = plan.tooLarge?.(limit) ?? new FerryError('FERRY_ERR_TOO_LARGE', `${plan.path}: the body is larger than ${limit} bytes`);
      end('failed', err.message);
      throw err;
    }
    if (!plan.complete(offset)) {
      await handle.abandon();
      end('completed', 'chunk received, upload continues');
      return { offset, committed: null };
    }
    let committed: FileStat;
    try {
      committed = await handle.commit();
    } catch (err) {
      await handle.abandon().catch(() => undefined);
      end(isFerryError(err, 'FERRY_ERR_TRANSFER_ABORTED') ? 'interrupted' : 'failed', reasonOf(err));
      throw err;
    }
    end('completed');
    return { offset: committed.size, committed };
  } finally {
    transfer.signal.removeEventListener('abort', onAbort);
    // Whatever happened above, the Transfer is ended exactly once (end() ignores a second call).
    if (!transfer.ended) end('failed', 'upload ended unexpectedly');
  }
}
