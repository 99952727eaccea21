import { EventEmitter } from 'node:events';
import { Socket, type Server } from 'node:net';

/**
 * Plain data connections read straight into the upload's own buffers (Node's `onread`), not into
 * a fresh 64 KiB buffer per read. Those buffers were about 1 GiB of allocations per GiB uploaded:
 * each a malloc, an ArrayBuffer for V8 to track and a copy, and enough external memory to start a
 * full garbage collection every few dozen megabytes (115 of them for four 1 GiB uploads, with
 * their marking threads busy on the CPU the client needs).
 *
 * Node 20 offers `onread` only for sockets it creates (`net.connect`, `new Socket`), not for those
 * a server accepts. A passive listener makes its sockets itself (acceptDirectly: the accepted
 * handle goes straight into a Socket made with `onread`); elsewhere an accepted socket that has
 * not read anything yet (servers here pause on connect) hands its handle to a new Socket made so,
 * and the old one is let go without closing the handle. Either way the socket is not in the
 * server's connection count.
 *
 * A passive listener's plain uploads go one step further: no Socket at all (RawConnection). Making
 * a Socket, asking it for its peer and destroying it cost about 90 µs of JavaScript per data
 * connection, a seventh of ftpd's CPU per small file; reading the accepted handle directly costs
 * a few. A connection becomes a Socket only when a download, a listing or TLS needs one.
 */

/** Where a socket in direct mode reads to. */
export interface ReadTarget {
  /** The buffer the next read lands in (its start). */
  space(): Buffer;
  /** `bytes` were read into the buffer `space()` last returned; false pauses the socket. */
  filled(bytes: number): boolean;
  /** Bytes that were read elsewhere (before this target was attached); false pauses the socket. */
  push(chunk: Buffer): boolean;
}

/** What a socket in direct mode reads while no target is attached: read into this scratch space and dropped. */
const DISCARD_BYTES = 16 * 1024;

class DirectReads {
  target: ReadTarget | undefined;
  /** Whose space the socket's next read lands in (undefined: the scratch buffer). */
  #nextFor: ReadTarget | undefined;
  #scratch: Buffer | undefined;

  nextBuffer(): Buffer {
    const space = this.target?.space();
    // An empty buffer would fail the read (ENOBUFS); what lands in the scratch buffer is copied over.
    this.#nextFor = space !== undefined && space.length > 0 ? this.target : undefined;
    return this.#nextFor !== undefined ? (space as Buffer) : (this.#scratch ??= Buffer.allocUnsafe(DISCARD_BYTES));
  }

