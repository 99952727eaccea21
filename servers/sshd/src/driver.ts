// The only file that imports the SSH library (ssh2). Everything above it sees SshConnection,
// AuthAttempt and SftpChannel, never an ssh2 type.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Logger, StopMode } from '@ferry/core';
// Before ssh2, which takes crypto.randomFillSync as it loads.
import './padding-random.js';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ClientInfo, ParsedKey, ServerChannel, Session } from 'ssh2';

const { Server, utils } = ssh2;
const require = createRequire(import.meta.url);

/** SSH_DISCONNECT_* reason codes (RFC 4253 §11.1) Ferry sends. */
const DISCONNECT = { SERVICE_NOT_AVAILABLE: 7, NO_MORE_AUTH_METHODS_AVAILABLE: 14 } as const;
const SSH_MSG_DISCONNECT = 1;

/** The methods a rejected client is told it may try next. */
const METHODS = ['publickey', 'password'] as const;

/** After a DISCONNECT, how long a client gets to read it and hang up before its socket is cut. */
const GOODBYE_GRACE_MS = 500;

export type DisconnectKind = 'refused' | 'closing' | 'too-many-failures';

const DISCONNECT_CODES: Readonly<Record<DisconnectKind, number>> = {
  // "Service not available" is what the design asks new connections to hear during a drain.
  refused: DISCONNECT.SERVICE_NOT_AVAILABLE,
  closing: DISCONNECT.SERVICE_NOT_AVAILABLE,
  'too-many-failures': DISCONNECT.NO_MORE_AUTH_METHODS_AVAILABLE,
};

/** A public key a client offers; `signed` false means it only asks whether the key would do. */
export interface OfferedKey {
  readonly signed: boolean;
  readonly algorithm: string;
  /** SHA256 fingerprint, as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
  /** Whether the offered key is the one in `publicKeyLine` (an OpenSSH `authorized_keys`-style line). */
  matches(publicKeyLine: string): boolean;
  /** Whether the client's signature verifies with that key. */
  verifies(publicKeyLine: string): boolean;
}

export type AuthAttempt =
  | { method: 'password'; username: string; password: string }
  | { method: 'publickey'; username: string; key: OfferedKey };

/** What sshd's session code sees of one SSH connection. */
export interface SshConnection {
  readonly remoteAddress: string | null;
  /** The client's identification string, e.g. `SSH-2.0-OpenSSH_9.2p1 Debian-2`. */
  readonly clientIdent: string;
  /**
   * SSH_MSG_DISCONNECT with a reason the client shows its user, then the socket is closed. While a
   * hang-up is pending this waits for it, unless `now`.
   */
  disconnect(kind: DisconnectKind, reason: string, now?: boolean): void;
  /**
   * Waits for the client to close the connection itself (its channels were just closed), and
   * disconnects with `reason` if it has not after `graceMs`. OpenSSH's client exits on a DISCONNECT
   * without writing out the channel data it still holds, so a DISCONNECT right behind the last
   * reply could swallow that reply.
   */
  hangUp(reason: string, graceMs: number): void;
}

/** The raw byte stream of one SFTP subsystem channel. */
export interface SftpChannel {
  onData(listener: (chunk: Buffer) => void): void;
  /** The client sent EOF: no request will follow. */
  onEnd(listener: () => void): void;
  /** The channel is gone, whichever side closed it; fires once. */
  onClose(listener: () => void): void;
  /** Fires when `write` may be called again after it returned false. */
  onDrain(listener: () => void): void;
  /**
   * Queues bytes; false once the client's window is full (the bytes are still queued).
   * `written` fires once the bytes have been copied out, so their buffer may be reused.
   */
  write(bytes: Buffer, written?: () => void): boolean;
  /** Stops reading: the client's window is no longer replenished, so it stops sending. */
  pause(): void;
  resume(): void;
  /** A line on the channel's stderr, which OpenSSH's client prints. */
  notice(text: string): void;
  /** Ends the channel after every queued byte: exit status 0, EOF, close (also the answer to a client's EOF). */
  finish(): void;
  /** Closes the channel now. */
  close(): void;
}

