import { connect, createServer, isIPv4, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { FerryError, type PortRange } from '@ferry/core';
import { RawConnection, acceptDirectly, readDirectly, type Accepted, type InboundData } from './direct-reads.js';
import { refused } from './error-map.js';

/**
 * Data connections. Every wait here is an event: the accepted socket settles the promise a data
 * command awaits (ftp-srv polls its passive connector every 50 ms, which alone caps a client that
 * sends many small files at about 20 files a second).
 */

/** A data connection that sends (a download, a listing): a plain or TLS socket. */
export type DataSocket = Socket;

export interface DataChannel {
  /** Announced to the client: the passive port, or the client's own port in active mode. */
  readonly port: number;
  /**
   * An upload's connection, TLS-wrapped (server side) when `tls` is given, once the handshake is
   * over. A plain passive one reads straight into the upload's buffers (direct-reads.ts), without
   * a Socket where the runtime allows. Rejects with 425 when the client never comes or the
   * handshake fails.
   */
  openReceive(tls: SecureContext | undefined): Promise<InboundData>;
  /** A download's or a listing's connection, as openReceive; it only ever reads the client's FIN. */
  openSend(tls: SecureContext | undefined): Promise<DataSocket>;
  /** Idempotent; destroys a connection that was never handed out. */
  close(): void;
}

export interface DataTimeouts {
  /** For the client to connect (passive) or accept (active), and for the TLS handshake. */
  connectMs: number;
  /** A data connection that moves nothing for this long is cut. */
  idleMs: number;
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are one peer; v4-mapped addresses are compared as IPv4. */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

function noConnection(message: string): FerryError {
  return refused('no-data-connection', message);
}

/** Server-side TLS over an accepted or connected socket; resolves after the handshake. */
export function secureServerSide(socket: Socket, context: SecureContext, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = new TLSSocket(socket, { isServer: true, secureContext: context });
    const timer = setTimeout(() => fail(new Error('TLS handshake timed out')), timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      tls.off('error', fail);
      tls.off('close', onClose);
      resolve(tls);
    };
    const fail = (err: Error): void => {
      clearTimeout(timer);
      tls.destroy();
      reject(err);
    };
    const onClose = (): void => fail(new Error('the connection closed during the TLS handshake'));
    tls.once('secure', done);
    // A client with nothing to send (a 0-byte upload) may finish its handshake and close at once;
    // Node then reports the clean end without 'secure'. The stream is simply empty.
    tls.once('end', done);
    tls.once('error', fail);
    tls.once('close', onClose);
  });
}

async function secure(socket: Socket, context: SecureContext, timeoutMs: number): Promise<DataSocket> {
  try {
    return await secureServerSide(socket, context, timeoutMs);
  } catch (err) {
    throw noConnection(`TLS negotiation failed on the data connection (${(err as Error).message})`);
  }
}

/** Every data connection handed out: cut when idle, and never an unhandled 'error' (whoever uses it sees the failure). */
function armIdle<T extends InboundData>(socket: T, idleMs: number): T {
  socket.on('error', () => undefined);
  socket.setTimeout(idleMs, () => socket.destroy(new Error(`data connection idle for ${Math.round(idleMs / 1000)} s`)));
  return socket;
}

/**
 * The passive port range. Ports are tried in turn from where the last search stopped, so that a
 * port just released is the last one to be reused (a late packet of the previous connection
 * cannot reach the next one). Binding is the check: no probe socket is opened first.
 */
export class PassivePorts {
  #next: number;

  constructor(private readonly range: PortRange) {
    this.#next = range.from;
  }

  async listen(host: string): Promise<Server> {
    const span = this.range.to - this.range.from + 1;
    for (let attempt = 0; attempt < span; attempt++) {
      const port = this.#next;
      this.#next = port >= this.range.to ? this.range.from : port + 1;
      const server = createServer({ pauseOnConnect: true });
      const bound = await new Promise<boolean>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
          else reject(err);
        };
        server.once('error', onError);
        server.listen({ port, host, exclusive: true }, () => {
          server.off('error', onError);
          resolve(true);
        });
      });
      if (bound) return server;
    }
    throw new FerryError('FERRY_ERR_IO', `no free passive port in ${this.range.from}-${this.range.to}`, {
      details: { from: this.range.from, to: this.range.to },
    });
  }
}

