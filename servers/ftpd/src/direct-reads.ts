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

/**
 * From now on `server` (listening) emits its connections as paused sockets in direct mode, so
 * that no Socket is made only to be replaced (making a Socket was the largest item of accepting
 * a data connection in a profile of many small uploads). A TLS socket over one reads through its
 * own wrap, as over any other; a download's socket reads nothing but the client's FIN. Where the
 * listening handle cannot be taken, nothing changes and readDirectly swaps the socket later.
 */
export function acceptDirectly(server: Server): void {
  const listening = (server as unknown as { _handle?: ListenHandle | null })._handle;
  const accept = listening?.onconnection;
  if (listening === undefined || listening === null || typeof accept !== 'function') return;
  listening.onconnection = function (err, clientHandle) {
    if (err || typeof clientHandle !== 'object') return accept.call(this, err, clientHandle);
    server.emit('connection', directSocket(clientHandle));
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
export function readInto(socket: Socket, target: ReadTarget | undefined): boolean {
  const reads = direct.get(socket);
  if (reads === undefined) return false;
  reads.target = target;
  return true;
}

/** The socket's file descriptor where Node exposes it (its handle's), for options Node has no call for. */
export function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