  read(bytes: number, into: Uint8Array): boolean {
    const target = this.target;
    if (target === undefined) return true;
    if (this.#nextFor === target) return target.filled(bytes);
    // The read landed in a buffer handed out before this target was attached: copied over once.
    return target.push(Buffer.from(into.buffer, into.byteOffset, bytes));
  }
}

const direct = new WeakMap<Socket, DirectReads>();

interface WithHandle {
  _handle?: object | null;
}

/** Node's listening handle: it calls onconnection with each accepted connection's handle. */
interface ListenHandle {
  onconnection?: (this: unknown, err: number, clientHandle?: object) => void;
}

/** A paused Socket in direct mode on an accepted connection's handle. */
function directSocket(handle: object): Socket {
  const reads = new DirectReads();
  const socket = new Socket({
    handle,
    pauseOnCreate: true,
    onread: { buffer: () => reads.nextBuffer(), callback: (bytes: number, into: Uint8Array) => reads.read(bytes, into) },
  } as ConstructorParameters<typeof Socket>[0]);
  direct.set(socket, reads);
  return socket;
}

/** What a passive listener hands over: a paused Socket in direct mode, or the bare connection. */
export type Accepted = Socket | RawConnection;

/**
 * From now on `server` (listening) hands its connections to `accept` without making a Socket for
 * them (RawConnection), or, where the runtime does not allow that, as paused Sockets in direct
 * mode; a TLS socket over one reads through its own wrap, as over any other. Where the listening
 * handle cannot be taken, nothing changes: `accept` gets the server's own sockets, and
 * readDirectly swaps them later.
 */
export function acceptDirectly(server: Server, accept: (connection: Accepted) => void): void {
  server.on('connection', (socket: Socket) => accept(socket));
  const listening = (server as unknown as { _handle?: ListenHandle | null })._handle;
  const nodeAccept = listening?.onconnection;
  if (listening === undefined || listening === null || typeof nodeAccept !== 'function') return;
  listening.onconnection = function (err, clientHandle) {
    if (err || typeof clientHandle !== 'object') return nodeAccept.call(this, err, clientHandle);
    accept(isRawHandle(clientHandle) ? new RawConnection(clientHandle) : directSocket(clientHandle));
  };
}

/**
 * `accepted` in direct mode: itself when it already is, or else a new Socket on the same
 * connection, paused. Returns `accepted` itself when it has started reading or its handle cannot
 * be taken (then Node's reads are used).
 */
export function readDirectly(accepted: Socket): Socket {
  if (direct.has(accepted)) return accepted;
  const raw = accepted as unknown as WithHandle;
  const handle = raw._handle;
  if (typeof handle !== 'object' || handle === null || accepted.bytesRead > 0 || accepted.isPaused() === false) return accepted;
  raw._handle = null;
  accepted.destroy();
  return directSocket(handle);
}

/**
 * Sends what `socket` reads to `target` from now on (undefined: discards it). False when the
 * socket is not in direct mode; its reads then come as 'data' events as usual.
 */
export function readInto(socket: InboundData, target: ReadTarget | undefined): boolean {
  if (socket instanceof RawConnection) {
    socket.target = target;
    return true;
  }
  const reads = direct.get(socket as Socket);
  if (reads === undefined) return false;
  reads.target = target;
  return true;
}

/** The connection's file descriptor where Node exposes it (its handle's), for options Node has no call for. */
export function socketFd(socket: InboundData): number | undefined {
  const fd = socket instanceof RawConnection ? socket.fd : (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * What an upload reads from: a Socket (plain or TLS), or a RawConnection. The members are the
 * Socket's own, so that a Socket is one as it is.
 */
export interface InboundData {
  readonly readableEnded: boolean;
  readonly destroyed: boolean;
  resume(): unknown;
  pause(): unknown;
  /** Closes now (an error, when given, is emitted first). */
  destroy(error?: Error): unknown;
  /** Our side is done: FIN (and, over TLS, close_notify first). */
  end(): unknown;
  /** Cut after `ms` without a read. */
  setTimeout(ms: number, onIdle: () => void): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'end' | 'close', listener: () => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
}

/** Node's stream handle, as a RawConnection uses it (the calls net.Socket makes on it). */
interface RawHandle {
  readonly fd: number;
  onread: (this: RawHandle) => Uint8Array | undefined;
  useUserBuffer(buffer: Uint8Array): void;
  readStart(): number;
  readStop(): number;
  getpeername(out: { address?: string }): number;
  close(callback: () => void): void;
}

/**
 * Where the runtime leaves a read's byte count for `onread` (Node's stream_wrap state, the same
 * array net.Socket reads it from), and libuv's end-of-stream code. Undefined where process.binding
 * does not give them: connections are then Sockets as before.
 */
const streamState = ((): { state: Int32Array; readBytes: number; eof: number } | undefined => {
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const stream = binding('stream_wrap');
    const uv = binding('uv');
    if (!(stream.streamBaseState instanceof Int32Array) || typeof stream.kReadBytesOrError !== 'number' || typeof uv.UV_EOF !== 'number') return undefined;
    return { state: stream.streamBaseState, readBytes: stream.kReadBytesOrError, eof: uv.UV_EOF };
  } catch {
    return undefined;
  }
})();

function isRawHandle(handle: object): handle is RawHandle {
  const h = handle as Partial<Record<keyof RawHandle, unknown>>;
  return (
    streamState !== undefined &&
    typeof h.fd === 'number' &&
    typeof h.useUserBuffer === 'function' &&
    typeof h.readStart === 'function' &&
    typeof h.readStop === 'function' &&
    typeof h.getpeername === 'function' &&
    typeof h.close === 'function'
  );
}

/**
 * An accepted connection without a Socket: it reads the handle itself, straight into its
 * target's buffers (with a 16 KiB scratch buffer while there is none, as DirectReads), and closes
 * it. Made for plain uploads; socket() turns it into a paused Socket in direct mode for anything
 * else, as long as it has not started reading.
 */
export class RawConnection extends EventEmitter implements InboundData {
  target: ReadTarget | undefined;
  readableEnded = false;
  destroyed = false;
  #handle: RawHandle | null;
  #reading = false;
  #nextFor: ReadTarget | undefined;
  #scratch: Buffer | undefined;
  #idle: NodeJS.Timeout | undefined;

  constructor(handle: RawHandle) {
    super();
    this.#handle = handle;
  }

  /** The descriptor while the connection is open, for socket options (socketFd). */
  get fd(): number | undefined {
    return this.#handle?.fd;
  }

  get remoteAddress(): string | undefined {
    const out: { address?: string } = {};
    return this.#handle !== null && this.#handle.getpeername(out) === 0 ? out.address : undefined;
  }

  /** This connection as a paused Socket in direct mode; it is the Socket's from now on. */
  socket(): Socket {
    const handle = this.#handle;
    if (handle === null || this.#reading) throw new Error('RawConnection.socket() after it was read from or closed');
    this.#handle = null;
    this.destroyed = true;
    return directSocket(handle);
  }

  resume(): void {
    const handle = this.#handle;
    if (handle === null || this.readableEnded) return;
    if (!this.#reading) {
      this.#reading = true;
      handle.useUserBuffer(this.#nextBuffer());
      handle.onread = () => this.#onRead();
    }
    handle.readStart();
  }

  pause(): void {
    this.#handle?.readStop();
  }

  setTimeout(ms: number, onIdle: () => void): void {
    clearTimeout(this.#idle);
    this.#idle = setTimeout(onIdle, ms);
    this.#idle.unref();
  }

  /** Our side is done: closing the handle sends the FIN (everything was read, so no reset). */
  end(): void {
    this.destroy();
  }

  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    clearTimeout(this.#idle);
    const handle = this.#handle;
    this.#handle = null;
    if (error !== undefined && this.listenerCount('error') > 0) this.emit('error', error);
    handle?.close(() => this.emit('close'));
  }

  #nextBuffer(): Buffer {
    const space = this.target?.space();
    // An empty buffer would fail the read (ENOBUFS); what lands in the scratch buffer is copied over.
    this.#nextFor = space !== undefined && space.length > 0 ? this.target : undefined;
    return this.#nextFor !== undefined ? (space as Buffer) : (this.#scratch ??= Buffer.allocUnsafe(DISCARD_BYTES));
  }

  /** Node calls this after each read into the buffer it was given; what it returns is read into next. */
  #onRead(): Uint8Array | undefined {
    const { state, readBytes, eof } = streamState as NonNullable<typeof streamState>;
    const bytes = state[readBytes] as number;
    if (bytes === 0 || this.#handle === null) return undefined;
    if (bytes < 0) {
      this.#handle.readStop();
      if (bytes === eof) {
        this.readableEnded = true;
        this.emit('end');
      } else {
        this.destroy(Object.assign(new Error(`the data connection failed (read error ${bytes})`), { errno: bytes }));
      }
      return undefined;
    }
    this.#idle?.refresh();
    const target = this.target;
    let more = true;
    if (target !== undefined) more = this.#nextFor === target ? target.filled(bytes) : target.push(Buffer.from((this.#scratch as Buffer).subarray(0, bytes)));
    if (!more) this.#handle?.readStop();
    return this.#nextBuffer();
  }
}
