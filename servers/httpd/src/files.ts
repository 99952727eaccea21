import { FerryError, isFerryError, type FileStat, type Storage } from '@ferry/core';
import { header, type Exchange, type Reply, type Route } from './exchange.js';
import { destinationPath, pathFromUrl, urlFor } from './paths.js';
import { contentLength, parseContentRange, parseRange, type UploadRange } from './range.js';
import { receiveUpload } from './receive.js';
import type { HttpdServices } from './services.js';

/** Everything under this prefix is a path in the account home. */
export const FILES_PREFIX = '/files';

/** 1 MiB reads: a 1 GiB download is about a thousand reads and writes. */
const READ_CHUNK = 1024 * 1024;

const noop = (): void => undefined;

function reasonOf(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}

async function partialSizeOf(storage: Storage, path: string): Promise<number | undefined> {
  return storage.partialSize(path).catch(() => undefined);
}

function fileHeaders(stat: FileStat): Record<string, string | number> {
  return {
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    'last-modified': stat.mtime.toUTCString(),
  };
}

function listingJson(path: string, entries: readonly FileStat[]): unknown {
  return {
    path,
    entries: entries.map((e) => ({ name: e.name, type: e.type, size: e.size, mtime: e.mtime.toISOString() })),
  };
}

/**
 * The end-user file service: GET/HEAD (download or listing), PUT (upload, resumable with
 * Content-Range), DELETE, MKCOL and MOVE under /files. Each handler asks the admission gate before
 * it starts, so a drain refuses new work with 503 while what runs goes on.
 */
export class FileHandlers {
  constructor(private readonly services: HttpdServices) {}

  routes(): Route[] {
    const wild = `${FILES_PREFIX}/*`;
    return [
      { method: 'GET', url: FILES_PREFIX, handler: (e) => this.get(e) },
      { method: 'GET', url: wild, handler: (e) => this.get(e) },
      { method: 'HEAD', url: FILES_PREFIX, handler: (e) => this.head(e) },
      { method: 'HEAD', url: wild, handler: (e) => this.head(e) },
      { method: 'PUT', url: wild, handler: (e) => this.put(e) },
      { method: 'DELETE', url: wild, handler: (e) => this.remove(e) },
      { method: 'MKCOL', url: wild, handler: (e) => this.mkcol(e) },
      { method: 'MOVE', url: wild, handler: (e) => this.move(e) },
    ];
  }

  async get(e: Exchange): Promise<Reply> {
    const { gate } = this.services.ctx;
    gate.check('download');
    const { account, storage } = await this.services.auth.authenticate(e);
    const path = pathFromUrl(e.path, FILES_PREFIX);
    const stat = await gate.run('stat', () => storage.stat(path));
    if (stat.type === 'directory') {
      const entries = await gate.run('list', () => storage.list(path));
      return { status: 200, headers: { 'cache-control': 'no-store' }, json: listingJson(path, entries) };
    }
    return this.download(e, account.name, storage, path, stat);
  }

