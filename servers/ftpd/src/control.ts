import type { SecureContext } from 'node:tls';

/**
 * The control connection as a session sees it, free of the FTP library: driver.ts builds one per
 * accepted client over ftp-srv's connection object. Replies are written in call order, whether
 * the session writes them or the library answers a command it handles itself.
 */
export interface ControlConnection {
  /** The client's address, IPv4-mapped IPv6 shown as plain IPv4. */
  readonly remoteAddress: string;
  /** The address the client reached (what PASV announces without a public address). */
  readonly localAddress: string;
  /** TLS from the first byte (implicit FTPS) or since AUTH TLS. */
  readonly secure: boolean;
  /** Implicit FTPS: data connections are protected unless the client says otherwise. */
  readonly implicitTls: boolean;
  /** Bytes from the client, in order; after startTls, the decrypted ones. */
  onData(listener: (chunk: Buffer) => void): void;
  /** The client closed its side (or the connection died). Called once. */
  onClose(listener: () => void): void;
  /** The client sent FIN: it will send no more commands. */
  readonly clientEnded: boolean;
  write(text: string): void;
  /** AUTH TLS: from the next byte on, TLS (server side). The 234 reply must already be written. */
  startTls(context: SecureContext): void;
  /** Backpressure: stop reading commands while many are queued. */
  pause(): void;
  resume(): void;
  /** Hands a command the library answers itself (TYPE, MODE, STRU, SYST, NOOP, ALLO) to it. */
  library(line: string): Promise<void>;
  /** Tells the library the client has logged in (it refuses its own commands before that). */
  loggedIn(): void;
  /** Flushes what was written, then closes. */
  end(): void;
  /** Closes now, dropping what is not yet sent. */
  destroy(): void;
}
