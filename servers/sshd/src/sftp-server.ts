import type { BufferPool, Logger } from '@ferry/core';
import type { SftpChannel } from './driver.js';
import { badHandle, malformed, statusFor, type StatusReply } from './error-map.js';
import { HandleTable } from './handles.js';
import type { SftpContext } from './sftp-context.js';
import { SftpOperations, type Answer, type Limits } from './sftp-operations.js';
import { ADVERTISED_EXTENSIONS, DATA_HEADER, MalformedPacket, PACKET, STATUS, statusPacket, versionPacket } from './sftp-packets.js';
import { decodeRequest, type SftpRequest } from './sftp-requests.js';

/**
 * Requests and bytes one session may have in progress before the channel stops reading: the
 * client's window then stops being replenished and it waits. This bounds a session's memory; it
 * costs no speed, since a file's writes are applied one at a time anyway (8 MiB is 32 writes of
 * 255 KiB queued behind the disk).
 */
const MAX_REQUESTS = 1024;
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

/** Split packets at least this large are assembled in a pooled buffer (WRITE requests, in practice). */
const POOLED_PACKET = 16 * 1024;

export interface SftpServerOptions {
  context: SftpContext;
  channel: SftpChannel;
  limits: Limits;
  /** Buffers of at least the largest packet either way (maxPacketLength, DATA_HEADER + maxReadSize). */
  pool: BufferPool;
  log: Logger;
  /** The channel is gone; the server has given up whatever was still open. */
  onClosed(): void;
}

/**
 * One SFTP session on one SSH channel: frames packets, answers INIT, runs requests and writes the
 * replies. READ and WRITE take the fast path (reads in parallel, writes in order per file); every
 * other request runs in arrival order, so that requests about the same file keep their order.
 */
export class SftpServer {
  readonly #channel: SftpChannel;
  readonly #handles: HandleTable;
  readonly #operations: SftpOperations;
  readonly #limits: Limits;
  readonly #pool: BufferPool;
  readonly #log: Logger;
  readonly #onClosed: () => void;
  // Framing: the length prefix may arrive split, the packet across many channel chunks.
  readonly #length = Buffer.alloc(4);
  #lengthHave = 0;
  #packet: Buffer | undefined;
  /** The pooled buffer `#packet` is a view of, if it is one. */
  #packetPooled: Buffer | undefined;
  #packetHave = 0;
  #initialized = false;
  /** No more input is read and no more replies are sent. */
  #dead = false;
  #clientEnded = false;
  #inOrder: Promise<unknown> = Promise.resolve();
  #readsInOrder: Promise<unknown> = Promise.resolve();
  #busy = 0;
  #busyBytes = 0;
  #outputBlocked = false;
  #paused = false;
  #quietWaiters: (() => void)[] = [];