/**
 * How long a session's passive port stays open after its last data connection: a client moving
 * many files sends its next PASV within milliseconds; an idle session gives the port back.
 */
const PASSIVE_LINGER_MS = 2000;

/**
 * A session's passive listener. It is reused by the session's PASV/EPSV commands while they come
 * one after the other (each new listener costs a bind and a listen, about 50 µs of the 0.6–0.8 ms
 * of server time a small file takes), and closed once the session stops transferring for PASSIVE_LINGER_MS or
 * ends, so that idle sessions hold no port of the range. It takes connections from the control
 * connection's own peer and only while a channel waits for one; anything else is turned away
 * (that would be a stolen transfer).
 */
export class PassiveListener {
  #server: Server | undefined;
  #port = 0;
  #waiting: PassiveChannel | undefined;
  #linger: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly ports: PassivePorts,
    private readonly host: string,
    private readonly peer: string,
  ) {}

  /** A channel for one data connection on this session's passive port (opened if need be). */
  async channel(timeouts: DataTimeouts): Promise<PassiveChannel> {
    if (this.#closed) throw noConnection('the session is closing');
    // One waiting channel at a time; releasing it starts the linger timer, stopped right after.
    this.#waiting?.close();
    clearTimeout(this.#linger);
    if (this.#server === undefined) {
      const server = await this.ports.listen(this.host);
      if (this.#closed) {
        server.close();
        throw noConnection('the session is closing');
      }
      const address = server.address();
      this.#port = typeof address === 'object' && address !== null ? address.port : 0;
      acceptDirectly(server, (connection) => this.#route(connection));
      server.on('error', () => this.#drop(server));
      this.#server = server;
    }
    const channel = new PassiveChannel(this.#port, timeouts, () => this.#released(channel));
    this.#waiting = channel;
    return channel;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#linger);
    this.#waiting?.close();
    if (this.#server !== undefined) this.#drop(this.#server);
  }

  #route(connection: Accepted): void {
    if (this.#waiting === undefined || plainAddress(connection.remoteAddress) !== this.peer || !this.#waiting.accept(connection)) connection.destroy();
  }

  #released(channel: PassiveChannel): void {
    if (this.#waiting !== channel) return;
    this.#waiting = undefined;
    clearTimeout(this.#linger);
    const server = this.#server;
    if (server === undefined || this.#closed) return;
    this.#linger = setTimeout(() => this.#drop(server), PASSIVE_LINGER_MS);
    this.#linger.unref();
  }

  /** Stops listening; the next channel opens a new listener (a failed one is never reused). */
  #drop(server: Server): void {
    if (this.#server !== server) return;
    this.#server = undefined;
    clearTimeout(this.#linger);
    server.close();
    this.#waiting?.fail(noConnection('the passive listener failed'));
  }
}

/** One PASV/EPSV: the one data connection it announced, taken from the session's PassiveListener. */
export class PassiveChannel implements DataChannel {
  #connection: Accepted | undefined;
  #handedOut = false;
  #closed = false;
  #failure: FerryError | undefined;
  #waiter: { resolve: (connection: Accepted) => void; reject: (err: FerryError) => void } | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly port: number,
    private readonly timeouts: DataTimeouts,
    private readonly onReleased: () => void,
  ) {
    this.#timer = setTimeout(() => this.fail(noConnection('no data connection was opened in time')), timeouts.connectMs);
  }

  async openReceive(tls: SecureContext | undefined): Promise<InboundData> {
    const connection = await this.#take();
    if (tls) return this.#secured(connection, tls);
    // A plain upload only ever sends its FIN: no TCP_NODELAY, and no Socket where it can be helped.
    return armIdle(connection instanceof RawConnection ? connection : readDirectly(connection), this.timeouts.idleMs);
  }

  async openSend(tls: SecureContext | undefined): Promise<DataSocket> {
    const connection = await this.#take();
    if (tls) return this.#secured(connection, tls);
    return armIdle(sending(connection), this.timeouts.idleMs);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    if (!this.#handedOut) this.#connection?.destroy();
    this.#waiter?.reject(noConnection('the data connection was closed'));
    this.#waiter = undefined;
    this.onReleased();
  }

  /** Takes the connection the client opened; false when this channel already has one or is done. */
  accept(connection: Accepted): boolean {
    if (this.#connection || this.#closed || this.#failure) return false;
    this.#connection = connection;
    connection.on('error', () => undefined); // reported by whoever reads it; never an uncaught error
    clearTimeout(this.#timer);
    this.#waiter?.resolve(connection);
    this.#waiter = undefined;
    return true;
  }

  /** No connection will come (timeout, listener failure). */
  fail(err: FerryError): void {
    if (this.#connection || this.#closed || this.#failure) return;
    this.#failure = err;
    this.#waiter?.reject(err);
    this.#waiter = undefined;
  }

  async #secured(connection: Accepted, tls: SecureContext): Promise<DataSocket> {
    return armIdle(await secure(sending(connection), tls, this.timeouts.connectMs), this.timeouts.idleMs);
  }

  /** The one connection, once it is there; still paused: nothing is read before the transfer or TLS takes it. */
  #take(): Promise<Accepted> {
    if (this.#handedOut) return Promise.reject(noConnection('the data connection was already used; send PASV or EPSV again'));
    this.#handedOut = true;
    if (this.#connection) return Promise.resolve(this.#connection);
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(noConnection('the data connection was closed'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }
}

/**
 * The connection as a Socket that sends: what this side sends goes out at once (a TLS handshake's
 * flights, the last piece of a file or a listing).
 */
function sending(connection: Accepted): Socket {
  let socket: Socket;
  if (connection instanceof RawConnection) {
    socket = connection.socket();
    socket.on('error', () => undefined); // as accept() does for a Socket: whoever uses it sees the failure
  } else {
    socket = connection;
  }
  socket.setNoDelay(true);
  return socket;
}

/**
 * PORT/EPRT: the server connects to the client when the data command comes. Only to the control
 * connection's own peer and never to a privileged port: the session checks that before it builds
 * one (RFC 2577, the FTP bounce).
 */
export class ActiveChannel implements DataChannel {
  /** The socket while it connects; once handed out, the transfer owns it. */
  #connecting: Socket | undefined;
  #used = false;
  #closed = false;

  constructor(
    private readonly host: string,
    readonly port: number,
    private readonly localAddress: string,
    private readonly timeouts: DataTimeouts,
  ) {}

  /** Which way the data goes makes no difference here: direct reads are for accepted sockets only. */
  openReceive(tls: SecureContext | undefined): Promise<InboundData> {
    return this.#open(tls);
  }

  openSend(tls: SecureContext | undefined): Promise<DataSocket> {
    return this.#open(tls);
  }

  close(): void {
    this.#closed = true;
    this.#connecting?.destroy(new Error('the data connection was closed'));
  }

  async #open(tls: SecureContext | undefined): Promise<DataSocket> {
    if (this.#used || this.#closed) throw noConnection('the data connection was already used; send PORT or EPRT again');
    this.#used = true;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port, localAddress: this.localAddress, noDelay: true });
      this.#connecting = socket;
      const timer = setTimeout(() => socket.destroy(new Error('timed out')), this.timeouts.connectMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        this.#connecting = undefined;
        reject(noConnection(`could not connect to ${this.host} port ${this.port} (${err.message})`));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        this.#connecting = undefined;
        socket.off('error', onError);
        socket.on('error', () => undefined); // reported by whoever reads it
        resolve(socket);
      });
    });
    return armIdle(tls ? await secure(socket, tls, this.timeouts.connectMs) : socket, this.timeouts.idleMs);
  }
}
