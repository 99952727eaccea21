// The only file that imports the FTP library (ftp-srv).
import type { EventEmitter } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from '@ferry/core';
import { FtpSrv, type FtpConnection, type FtpServerOptions } from 'ftp-srv';
import type { ControlConnection } from './control.js';
import { plainAddress, secureServerSide } from './data-channel.js';

/**
 * What Ferry takes from ftp-srv, and what it does not:
 * - taken: its connection objects (one per client, greeted by the library), and its handlers of the
 *   commands that only set or report a parameter (TYPE, MODE, STRU, SYST, NOOP, ALLO);
 * - not taken: its listener (it greets a client before anyone can refuse it during a drain, and its
 *   `close()` drops every client at once), its command reader (it splits each TCP read on its
 *   own, so a command cut across two packets is lost, and strips every `"` from paths), its data
 *   connections (a 50 ms poll per transfer, a probe socket per PASV port, no EPSV ALL, TLS on data
 *   whatever PROT says) and its file commands (they answer storage errors with their own codes).
 *   Those are Ferry's, in the session and commands/.
 * Its constructor installs SIGTERM/SIGINT/SIGQUIT handlers that call `process.exit` (4.6.3 has no
 * `endOnProcessSignal` option yet; it is passed anyway for later versions); they are removed here,
 * since the core handles signals.
 */

/** ftp-srv's server as used here: its `connect` event and the net.Server carrying its connection handler. */
interface Library extends EventEmitter {
  readonly server: Server;
}

/** The parts of ftp-srv's connection used here that its typings leave out. */
interface LibraryConnection extends FtpConnection {
  commandSocket: Socket;
  authenticated: boolean;
  commands: { handle(line: string): PromiseLike<unknown> };
}

export interface DriverOptions {
  host: string;
  port: number;
  /** A second listener where TLS starts before the greeting (implicit FTPS). */
  implicitTlsPort: number | undefined;
  tls: SecureContext | undefined;
  log: Logger;
  /** The reply that refuses a new connection (a drain), or undefined to let it in. */
  refusal(): { code: number; text: string } | undefined;
  /** A client let in and greeted: the session takes it from here. */
  connected(control: ControlConnection): void;
}

export interface Bound {
  ftp: AddressInfo;
  ftps: AddressInfo | undefined;
}

const GREETING = ['Ferry FTP server'];
const LIBRARY_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;
/** A client of the implicit FTPS port that does not finish its handshake in this time is dropped. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** How long a closed session waits for the client's FIN before its socket is dropped. */
const CLOSE_LINGER_MS = 2000;

/** Builds the library with its process signal handlers taken off again. */
function withoutSignalHandlers<T>(build: () => T): T {
  const before = LIBRARY_SIGNALS.map((signal) => new Set(process.listeners(signal)));
  const built = build();
  LIBRARY_SIGNALS.forEach((signal, i) => {
    for (const listener of process.listeners(signal)) if (!before[i]?.has(listener)) process.off(signal, listener);
  });
  return built;
}