  constructor(options: SftpServerOptions) {
    this.#channel = options.channel;
    this.#limits = options.limits;
    this.#pool = options.pool;
    this.#log = options.log;
    this.#onClosed = options.onClosed;
    this.#handles = new HandleTable(options.limits.maxOpenHandles);
    this.#operations = new SftpOperations(options.context, this.#handles, options.limits, (reason) => this.cut(reason));
    this.#channel.onData((chunk) => this.#onData(chunk));
    this.#channel.onEnd(() => {
      this.#clientEnded = true;
      this.#finishIfDone();
    });
    this.#channel.onDrain(() => {
      this.#outputBlocked = false;
      this.#updateFlow();
    });
    this.#channel.onClose(() => this.#onChannelClosed());
  }

  /** Files open (each one a transfer). */
  get openFiles(): number {
    return this.#handles.files;
  }

  /** Resolves when no request is in progress (at once if none is). */
  whenQuiet(): Promise<void> {
    if (this.#busy === 0 || this.#dead) return Promise.resolve();
    return new Promise((resolve) => this.#quietWaiters.push(resolve));
  }

  /** Ends the session from our side (nothing is open): the reason on stderr, then EOF and close. */
  end(reason: string): void {
    if (this.#dead) return;
    this.#giveUp(reason);
    this.#dead = true;
    this.#channel.notice(reason);
    this.#channel.finish();
  }

  /** A transfer was cut by the core: give up every open file (partials stay) and close the channel. */
  cut(reason: string): void {
    this.#giveUp(reason);
    this.#dead = true;
    this.#channel.close();
  }

  #onData(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.#dead) {
      if (this.#packet === undefined) {
        const take = Math.min(4 - this.#lengthHave, chunk.length - at);
        chunk.copy(this.#length, this.#lengthHave, at, at + take);
        this.#lengthHave += take;
        at += take;
        if (this.#lengthHave < 4) return;
        this.#lengthHave = 0;
        const length = this.#length.readUInt32BE(0);
        if (length === 0 || length > this.#limits.maxPacketLength) {
          this.#fatal(`packet length ${length} is outside 1..${this.#limits.maxPacketLength}`);
          return;
        }
        // A packet wholly inside this chunk is used in place; only split packets are copied.
        if (chunk.length - at >= length) {
          const packet = chunk.subarray(at, at + length);
          at += length;
          this.#onPacket(packet, undefined);
          continue;
        }
        this.#packetPooled = length >= POOLED_PACKET && length <= this.#pool.size ? this.#pool.take() : undefined;
        this.#packet = this.#packetPooled?.subarray(0, length) ?? Buffer.allocUnsafe(length);
        this.#packetHave = 0;
      }
      const packet = this.#packet;
      const take = Math.min(packet.length - this.#packetHave, chunk.length - at);
      chunk.copy(packet, this.#packetHave, at, at + take);
      this.#packetHave += take;
      at += take;
      if (this.#packetHave < packet.length) return;
      const pooled = this.#packetPooled;
      this.#packet = undefined;
      this.#packetPooled = undefined;
      this.#onPacket(packet, pooled);
    }
  }

  /**
   * `pooled`: the pool buffer `packet` lives in. Only a WRITE keeps it (until its data is in the
   * file); any other request may hold views of its packet for a while, so it gets a copy.
   */
  #onPacket(input: Buffer, pooled: Buffer | undefined): void {
    let packet = input;
    if (pooled !== undefined && packet[0] !== PACKET.WRITE) {
      packet = Buffer.from(input);
      this.#pool.give(pooled);
      pooled = undefined;
    }
    if (!this.#initialized) {
      if (packet[0] !== PACKET.INIT || packet.length < 5) return this.#fatal('the first packet is not INIT');
      this.#initialized = true;
      // Version 3 whatever the client offers: it is the only one OpenSSH and most clients speak.
      this.#send(versionPacket(ADVERTISED_EXTENSIONS));
      return;
    }
    let request: SftpRequest;
    try {
      request = decodeRequest(packet);
    } catch (err) {
      const id = err instanceof MalformedPacket ? err.requestId : undefined;
      if (id === undefined) return this.#fatal(err instanceof Error ? err.message : 'undecodable packet');
      this.#log.debug({ err }, 'malformed sftp request');
      this.#send(this.#statusPacket(id, malformed(err instanceof Error ? err.message : 'undecodable')));
      return;
    }
    switch (request.kind) {
      case 'read': {
        const length = Math.min(request.length, this.#limits.maxReadSize);
        const buffer = DATA_HEADER + length <= this.#pool.size ? this.#pool.take() : Buffer.allocUnsafe(DATA_HEADER + length);
        // The buffer goes back to the pool once the channel has copied the reply out of it.
        const release = (): void => this.#pool.give(buffer);
        // Reads run in parallel but are answered in the order they came: OpenSSH's client (scp's
        // in-place download) truncates the file at the first reply that arrives out of order.
        const read = this.#read(request.id, request.handle, request.offset, length, buffer);
        read.catch(() => undefined); // its failure is answered in turn below, not an unhandled rejection
        const answered = this.#readsInOrder.then(() => read);
        this.#readsInOrder = answered.catch(() => undefined);
        this.#track(request.id, length, answered, release);
        return;
      }
      case 'write': {
        const write = this.#write(request.id, request.handle, request.offset, request.data);
        if (pooled !== undefined) {
          const buffer = pooled;
          void write.finally(() => this.#pool.give(buffer)).catch(() => undefined);
        }
        this.#track(request.id, packet.length, write);
        return;
      }
      default: {
        const run = this.#inOrder.then(() => this.#operations.run(request));
        this.#inOrder = run.catch(() => undefined);
        this.#track(request.id, packet.length, run);
      }
    }
  }

  async #read(id: number, raw: Buffer, offset: number, length: number, buffer: Buffer): Promise<Buffer> {
    const file = this.#handles.get(raw);
    if (file?.kind !== 'download') return this.#statusPacket(id, badHandle());
    return file.read(id, offset, length, buffer);
  }

  async #write(id: number, raw: Buffer, offset: number, data: Buffer): Promise<Buffer> {
    const file = this.#handles.get(raw);
    if (file?.kind !== 'upload') return this.#statusPacket(id, badHandle());
    await file.write(offset, data);
    return statusPacket(id, STATUS.OK, '');
  }

  /**
   * Counts a request until it is answered; stops reading while too much is in progress. `release`
   * runs once the reply has been copied out (or at once when there is no reply to send).
   */
  #track(id: number, bytes: number, work: Promise<Buffer | Answer>, release?: () => void): void {
    this.#busy++;
    this.#busyBytes += bytes;
    this.#updateFlow();
    work
      .then(
        (answer) => {
          if (Buffer.isBuffer(answer)) return this.#send(answer, release);
          this.#send(answer.packet, release);
          // After the reply has left (writes are flushed at the end of this loop turn): ending a
          // transfer records its history, and the client should not wait for that.
          if (answer.afterSend) setImmediate(answer.afterSend);
        },
        (err: unknown) => {
          release?.();
          this.#send(this.#statusPacket(id, statusFor(err), err));
        },
      )
      .catch((err: unknown) => this.#log.error({ err }, 'sftp reply failed'))
      .finally(() => {
        this.#busy--;
        this.#busyBytes -= bytes;
        this.#updateFlow();
        if (this.#busy === 0) this.#onQuiet();
      });
  }

  #statusPacket(id: number, reply: StatusReply, err?: unknown): Buffer {
    if (reply.internal) this.#log.error({ err }, `sftp request failed: ${reply.message}`);
    return statusPacket(id, reply.code, reply.message);
  }

  #send(packet: Buffer, written?: () => void): void {
    if (this.#dead) return written?.();
    if (!this.#channel.write(packet, written)) {
      this.#outputBlocked = true;
      this.#updateFlow();
    }
  }

  #updateFlow(): void {
    if (this.#dead) return;
    const pause = this.#outputBlocked || this.#busy >= MAX_REQUESTS || this.#busyBytes >= MAX_REQUEST_BYTES;
    if (pause === this.#paused) return;
    this.#paused = pause;
    if (pause) this.#channel.pause();
    else this.#channel.resume();
  }

  #onQuiet(): void {
    for (const wake of this.#quietWaiters.splice(0)) wake();
    this.#finishIfDone();
  }

  /** The client sent EOF and every request it sent has been answered: answer with our own end. */
  #finishIfDone(): void {
    if (!this.#clientEnded || this.#busy > 0 || this.#dead) return;
    this.#giveUp('the client ended the session without closing the file');
    this.#dead = true;
    this.#channel.finish();
  }

  #fatal(reason: string): void {
    this.#log.warn({ reason }, `closing an sftp session: ${reason}`);
    this.cut(`malformed sftp stream: ${reason}`);
  }

  /** Ends every open file `interrupted` (uploads stay resumable partials) and stops serving. */
  #giveUp(reason: string): void {
    for (const handle of this.#handles.takeAll()) if (handle.kind !== 'directory') handle.abandon(reason);
  }

  #onChannelClosed(): void {
    this.#giveUp('connection lost');
    this.#dead = true;
    this.#packet = undefined;
    for (const wake of this.#quietWaiters.splice(0)) wake();
    this.#onClosed();
  }
}
