import { FerryError, type AuthenticatedAccount } from '@ferry/core';
import { badRequest } from './error-map.js';
import { header, type Exchange, type Reply, type Route } from './exchange.js';
import { pathFromText } from './paths.js';
import { contentLength } from './range.js';
import { receiveUpload } from './receive.js';
import type { HttpdServices } from './services.js';
import type { UploadTicket } from './upload-id.js';

/**
 * Resumable uploads, tus 1.0.0 (core protocol + creation + termination) under /uploads. Stateless:
 * the upload id is a signed ticket (account, target path, length) and the offset is the size of
 * the partial file, so uploads survive restarts and any node sharing the storage and the secret
 * can take the next chunk. Each PATCH is one Transfer; during a drain the chunk in progress
 * completes and the next one gets 503.
 */

export const UPLOADS_PREFIX = '/uploads';
export const TUS_VERSION = '1.0.0';
const TUS_EXTENSIONS = 'creation,termination';
const OFFSET_CONTENT_TYPE = 'application/offset+octet-stream';

const DIGITS = /^\d+$/;

function headerInt(e: Exchange, name: string): number | undefined {
  const value = header(e, name)?.trim();
  if (value === undefined) return undefined;
  const n = DIGITS.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new FerryError('FERRY_ERR_BAD_REQUEST', `${name}: expected a non-negative integer`);
  return n;
}

/** `Upload-Metadata: key base64,key2 base64` → decoded values. */
function parseMetadata(value: string | undefined): Map<string, string> {
  const metadata = new Map<string, string>();
  if (value === undefined || value.trim() === '') return metadata;
  for (const pair of value.split(',')) {
    const [key, encoded, extra] = pair.trim().split(/\s+/);
    if (!key || extra !== undefined) throw new FerryError('FERRY_ERR_BAD_REQUEST', 'Upload-Metadata: expected "key base64value" pairs separated by commas');
    metadata.set(key, encoded === undefined ? '' : Buffer.from(encoded, 'base64').toString('utf8'));
  }
  return metadata;
}

/** The target in the home: metadata `path` (a path from the home), else `filename` (a name in the home). */
function targetPath(metadata: Map<string, string>): string {
  const path = metadata.get('path');
  if (path !== undefined && path !== '') return pathFromText(path);
  const filename = metadata.get('filename');
  if (filename === undefined || filename === '') {
    throw new FerryError('FERRY_ERR_BAD_REQUEST', 'Upload-Metadata must name the target with "path" or "filename"');
  }
  if (filename.includes('/')) throw new FerryError('FERRY_ERR_INVALID_PATH', `filename ${JSON.stringify(filename)}: a name, not a path (use "path")`);
  return pathFromText(filename);
}

function gone(id: string): FerryError {
  return new FerryError('FERRY_ERR_NOT_FOUND', 'no such upload (finished, terminated, or never created)', { details: { upload: id.slice(0, 16) } });
}

export class TusHandlers {
  constructor(private readonly services: HttpdServices) {}

  routes(): Route[] {
    const headers = { 'tus-resumable': TUS_VERSION, 'tus-version': TUS_VERSION };
    const one = `${UPLOADS_PREFIX}/*`;
    return [
      { method: 'OPTIONS', url: UPLOADS_PREFIX, headers, handler: () => this.options() },
      { method: 'OPTIONS', url: one, headers, handler: () => this.options() },
      { method: 'POST', url: UPLOADS_PREFIX, headers, handler: (e) => this.create(e) },
      { method: 'HEAD', url: one, headers, handler: (e) => this.head(e) },
      { method: 'PATCH', url: one, headers, handler: (e) => this.patch(e) },
      { method: 'DELETE', url: one, headers, handler: (e) => this.terminate(e) },
    ];
  }

  async options(): Promise<Reply> {
    const max = this.services.ctx.config.maxUploadSize;
    return { status: 204, headers: { 'tus-extension': TUS_EXTENSIONS, ...(max === undefined ? {} : { 'tus-max-size': max }) } };
  }

  async create(e: Exchange): Promise<Reply> {
    checkVersion(e);
    const { gate, config } = this.services.ctx;
    gate.check('upload');
    const login = await this.services.auth.authenticate(e);
    if (header(e, 'upload-defer-length') !== undefined) throw new FerryError('FERRY_ERR_BAD_REQUEST', 'Upload-Defer-Length is not supported: send Upload-Length');
    const length = headerInt(e, 'upload-length');
    if (length === undefined) throw new FerryError('FERRY_ERR_BAD_REQUEST', 'Upload-Length is required');
    if (config.maxUploadSize !== undefined && length > config.maxUploadSize) {
      throw new FerryError('FERRY_ERR_TOO_LARGE', `Upload-Length ${length} is more than the ${config.maxUploadSize} bytes allowed`, {
        details: { limit: config.maxUploadSize },
      });
    }
    const path = targetPath(parseMetadata(header(e, 'upload-metadata')));
    await gate.run('upload', async () => {
      // A fresh, empty partial: whatever an earlier upload of this target left is not this upload's data.
      const handle = await login.storage.openWrite(path, { offset: 0 });
      if (length === 0) await handle.commit();
      else await handle.abandon();
    });
    const id = this.services.uploadIds.issue({ account: login.account.name, path, length });
    return { status: 201, headers: { location: `${UPLOADS_PREFIX}/${id}`, 'upload-offset': 0 } };
  }