/** What sshd does with a connection it admitted. */
export interface ConnectionHandler {
  /** Resolves true to let the client in (or, for an unsigned key, to say the key would do). */
  authenticate(attempt: AuthAttempt): Promise<boolean>;
  /** An authenticated client opened the SFTP subsystem. */
  sftp(channel: SftpChannel): void;
  /** The connection is gone. Called once. */
  closed(): void;
}

export interface SshDriverOptions {
  /** Private host keys (OpenSSH or PEM text). */
  hostKeys: readonly string[];
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  /** A client that has not authenticated by then is disconnected. */
  loginTimeoutMs: number;
  log: Logger;
  /** Called once a client's identification has arrived; undefined means it was refused (and told why). */
  admit(connection: SshConnection): ConnectionHandler | undefined;
}

/** ssh2 internals used to send a DISCONNECT that carries a description (ssh2's own sends none). */
interface ProtocolInternals {
  _packetRW?: { write?: { allocStartKEX: number; alloc(length: number, force: boolean): Buffer; finalize(packet: Buffer, force: boolean): Buffer } };
  disconnect(code: number): void;
}

const protocolUtils = require('ssh2/lib/protocol/utils.js') as { sendPacket?: (protocol: unknown, packet: Buffer, bypass: boolean) => void };

/** Whether ssh2 loaded its native binding (AES-GCM and chacha20-poly1305 in C rather than JavaScript). */
export function nativeCryptoLoaded(): boolean {
  try {
    return (require('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: boolean }).bindingAvailable === true;
  } catch {
    return false;
  }
}

/** Type, fingerprint and public key line of a private host key; throws when ssh2 cannot use it. */
export function describeHostKey(privateKey: string, comment: string): { type: string; fingerprint: string; publicKeyLine: string } {
  const key = firstKey(utils.parseKey(privateKey));
  if (key === undefined || !key.isPrivateKey()) throw new Error('not a private key ssh2 can use');
  const blob = key.getPublicSSH();
  return { type: key.type, fingerprint: fingerprintOf(blob), publicKeyLine: `${key.type} ${blob.toString('base64')} ${comment}` };
}

function firstKey(parsed: ParsedKey | ParsedKey[] | Error): ParsedKey | undefined {
  if (parsed instanceof Error) return undefined;
  return Array.isArray(parsed) ? parsed[0] : parsed;
}

function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function publicKeyOf(line: string): ParsedKey | undefined {
  const key = firstKey(utils.parseKey(line));
  return key === undefined || key.isPrivateKey() ? undefined : key;
}

function offeredKey(ctx: Extract<AuthContext, { method: 'publickey' }>): OfferedKey {
  const blob = ctx.key.data;
  const signature = ctx.signature;
  const signedData = ctx.blob;
  const matches = (line: string): boolean => publicKeyOf(line)?.getPublicSSH().equals(blob) === true;
  return {
    signed: signature !== undefined,
    algorithm: ctx.key.algo,
    fingerprint: fingerprintOf(blob),
    matches,
    verifies(line) {
      const key = publicKeyOf(line);
      if (key === undefined || signature === undefined || signedData === undefined || !key.getPublicSSH().equals(blob)) return false;
      return key.verify(signedData, signature, ctx.hashAlgo as string) === true;
    },
  };
}

function attemptOf(ctx: AuthContext): AuthAttempt | undefined {
  if (ctx.method === 'password') return { method: 'password', username: ctx.username, password: ctx.password };
  if (ctx.method === 'publickey') return { method: 'publickey', username: ctx.username, key: offeredKey(ctx) };
  return undefined;
}

/**
 * ssh2 writes every SSH packet (32 KiB at most) to the socket on its own: a 255 KiB DATA reply is
 * eight writes, and so is every burst a client's window adjustment releases. Corked until the event
 * loop has handled what is ready, they leave in one writev, with the acks and window adjustments.
 */
class WriteBatch {
  #held = false;

  constructor(private readonly socket: Socket) {}

  hold(): void {
    if (this.#held) return;
    this.#held = true;
    this.socket.cork();
    setImmediate(() => {
      this.#held = false;
      this.socket.uncork();
    });
  }
}

class Ssh2SftpChannel implements SftpChannel {
  constructor(
    private readonly channel: ServerChannel,
    private readonly batch: WriteBatch,
  ) {}

  onData(listener: (chunk: Buffer) => void): void {
    this.channel.on('data', listener);
  }

  onEnd(listener: () => void): void {
    this.channel.once('end', listener);
  }

  onClose(listener: () => void): void {
    this.channel.once('close', listener);
  }

  onDrain(listener: () => void): void {
    this.channel.on('drain', listener);
  }

  write(bytes: Buffer, written?: () => void): boolean {
    this.batch.hold();
    return written === undefined ? this.channel.write(bytes) : this.channel.write(bytes, () => written());
  }

  pause(): void {
    this.channel.pause();
  }

  resume(): void {
    this.channel.resume();
  }

  notice(text: string): void {
    this.channel.stderr.write(`${text}\n`);
  }

  finish(): void {
    // ssh2 never answers a client's EOF on its own; OpenSSH's `sftp -b` waits for this to exit.
    this.channel.exit(0);
    this.channel.end();
  }

  close(): void {
    this.channel.close();
  }
}

/** One connection: ssh2's client object plus the raw socket, wrapped for sshd. */
class LiveConnection implements SshConnection {
  readonly remoteAddress: string | null;
  readonly clientIdent: string;
  #goodbye: NodeJS.Timeout | undefined;
  #hangUp: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Connection,
    private readonly socket: Socket,
    info: ClientInfo,
  ) {
    this.remoteAddress = socket.remoteAddress ?? info.ip ?? null;
    this.clientIdent = info.header.identRaw;
  }

  disconnect(kind: DisconnectKind, reason: string, now = false): void {
    if (this.socket.destroyed || this.#goodbye !== undefined) return;
    if (this.#hangUp !== undefined && !now) return;
    clearTimeout(this.#hangUp);
    sendDisconnect(this.client, DISCONNECT_CODES[kind], reason);
    this.socket.end();
    this.#goodbye = setTimeout(() => this.socket.destroy(), GOODBYE_GRACE_MS);
    this.#goodbye.unref();
  }

  hangUp(reason: string, graceMs: number): void {
    if (this.socket.destroyed || this.#goodbye !== undefined || this.#hangUp !== undefined) return;
    this.#hangUp = setTimeout(() => this.disconnect('closing', reason, true), graceMs);
    this.#hangUp.unref();
    this.socket.once('close', () => clearTimeout(this.#hangUp));
  }
}

/** SSH_MSG_DISCONNECT with a description; falls back to ssh2's own (code only) if its internals moved. */
function sendDisconnect(client: Connection, code: number, description: string): void {
  const protocol = (client as unknown as { _protocol: ProtocolInternals })._protocol;
  const writer = protocol._packetRW?.write;
  const send = protocolUtils.sendPacket;
  if (writer === undefined || send === undefined) {
    protocol.disconnect(code);
    return;
  }
  const text = Buffer.from(description.slice(0, 400), 'utf8');
  const start = writer.allocStartKEX;
  // Forced past any key exchange in progress, as ssh2 does for its own DISCONNECT.
  const packet = writer.alloc(1 + 4 + 4 + text.length + 4, true);
  packet[start] = SSH_MSG_DISCONNECT;
  packet.writeUInt32BE(code, start + 1);
  packet.writeUInt32BE(text.length, start + 5);
  text.copy(packet, start + 9);
  packet.writeUInt32BE(0, start + 9 + text.length); // language tag: none
  send(protocol, writer.finalize(packet, true), true);
}

/**
 * The SSH server: our own TCP listener (so every socket gets TCP_NODELAY before its first byte and
 * none escapes a stop) handing sockets to ssh2. Only the SFTP subsystem is served: shells, exec,
 * port forwarding and agent forwarding are refused.
 */
export class SshDriver {
  readonly #ssh: InstanceType<typeof Server>;
  readonly #listener: NetServer;
  /** Every accepted socket, with its login timer and, once its identification arrived, its connection. */
  readonly #sockets = new Map<Socket, { loginTimer: NodeJS.Timeout; batch: WriteBatch; connection?: LiveConnection }>();

  constructor(private readonly options: SshDriverOptions) {
    this.#ssh = new Server({
      hostKeys: [...options.hostKeys],
      keepaliveInterval: options.keepaliveIntervalMs,
      keepaliveCountMax: options.keepaliveCountMax,
      ident: 'Ferry',
    });
    this.#ssh.on('connection', (client: Connection, info: ClientInfo) => this.#onConnection(client, info));
    this.#ssh.on('error', (err: Error) => options.log.warn({ err }, 'ssh server error'));
    this.#listener = createServer((socket) => this.#onSocket(socket));
  }

  listen(port: number, host: string): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.#listener.once('error', reject);
      this.#listener.listen(port, host, () => {
        this.#listener.off('error', reject);
        this.#listener.on('error', (err) => this.options.log.error({ err }, 'ssh listener error'));
        const bound = this.#listener.address() as AddressInfo;
        resolve({ address: bound.address, port: bound.port });
      });
    });
  }

  /**
   * Stops listening and ends every connection: a goodbye with `reason` to each client, whose socket
   * is cut after a short grace (a client already hanging up gets to finish); with `immediate`,
   * right after the goodbye is flushed.
   */
  async close(mode: StopMode, reason: string): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#listener.close(() => resolve()));
    for (const [socket, { connection }] of this.#sockets) {
      // A socket that never sent its identification has no SSH session to say goodbye on.
      if (connection === undefined) {
        socket.destroy();
        continue;
      }
      connection.disconnect('closing', reason, mode === 'immediate');
      if (mode === 'immediate') socket.destroySoon();
    }
    await closed;
  }

  #onSocket(socket: Socket): void {
    // Nagle's algorithm held SFTP at 90–140 MB/s on loopback; without it, over 500 MB/s.
    socket.setNoDelay(true);
    // Also covers a client that never sends its identification (no 'connection' event then).
    const loginTimer = setTimeout(() => socket.destroy(), this.options.loginTimeoutMs);
    loginTimer.unref();
    const batch = new WriteBatch(socket);
    this.#sockets.set(socket, { loginTimer, batch });
    socket.once('close', () => {
      clearTimeout(loginTimer);
      this.#sockets.delete(socket);
    });
    this.#ssh.injectSocket(socket);
    // Ahead of ssh2's own listener (prepended to a socket ssh2 has just paused, so nothing flows
    // early): everything ssh2 writes while it handles these bytes goes out in one batch.
    socket.prependListener('data', () => batch.hold());
  }

  #onConnection(client: Connection, info: ClientInfo): void {
    const socket = (client as unknown as { _sock: Socket })._sock;
    const entry = this.#sockets.get(socket);
    const log = this.options.log;
    // Without a listener an 'error' (a malformed packet, a reset) would throw and take the process down.
    client.on('error', (err: Error) => log.debug({ err, remoteAddress: socket.remoteAddress }, `ssh connection error: ${err.message}`));
    if (entry === undefined) {
      socket.destroy(); // closed while its identification was being read
      return;
    }
    const connection = new LiveConnection(client, socket, info);
    entry.connection = connection;
    let handler: ConnectionHandler | undefined;
    client.once('close', () => handler?.closed());
    try {
      handler = this.options.admit(connection);
    } catch (err) {
      log.error({ err }, 'admitting an ssh connection failed');
      connection.disconnect('refused', 'service not available');
      return;
    }
    const admitted = handler;
    if (admitted === undefined) return;
    client.on('authentication', (ctx: AuthContext) => this.#authenticate(ctx, admitted));
    client.once('ready', () => clearTimeout(entry.loginTimer));
    client.on('session', (accept: () => Session) => {
      const session = accept();
      session.on('subsystem', (acceptSubsystem: () => ServerChannel, reject: () => void, subsystem: { name: string }) => {
        if (subsystem.name !== 'sftp') return reject();
        admitted.sftp(new Ssh2SftpChannel(acceptSubsystem(), entry.batch));
      });
    });
  }

  #authenticate(ctx: AuthContext, handler: ConnectionHandler): void {
    const attempt = attemptOf(ctx);
    if (attempt === undefined) {
      ctx.reject([...METHODS]);
      return;
    }
    handler.authenticate(attempt).then(
      (ok) => (ok ? ctx.accept() : ctx.reject([...METHODS])),
      (err: unknown) => {
        this.options.log.error({ err }, 'ssh authentication failed unexpectedly');
        ctx.reject([...METHODS]);
      },
    );
  }
}
