import { FerryError, isFerryError, type FileOperation, type FileStat } from '@ferry/core';
import { attrsOf, nameEntry, UPLOAD_MODE } from './attrs.js';
import { badHandle, statusFor, unsupported, type StatusReply } from './error-map.js';
import { DirectoryListing, DownloadFile, UploadFile, type HandleTable, type OpenFile, type OpenHandle } from './handles.js';
import { PROTOCOL, type SftpContext } from './sftp-context.js';
import {
  attrsPacket,
  EXTENSIONS,
  extendedReplyPacket,
  handlePacket,
  namePacket,
  OPEN_FLAG,
  STATUS,
  statusPacket,
  type Attrs,
} from './sftp-packets.js';
import type { SftpRequest } from './sftp-requests.js';

/** A reply, and what to do once it has left (end a transfer only after its CLOSE is answered). */
export interface Answer {
  packet: Buffer;
  afterSend?: () => void;
}

/** NAME entries per READDIR reply: a few dozen KiB, well under any client's packet limit. */
const READDIR_BATCH = 100;

export interface Limits {
  maxReadSize: number;
  maxWriteSize: number;
  maxPacketLength: number;
  maxOpenHandles: number;
}

const ok = (id: number): Buffer => statusPacket(id, STATUS.OK, '');

/**
 * Every request except READ and WRITE (which the server runs on its fast path): path operations,
 * handle bookkeeping and the OpenSSH extensions. New file operations pass the admission gate, which
 * refuses them during a drain (see README, "During a drain"); requests on handles already open, and
 * REALPATH, which only computes a name, never do.
 */
export class SftpOperations {
  constructor(
    private readonly session: SftpContext,
    private readonly handles: HandleTable,
    private readonly limits: Limits,
    /** A transfer of this session was cut by the core (drain deadline, immediate stop). */
    private readonly onCut: (reason: string) => void,
  ) {}

