import { FerryError, isFerryError, type FileStat, type ReadHandle, type Transfer, type TransferOutcome, type UploadHandle } from '@ferry/core';
import { DATA_HEADER, sealData, statusPacket, STATUS } from './sftp-packets.js';

/** How a closed file's transfer ends; `error` is what the client is told when it is not `completed`. */
export interface FileClosing {
  outcome: TransferOutcome;
  reason: string | null;
  error?: unknown;
}

/** Counts work in flight on one handle, so that CLOSE answers only after it. */
class InFlight {
  #count = 0;
  #waiters: (() => void)[] = [];

  track<T>(work: Promise<T>): Promise<T> {
    this.#count++;
    return work.finally(() => {
      if (--this.#count > 0) return;
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  settled(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** A file opened for reading: one download transfer. Reads run in parallel (they never overlap in effect). */
export class DownloadFile {
  readonly kind = 'download';
  #reachedEnd = false;
  #ended = false;
  readonly #reads = new InFlight();

  constructor(
    readonly path: string,
    private readonly handle: ReadHandle,
    readonly transfer: Transfer,
  ) {}

  /** Size when opened. */
  get size(): number {
    return this.handle.size;
  }

  /**
   * A DATA reply with up to `length` bytes at `offset`, read straight into `packet` (at least
   * DATA_HEADER + length bytes) and returned as a view of it; an EOF status past the end.
   */
  read(id: number, offset: number, length: number, packet: Buffer): Promise<Buffer> {
    return this.#reads.track(this.#read(id, offset, length, packet));
  }

  async #read(id: number, offset: number, length: number, packet: Buffer): Promise<Buffer> {
    const bytes = await this.handle.read(packet.subarray(DATA_HEADER, DATA_HEADER + length), offset);
    if (bytes === 0) {
      this.#reachedEnd = true;
      return statusPacket(id, STATUS.EOF, 'end of file');
    }
    this.transfer.progress(bytes);
    if (offset + bytes >= this.handle.size) this.#reachedEnd = true;
    return sealData(packet, id, bytes);
  }

  async close(): Promise<FileClosing> {
    this.#ended = true;
    await this.#reads.settled();
    try {
      await this.handle.close();
    } catch (err) {
      return { outcome: 'failed', reason: errorText(err), error: err };
    }
    // A client that stops early (sftp's Ctrl-C sends CLOSE) did not get the file.
    if (this.#reachedEnd) return { outcome: 'completed', reason: null };
    return { outcome: 'interrupted', reason: 'the client closed the file before its end' };
  }

  abandon(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.handle.close().catch(() => undefined);
    this.transfer.end('interrupted', reason);
  }
}

/**
 * A file opened for writing: one upload transfer into a partial file, published on CLOSE. Writes
 * are applied one at a time in arrival order, so a cut upload leaves a partial without holes that
 * `reput` can continue from its size.
 */
export class UploadFile {
  readonly kind = 'upload';
  #queue: Promise<void> = Promise.resolve();
  /** Where the next write lands when the file was opened with APPEND; undefined otherwise. */
  #appendAt: number | undefined;
  #failed: unknown;
  #ended = false;
  #times: { atime: Date; mtime: Date } | undefined;

  constructor(
    readonly path: string,
    private readonly upload: UploadHandle,
    readonly transfer: Transfer,
    append: boolean,
  ) {
    this.#appendAt = append ? upload.offset : undefined;
  }

  write(offset: number, data: Buffer): Promise<void> {
    let position = offset;
    // APPEND as OpenSSH's server gives it (O_APPEND): the offset is ignored, bytes go to the end.
    if (this.#appendAt !== undefined) {
      position = this.#appendAt;
      this.#appendAt += data.length;
    }
    const write = this.#queue.then(() => this.#write(position, data));
    this.#queue = write.catch(() => undefined);
    return write;
  }

  async #write(position: number, data: Buffer): Promise<void> {
    // After one failed write every later one fails too: going on would leave a hole in the file.
    if (this.#failed !== undefined) throw this.#failed;
    try {
      await this.upload.write(data, position);
    } catch (err) {
      this.#failed = err;
      throw err;
    }
    this.transfer.progress(data.length);
  }

  /**
   * fsync@openssh.com: once every write queued so far is in the file, forces them to disk. Fails
   * like a write when an earlier write failed (the client must not think its data is safe).
   */
  async sync(): Promise<void> {
    await this.#queue;
    if (this.#failed !== undefined) throw this.#failed;
    await this.upload.sync();
  }

  async size(): Promise<number> {
    await this.#queue;
    return this.upload.size();
  }

  /** Times asked for with FSETSTAT; applied once the file is published (the partial is renamed). */
  setTimes(atime: Date, mtime: Date): void {
    this.#times = { atime, mtime };
  }

  get times(): { atime: Date; mtime: Date } | undefined {
    return this.#times;
  }

  /** Publishes the partial under the final name, unless a write failed (then it stays, resumable). */
  async close(): Promise<FileClosing> {
    this.#ended = true;
    await this.#queue;
    if (this.#failed !== undefined) {
      await this.upload.abandon().catch(() => undefined);
      const error = new FerryError('FERRY_ERR_IO', `close ${this.path}: not published, an earlier write failed`);
      return { outcome: 'failed', reason: errorText(this.#failed), error };
    }
    try {
      await this.upload.commit();
      return { outcome: 'completed', reason: null };
    } catch (err) {
      // A newer upload of the same file took over: this one was cut, not broken.
      const outcome = isFerryError(err, 'FERRY_ERR_TRANSFER_ABORTED') ? 'interrupted' : 'failed';
      return { outcome, reason: errorText(err), error: err };
    }
  }

  /** Keeps the partial for a later resume; never publishes. */
  abandon(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.upload.abandon().catch(() => undefined);
    this.transfer.end('interrupted', reason);
  }
}

/** An OPENDIR listing, read whole when opened and handed out a batch per READDIR. */
export class DirectoryListing {
  readonly kind = 'directory';
  #next = 0;

  constructor(
    readonly path: string,
    private readonly entries: readonly FileStat[],
  ) {}

  /** The next `count` entries; undefined once all were given. */
  take(count: number): readonly FileStat[] | undefined {
    if (this.#next >= this.entries.length) return undefined;
    const batch = this.entries.slice(this.#next, this.#next + count);
    this.#next += batch.length;
    return batch;
  }
}

export type OpenFile = DownloadFile | UploadFile;
export type OpenHandle = OpenFile | DirectoryListing;

const HANDLE_BYTES = 4;

/** The handles of one SFTP session: 4-byte ids, never reused while open. */
export class HandleTable {
  #next = 1;
  #closed = false;
  readonly #open = new Map<number, OpenHandle>();

  constructor(private readonly max: number) {}

  /** True once the session ended: nothing may be added any more. */
  get closed(): boolean {
    return this.#closed;
  }

  get hasRoom(): boolean {
    return this.#open.size < this.max;
  }

  /** Open files (each one a transfer), directories not counted. */
  get files(): number {
    let n = 0;
    for (const handle of this.#open.values()) if (handle.kind !== 'directory') n++;
    return n;
  }

  add(handle: OpenHandle): Buffer {
    while (this.#open.has(this.#next)) this.#next = (this.#next + 1) >>> 0;
    const id = this.#next;
    this.#next = (this.#next + 1) >>> 0;
    this.#open.set(id, handle);
    const bytes = Buffer.allocUnsafe(HANDLE_BYTES);
    bytes.writeUInt32BE(id, 0);
    return bytes;
  }

  get(handle: Buffer): OpenHandle | undefined {
    return handle.length === HANDLE_BYTES ? this.#open.get(handle.readUInt32BE(0)) : undefined;
  }

  /** Removes and returns the handle: once CLOSE starts, nothing else may use it. */
  take(handle: Buffer): OpenHandle | undefined {
    const open = this.get(handle);
    if (open !== undefined) this.#open.delete(handle.readUInt32BE(0));
    return open;
  }

  /** Removes every handle and closes the table (the session ended). */
  takeAll(): OpenHandle[] {
    this.#closed = true;
    const all = [...this.#open.values()];
    this.#open.clear();
    return all;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