  async head(e: Exchange): Promise<Reply> {
    checkVersion(e);
    const { gate } = this.services.ctx;
    gate.check('stat');
    const { login, ticket, id } = await this.#open(e);
    const offset = await gate.run('stat', () => login.storage.partialSize(ticket.path));
    if (offset === undefined) throw gone(id);
    return { status: 200, headers: { 'upload-offset': offset, 'upload-length': ticket.length, 'cache-control': 'no-store' } };
  }

  async patch(e: Exchange): Promise<Reply> {
    checkVersion(e);
    const contentType = header(e, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    if (contentType !== OFFSET_CONTENT_TYPE) throw badRequest('unsupported-media-type', `PATCH needs Content-Type: ${OFFSET_CONTENT_TYPE}`);
    const offset = headerInt(e, 'upload-offset');
    if (offset === undefined) throw new FerryError('FERRY_ERR_BAD_REQUEST', 'Upload-Offset is required');
    const { gate, config } = this.services.ctx;
    gate.check('upload');
    const { login, ticket, id } = await this.#open(e);
    const chunkLimit = config.uploadChunkSize;
    const left = ticket.length - offset;
    if (left < 0) throw mismatch(ticket.path, offset, 'is beyond Upload-Length');
    const length = contentLength(header(e, 'content-length'));
    if (length !== undefined && length > chunkLimit) throw chunkTooLarge(chunkLimit, offset);
    if (length !== undefined && length > left) throw pastEnd(ticket, offset);
    if ((await login.storage.partialSize(ticket.path)) === undefined) throw gone(id);
    const result = await receiveUpload(this.services, e, {
      account: login.account.name,
      storage: login.storage,
      path: ticket.path,
      // append: continue the partial as it is; opening also takes it over from a chunk cut earlier.
      open: { append: true },
      expectOffset: offset,
      size: ticket.length,
      limit: Math.min(chunkLimit, left),
      tooLarge: (limit) => (limit < chunkLimit ? pastEnd(ticket, offset + limit) : chunkTooLarge(chunkLimit, offset + limit)),
      complete: (reached) => reached === ticket.length,
    });
    return { status: 204, headers: { 'upload-offset': result.offset } };
  }

  async terminate(e: Exchange): Promise<Reply> {
    checkVersion(e);
    const { gate } = this.services.ctx;
    gate.check('delete');
    const { login, ticket, id } = await this.#open(e);
    await gate.run('delete', async () => {
      if ((await login.storage.partialSize(ticket.path)) === undefined) throw gone(id);
      const handle = await login.storage.openWrite(ticket.path, { append: true });
      await handle.discard();
    });
    return { status: 204 };
  }

  /** Authenticates and checks that the upload id is ours and belongs to this account. */
  async #open(e: Exchange): Promise<{ login: AuthenticatedAccount; ticket: UploadTicket; id: string }> {
    const login = await this.services.auth.authenticate(e);
    const id = e.path.slice(UPLOADS_PREFIX.length + 1);
    const ticket = this.services.uploadIds.verify(id);
    // Another account's upload is answered exactly like an unknown one.
    if (ticket === undefined || ticket.account !== login.account.name) throw gone(id);
    return { login, ticket, id };
  }
}

function checkVersion(e: Exchange): void {
  const version = header(e, 'tus-resumable');
  if (version !== TUS_VERSION) {
    throw badRequest('precondition-failed', `Tus-Resumable ${version === undefined ? 'is missing' : `${version} is not supported`}: this server speaks ${TUS_VERSION}`);
  }
}

function mismatch(path: string, offset: number, why: string): FerryError {
  return new FerryError('FERRY_ERR_OFFSET_MISMATCH', `${path}: Upload-Offset ${offset} ${why}`, { details: { path, offset } });
}

function chunkTooLarge(limit: number, offset: number): FerryError {
  return new FerryError('FERRY_ERR_TOO_LARGE', `a chunk may carry at most ${limit} bytes (httpd.uploadChunkSize): send smaller PATCH requests`, {
    details: { limit, uploadOffset: offset },
  });
}

function pastEnd(ticket: UploadTicket, offset: number): FerryError {
  return new FerryError('FERRY_ERR_TOO_LARGE', `${ticket.path}: the chunk runs past Upload-Length ${ticket.length}`, {
    details: { limit: ticket.length, uploadOffset: offset },
  });
}