/** ftp-srv's own log lines (client resets and the like) are debug detail in Ferry's log. */
function libraryLog(log: Logger): unknown {
  const debug = (...args: unknown[]): void => log.debug(...(args as [unknown]));
  const adapter = { trace: debug, debug, info: debug, warn: debug, error: debug, child: () => adapter };
  return adapter;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export class FtpDriver {
  readonly #library: Library;
  readonly #listeners: Server[] = [];
  readonly #sockets = new Set<Socket>();
  /** Sockets of the implicit FTPS listener, until ftp-srv has made a connection of them. */
  readonly #implicit = new WeakSet<Socket>();

  constructor(private readonly options: DriverOptions) {
    const libraryOptions = {
      url: 'ftp://127.0.0.1:0', // never listened on: Ferry's listeners hand it their sockets
      log: libraryLog(options.log),
      greeting: GREETING,
      anonymous: false,
      timeout: 0,
      endOnProcessSignal: false,
    } as FtpServerOptions;
    this.#library = withoutSignalHandlers(() => new FtpSrv(libraryOptions)) as unknown as Library;
    this.#library.on('connect', ({ connection }: { connection: LibraryConnection }) => this.#adopt(connection));
  }

  async listen(): Promise<Bound> {
    const { host, port, implicitTlsPort, tls } = this.options;
    const plain = createNetServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.#accept(socket));
    this.#listeners.push(plain);
    const ftp = await listen(plain, port, host);
    let ftps: AddressInfo | undefined;
    if (implicitTlsPort !== undefined && tls !== undefined) {
      // TLS is started by hand over a plain listener: a tls.Server would want the PEM files again,
      // while the handshake here uses the one SecureContext loaded at start.
      const secure = createNetServer({ noDelay: true }, (socket) => {
        this.#track(socket);
        secureServerSide(socket, tls, HANDSHAKE_TIMEOUT_MS).then(
          (tlsSocket) => {
            this.#implicit.add(tlsSocket);
            this.#accept(tlsSocket);
          },
          (err: unknown) => this.options.log.debug({ err, remoteAddress: socket.remoteAddress }, 'implicit FTPS handshake failed'),
        );
      });
      this.#listeners.push(secure);
      ftps = await listen(secure, implicitTlsPort, host);
    }
    return { ftp, ftps };
  }

  /**
   * Stops listening; resolves once every connection is gone. Sessions are closed politely by
   * their owner; whatever is still open after `graceMs` is dropped.
   */
  async close(graceMs: number): Promise<void> {
    const closed = Promise.all(this.#listeners.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    const cut = (): void => {
      for (const socket of this.#sockets) socket.destroy();
    };
    const timer = setTimeout(cut, graceMs);
    await closed;
    clearTimeout(timer);
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', (err) => this.options.log.debug({ err, remoteAddress: socket.remoteAddress }, 'control connection error'));
  }

  #accept(socket: Socket): void {
    this.#track(socket);
    const refusal = this.options.refusal();
    if (refusal !== undefined) {
      socket.end(`${refusal.code} ${refusal.text}\r\n`);
      lingerThenDrop(socket);
      return;
    }
    // ftp-srv's own connection handler: it builds the connection, emits `connect` (below, where
    // the session takes over) and greets.
    this.#library.server.emit('connection', socket);
  }

  #adopt(connection: LibraryConnection): void {
    const socket = connection.commandSocket;
    // Its reader and its idle handling are replaced by the session's.
    socket.removeAllListeners('data');
    socket.removeAllListeners('timeout');
    const implicit = this.#implicit.has(socket);
    if (implicit) connection.secure = true;
    this.options.connected(new LibraryControl(connection, implicit));
  }
}

/** Reads on (and discards) so the client's FIN is seen; drops the socket if it never comes. */
function lingerThenDrop(socket: Socket): void {
  const timer = setTimeout(() => socket.destroy(), CLOSE_LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
}

/** A control connection over one of ftp-srv's connection objects. */
class LibraryControl implements ControlConnection {
  readonly remoteAddress: string;
  readonly localAddress: string;
  #socket: Socket;
  #listener: ((chunk: Buffer) => void) | undefined;
  #onClose: (() => void) | undefined;
  #closed = false;
  #ended = false;
  #clientEnded = false;

  constructor(
    private readonly connection: LibraryConnection,
    readonly implicitTls: boolean,
  ) {
    const socket = connection.commandSocket;
    this.#socket = socket;
    this.remoteAddress = plainAddress(socket.remoteAddress);
    this.localAddress = plainAddress(socket.localAddress);
    this.#watch(socket);
  }

  get secure(): boolean {
    return this.connection.secure;
  }

  get clientEnded(): boolean {
    return this.#clientEnded;
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.#listener = listener;
    this.#socket.on('data', listener);
  }

  onClose(listener: () => void): void {
    this.#onClose = listener;
  }

  write(text: string): void {
    if (this.#socket.writable && !this.#ended) this.#socket.write(text);
  }

  startTls(context: SecureContext): void {
    const raw = this.#socket;
    if (this.#listener) raw.off('data', this.#listener);
    const tls = new TLSSocket(raw, { isServer: true, secureContext: context });
    tls.on('error', (err) => {
      this.connection.log.debug({ err }, 'TLS error on the control connection');
      tls.destroy();
    });
    this.#socket = tls;
    this.#watch(tls);
    if (this.#listener) tls.on('data', this.#listener);
    // ftp-srv writes its replies to commandSocket and reads `secure` for its own decisions.
    this.connection.commandSocket = tls;
    this.connection.secure = true;
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  async library(line: string): Promise<void> {
    await this.connection.commands.handle(line);
  }

  loggedIn(): void {
    this.connection.authenticated = true;
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#listener) this.#socket.off('data', this.#listener);
    this.#socket.end();
    lingerThenDrop(this.#socket);
  }

  destroy(): void {
    this.#ended = true;
    this.#socket.destroy();
  }

  #watch(socket: Socket): void {
    socket.once('end', () => {
      this.#clientEnded = true;
    });
    socket.once('close', () => {
      if (this.#closed) return;
      this.#closed = true;
      this.#onClose?.();
    });
  }
}