  async run(request: Exclude<SftpRequest, { kind: 'read' | 'write' }>): Promise<Buffer | Answer> {
    const { id } = request;
    switch (request.kind) {
      case 'open':
        return (request.flags & OPEN_FLAG.WRITE) !== 0 ? this.#openUpload(request) : this.#openDownload(request);
      case 'close':
        return this.#close(id, request.handle);
      case 'opendir':
        return this.#admit('list', async () => {
          this.#needRoom();
          const listing = new DirectoryListing(request.path, await this.#storage.list(request.path));
          return handlePacket(id, this.#register(listing));
        });
      case 'readdir':
        return this.#readdir(id, request.handle);
      case 'stat':
      case 'lstat':
        return this.#admit('stat', async () => attrsPacket(id, attrsOf(await this.#stat(request.path, request.kind === 'stat'))));
      case 'fstat': {
        const handle = this.handles.get(request.handle);
        return handle === undefined ? this.#status(id, badHandle()) : attrsPacket(id, await this.#fstat(handle));
      }
      case 'setstat':
        return this.#admit('stat', async () => {
          await this.#applyAttrs(request.path, request.attrs, (await this.#storage.stat(request.path)).size);
          return ok(id);
        });
      case 'fsetstat':
        return this.#fsetstat(id, request.handle, request.attrs);
      case 'remove':
        return this.#admit('delete', async () => (await this.#storage.remove(request.path), ok(id)));
      case 'rmdir':
        return this.#admit('rmdir', async () => (await this.#storage.rmdir(request.path), ok(id)));
      case 'mkdir':
        return this.#admit('mkdir', async () => (await this.#storage.mkdir(request.path), ok(id)));
      case 'rename':
        return this.#admit('rename', async () => {
          // SFTP v3 RENAME does not replace (OpenSSH's server refuses too); posix-rename does.
          if (await this.#exists(request.to, false)) throw new FerryError('FERRY_ERR_EXISTS', `rename ${request.to}: already exists`);
          await this.#storage.rename(request.from, request.to);
          return ok(id);
        });
      case 'realpath': {
        const path = await this.#storage.realpath(request.path === '' ? '.' : request.path);
        return namePacket(id, [{ filename: path, longname: path, attrs: {} }]);
      }
      case 'readlink':
        return this.#admit('stat', async () => {
          const target = await this.#storage.readlink(request.path);
          return namePacket(id, [{ filename: target, longname: target, attrs: {} }]);
        });
      case 'symlink':
        // Creating a name in a directory is new work, like an upload.
        return this.#admit('upload', async () => (await this.#storage.symlink(request.target, request.link), ok(id)));
      case 'extended':
        return this.#extended(request);
      case 'unknown':
        return this.#status(id, unsupported(`request type ${request.type}`));
    }
  }

  get #storage() {
    return this.session.storage;
  }

  #admit<T>(operation: FileOperation, work: () => Promise<T>): Promise<T> {
    return this.session.ctx.gate.run(operation, work);
  }

  #status(id: number, reply: StatusReply): Buffer {
    return statusPacket(id, reply.code, reply.message);
  }

  #needRoom(): void {
    if (!this.handles.hasRoom) {
      throw new FerryError('FERRY_ERR_TOO_LARGE', `too many open handles (at most ${this.limits.maxOpenHandles} per session)`);
    }
  }

  /** Adds a handle; a file opened while its session ended is given up at once, never leaked. */
  #register(handle: OpenFile | DirectoryListing): Buffer {
    if (this.handles.closed) {
      if (handle.kind !== 'directory') handle.abandon('the session ended while the file was being opened');
      throw new FerryError('FERRY_ERR_TRANSFER_ABORTED', 'the session ended');
    }
    const added = this.handles.add(handle);
    if (handle.kind !== 'directory') handle.transfer.onAbort((reason) => this.onCut(reason.message));
    return added;
  }

  #beginTransfer(path: string, direction: 'upload' | 'download', size: number | null, offset: number) {
    const { ctx, account, sessionId, remoteAddress } = this.session;
    return ctx.transfers.begin({ protocol: PROTOCOL, account, remoteAddress, path, direction, size, offset, sessionId });
  }

  #openDownload(request: Extract<SftpRequest, { kind: 'open' }>): Promise<Buffer> {
    return this.#admit('download', async () => {
      this.#needRoom();
      const handle = await this.#storage.openRead(request.path);
      const transfer = this.#beginTransfer(handle.path, 'download', handle.size, 0);
      return handlePacket(request.id, this.#register(new DownloadFile(handle.path, handle, transfer)));
    });
  }

  /**
   * TRUNC starts a fresh partial. Anything else continues what is stored (the partial, else a copy
   * of the published file): that is what `reput` / `put -a` (APPEND) and clients that resume by
   * writing at the remote size (no TRUNC) expect. The final name changes only on CLOSE.
   */
  #openUpload(request: Extract<SftpRequest, { kind: 'open' }>): Promise<Buffer> {
    const { flags, path } = request;
    return this.#admit('upload', async () => {
      this.#needRoom();
      if ((flags & OPEN_FLAG.EXCL) !== 0 || (flags & OPEN_FLAG.CREAT) === 0) {
        const exists = await this.#exists(path, true);
        if ((flags & OPEN_FLAG.EXCL) !== 0 && exists) throw new FerryError('FERRY_ERR_EXISTS', `open ${path}: already exists`);
        if ((flags & OPEN_FLAG.CREAT) === 0 && !exists) throw new FerryError('FERRY_ERR_NOT_FOUND', `open ${path}: no such file or directory`);
      }
      const truncate = (flags & OPEN_FLAG.TRUNC) !== 0;
      const upload = await this.#storage.openWrite(path, truncate ? { offset: 0 } : { append: true });
      const transfer = this.#beginTransfer(upload.path, 'upload', null, upload.offset);
      const file = new UploadFile(upload.path, upload, transfer, (flags & OPEN_FLAG.APPEND) !== 0);
      return handlePacket(request.id, this.#register(file));
    });
  }

  async #close(id: number, raw: Buffer): Promise<Buffer | Answer> {
    const handle = this.handles.take(raw);
    if (handle === undefined) return this.#status(id, badHandle());
    if (handle.kind === 'directory') return ok(id);
    const closing = await handle.close();
    if (handle.kind === 'upload' && closing.outcome === 'completed' && handle.times !== undefined) {
      // Times from `put -p` belong to the published file; a failure here does not unpublish it.
      await this.#storage.setTimes(handle.path, handle.times.atime, handle.times.mtime).catch((err: unknown) => {
        this.session.ctx.log.warn({ err, path: handle.path }, 'could not set the times of an uploaded file');
      });
    }
    const packet = closing.error === undefined ? ok(id) : this.#status(id, statusFor(closing.error));
    // Ended only once the reply is queued: ending the last transfer may close the session (drain).
    return { packet, afterSend: () => handle.transfer.end(closing.outcome, closing.reason) };
  }

  #readdir(id: number, raw: Buffer): Buffer {
    const listing = this.handles.get(raw);
    if (listing?.kind !== 'directory') return this.#status(id, badHandle());
    const batch = listing.take(READDIR_BATCH);
    if (batch === undefined) return statusPacket(id, STATUS.EOF, 'end of directory');
    const now = Date.now();
    return namePacket(
      id,
      batch.map((stat) => nameEntry(stat, this.session.account, now)),
    );
  }

  /**
   * stat/lstat of a name with no published file but a partial upload answer with the partial's
   * size: OpenSSH's `reput` stats the remote file to learn where to resume, then opens with APPEND.
   */
  async #stat(path: string, follow: boolean): Promise<FileStat> {
    try {
      return follow ? await this.#storage.stat(path) : await this.#storage.lstat(path);
    } catch (err) {
      if (!isFerryError(err, 'FERRY_ERR_NOT_FOUND')) throw err;
      const partial = await this.#storage.partialSize(path).catch(() => undefined);
      if (partial === undefined) throw err;
      const name = path.split('/').filter(Boolean).at(-1) ?? '/';
      return { name, path, type: 'file', size: partial, mtime: new Date(), mode: UPLOAD_MODE };
    }
  }

  async #exists(path: string, countPartial: boolean): Promise<boolean> {
    try {
      await (countPartial ? this.#stat(path, false) : this.#storage.lstat(path));
      return true;
    } catch (err) {
      if (isFerryError(err, 'FERRY_ERR_NOT_FOUND')) return false;
      throw err;
    }
  }

  async #fstat(handle: OpenHandle): Promise<Attrs> {
    if (handle.kind === 'upload') return attrsOf({ size: await handle.size(), mode: UPLOAD_MODE, mtime: new Date() });
    const stat = await this.#storage.stat(handle.path).catch(() => undefined);
    if (handle.kind === 'directory') {
      if (stat === undefined) throw new FerryError('FERRY_ERR_NOT_FOUND', `fstat ${handle.path}: no such file or directory`);
      return attrsOf(stat);
    }
    // The size the download was opened with: what the client will be able to read.
    return attrsOf({ size: handle.size, mode: stat?.mode ?? UPLOAD_MODE, mtime: stat?.mtime ?? new Date() });
  }

  async #fsetstat(id: number, raw: Buffer, attrs: Attrs): Promise<Buffer> {
    const handle = this.handles.get(raw);
    if (handle === undefined) return this.#status(id, badHandle());
    if (handle.kind !== 'upload') {
      await this.#applyAttrs(handle.path, attrs, handle.kind === 'download' ? handle.size : undefined);
      return ok(id);
    }
    if (attrs.size !== undefined && attrs.size !== (await handle.size())) return this.#status(id, unsupported('changing the size of a file'));
    if (attrs.mtime !== undefined) handle.setTimes(new Date((attrs.atime ?? attrs.mtime) * 1000), new Date(attrs.mtime * 1000));
    return ok(id);
  }

  /**
   * Times are applied. Permission and ownership changes are accepted and ignored: the storage
   * decides modes, and `put -p` must not fail over them. A size change (truncate) is refused.
   */
  async #applyAttrs(path: string, attrs: Attrs, currentSize: number | undefined): Promise<void> {
    if (attrs.size !== undefined && attrs.size !== currentSize) {
      throw new FerryError('FERRY_ERR_PERMISSION_DENIED', `setstat ${path}: changing the size of a file is not supported`);
    }
    if (attrs.mtime !== undefined) {
      await this.#storage.setTimes(path, new Date((attrs.atime ?? attrs.mtime) * 1000), new Date(attrs.mtime * 1000));
    }
  }

  async #extended(request: Extract<SftpRequest, { kind: 'extended' }>): Promise<Buffer> {
    const { id, body } = request;
    switch (request.name) {
      case EXTENSIONS.POSIX_RENAME: {
        const from = body.text();
        const to = body.text();
        return this.#admit('rename', async () => (await this.#storage.rename(from, to), ok(id)));
      }
      case EXTENSIONS.LIMITS:
        return extendedReplyPacket(id, (p) =>
          p.u64(this.limits.maxPacketLength).u64(this.limits.maxReadSize).u64(this.limits.maxWriteSize).u64(this.limits.maxOpenHandles),
        );
      case EXTENSIONS.STATVFS: {
        const path = body.text();
        return this.#admit('stat', async () => (await this.#storage.stat(path), this.#statvfs(id)));
      }
      case EXTENSIONS.FSTATVFS:
        if (this.handles.get(body.bytes()) === undefined) return this.#status(id, badHandle());
        return this.#statvfs(id);
      case EXTENSIONS.FSYNC: {
        const handle = this.handles.get(body.bytes());
        if (handle === undefined) return this.#status(id, badHandle());
        // Every write sent before it is in the partial and on disk when this is answered. A file
        // opened for reading has nothing of the client's to sync.
        if (handle.kind === 'upload') await handle.sync();
        return ok(id);
      }
      default:
        return this.#status(id, unsupported(request.name));
    }
  }

  async #statvfs(id: number): Promise<Buffer> {
    if (this.#storage.statfs === undefined) return this.#status(id, unsupported(EXTENSIONS.STATVFS));
    const space = await this.#storage.statfs();
    return extendedReplyPacket(id, (p) =>
      p
        .u64(space.bsize) // f_bsize
        .u64(space.bsize) // f_frsize
        .u64(space.blocks)
        .u64(space.bfree)
        .u64(space.bavail)
        .u64(space.files)
        .u64(space.ffree)
        .u64(space.ffree) // f_favail
        .u64(0) // f_fsid: the host's is none of the client's business
        .u64(0) // f_flag
        .u64(255), // f_namemax
    );
  }
}