  async head(e: Exchange): Promise<Reply> {
    const { gate } = this.services.ctx;
    gate.check('stat');
    const { storage } = await this.services.auth.authenticate(e);
    const path = pathFromUrl(e.path, FILES_PREFIX);
    return gate.run('stat', async (): Promise<Reply> => {
      let stat: FileStat;
      try {
        stat = await storage.stat(path);
      } catch (err) {
        const partial = isFerryError(err, 'FERRY_ERR_NOT_FOUND') ? await partialSizeOf(storage, path) : undefined;
        if (partial === undefined || !isFerryError(err)) throw err;
        throw new FerryError(err.code, err.message, { cause: err, details: { ...err.details, uploadOffset: partial } });
      }
      if (stat.type === 'directory') return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } };
      const partial = await partialSizeOf(storage, path);
      return {
        status: 200,
        headers: { ...fileHeaders(stat), 'content-length': stat.size, ...(partial === undefined ? {} : { 'upload-offset': partial }) },
      };
    });
  }

  async download(e: Exchange, account: string, storage: Storage, path: string, stat: FileStat): Promise<Reply> {
    const { gate, transfers } = this.services.ctx;
    const range = parseRange(header(e, 'range'), stat.size);
    const handle = await storage.openRead(path, { offset: range?.start ?? 0 });
    // The file may have changed since stat: the open handle's size is what gets sent.
    const end = Math.min(range?.end ?? handle.size - 1, handle.size - 1);
    const start = handle.offset;
    let transfer;
    try {
      gate.check('download');
      transfer = transfers.begin({
        protocol: 'http',
        account,
        remoteAddress: e.session.remoteAddress,
        path,
        direction: 'download',
        size: end + 1,
        offset: start,
        sessionId: e.session.id,
      });
    } catch (err) {
      await handle.close().catch(noop);
      throw err;
    }
    const stream = handle.stream({ end, highWaterMark: READ_CHUNK });
    // Paused first so that listening for progress does not start the flow before the reply pipes it.
    stream.pause();
    const counted = transfer;
    stream.on('data', (chunk: Buffer) => counted.progress(chunk.length));
    let failure: unknown;
    stream.once('error', (err) => (failure = err));
    const onAbort = (): void => e.cut();
    transfer.signal.addEventListener('abort', onAbort, { once: true });
    void e.responseDone().then(async (whole) => {
      counted.signal.removeEventListener('abort', onAbort);
      await handle.close().catch(noop);
      if (whole && failure === undefined) counted.end('completed');
      else if (counted.signal.aborted) counted.end('interrupted', reasonOf(counted.signal.reason));
      else if (failure !== undefined) counted.end('failed', reasonOf(failure));
      else counted.end('interrupted', 'the client closed the connection during the download');
    });
    const length = Math.max(0, end - start + 1);
    const headers: Record<string, string | number> = { ...fileHeaders(stat), 'content-length': length };
    if (range === undefined) return { status: 200, headers, body: stream };
    headers['content-range'] = `bytes ${start}-${end}/${handle.size}`;
    return { status: 206, headers, body: stream };
  }

  async put(e: Exchange): Promise<Reply> {
    const { gate, config } = this.services.ctx;
    gate.check('upload');
    const { account, storage } = await this.services.auth.authenticate(e);
    const path = pathFromUrl(e.path, FILES_PREFIX);
    const length = contentLength(header(e, 'content-length'));
    const range = parseContentRange(header(e, 'content-range'));
    const offset = range?.start ?? 0;
    if (range?.end !== undefined && length !== undefined && length !== range.end - offset + 1) {
      throw new FerryError('FERRY_ERR_BAD_REQUEST', `Content-Length ${length} does not match Content-Range ${header(e, 'content-range') ?? ''}`);
    }
    const total = range?.total ?? (range?.end === undefined && length !== undefined ? offset + length : null);
    const max = config.maxUploadSize;
    if (max !== undefined && total !== null && total > max) {
      throw new FerryError('FERRY_ERR_TOO_LARGE', `${path}: ${total} bytes is more than the ${max} bytes allowed`, { details: { limit: max } });
    }
    const { limit, tooLarge } = bodyLimit(path, offset, range, max);
    const existed = await storage.stat(path).then(
      () => true,
      (err: unknown) => {
        if (isFerryError(err, 'FERRY_ERR_NOT_FOUND')) return false;
        throw err;
      },
    );
    const result = await receiveUpload(this.services, e, {
      account: account.name,
      storage,
      path,
      open: { offset },
      size: total,
      ...(limit === undefined ? {} : { limit, tooLarge }),
      complete: (reached) => completes(range, reached),
    });
    if (result.committed === null) return { status: 202, headers: { 'upload-offset': result.offset } };
    if (existed) return { status: 204 };
    return { status: 201, headers: { location: urlFor(FILES_PREFIX, path) } };
  }

  async remove(e: Exchange): Promise<Reply> {
    const { gate } = this.services.ctx;
    gate.check('delete');
    const { storage } = await this.services.auth.authenticate(e);
    const path = pathFromUrl(e.path, FILES_PREFIX);
    await gate.run('delete', async () => {
      const stat = await storage.lstat(path);
      if (stat.type === 'directory') await storage.rmdir(path);
      else await storage.remove(path);
    });
    return { status: 204 };
  }

  async mkcol(e: Exchange): Promise<Reply> {
    const { gate } = this.services.ctx;
    gate.check('mkdir');
    const { storage } = await this.services.auth.authenticate(e);
    const path = pathFromUrl(e.path, FILES_PREFIX);
    await gate.run('mkdir', () => storage.mkdir(path));
    return { status: 201, headers: { location: urlFor(FILES_PREFIX, path) } };
  }

  async move(e: Exchange): Promise<Reply> {
    const { gate } = this.services.ctx;
    gate.check('rename');
    const { storage } = await this.services.auth.authenticate(e);
    const from = pathFromUrl(e.path, FILES_PREFIX);
    const to = destinationPath(header(e, 'destination'), FILES_PREFIX);
    const overwrite = (header(e, 'overwrite') ?? 'T').trim().toUpperCase() !== 'F';
    const replaced = await gate.run('rename', async () => {
      const exists = await storage.lstat(to).then(
        () => true,
        (err: unknown) => {
          if (isFerryError(err, 'FERRY_ERR_NOT_FOUND')) return false;
          throw err;
        },
      );
      if (exists && !overwrite) throw new FerryError('FERRY_ERR_EXISTS', `${to}: already exists (Overwrite: F)`, { details: { path: to } });
      await storage.rename(from, to);
      return exists;
    });
    return replaced ? { status: 204 } : { status: 201, headers: { location: urlFor(FILES_PREFIX, to) } };
  }
}

/** How many body bytes a PUT may write: up to the range's end or total, and the configured maximum. */
function bodyLimit(
  path: string,
  offset: number,
  range: UploadRange | undefined,
  max: number | undefined,
): { limit?: number; tooLarge: (limit: number) => FerryError } {
  const declared = range?.end !== undefined ? range.end - offset + 1 : range?.total !== undefined ? range.total - offset : undefined;
  const allowed = max === undefined ? undefined : Math.max(0, max - offset);
  const limit = declared === undefined ? allowed : allowed === undefined ? declared : Math.min(declared, allowed);
  return {
    ...(limit === undefined ? {} : { limit }),
    tooLarge: (n) =>
      declared !== undefined && n === declared
        ? new FerryError('FERRY_ERR_BAD_REQUEST', `${path}: the body is longer than its Content-Range (${n} bytes)`)
        : new FerryError('FERRY_ERR_TOO_LARGE', `${path}: more than the ${max ?? n} bytes allowed`, { details: { limit: max ?? n } }),
  };
}

/**
 * Whether a PUT finishes the file: always without Content-Range or with `N-*\/*`; with a total, when
 * the total is reached; `N-M/*` is a chunk that more will follow.
 */
function completes(range: UploadRange | undefined, reached: number): boolean {
  if (range === undefined) return true;
  if (range.total !== undefined) return reached === range.total;
  return range.end === undefined;
}
