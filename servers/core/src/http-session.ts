import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Session, SessionTable } from './sessions.js';

/**
 * One TCP (or TLS) connection of an HTTP-based daemon (httpd, as2d), registered in the core's
 * SessionTable for as long as it is open. HTTP has no goodbye of its own: closing politely means `Connection: close` on the response in
 * progress (or, when its headers are already out, ending the connection right after it), and
 * ending an idle keep-alive connection at once.
 */
export class HttpConnectionSession {
  readonly #entry: Session;
  readonly #socket: Socket;
  /** Responses in progress on this connection (more than one only with pipelining). */
  readonly #responses = new Set<ServerResponse>();
  #closing = false;

  constructor(table: SessionTable, socket: Socket, protocol: string) {
    this.#socket = socket;
    this.#entry = table.open({
      protocol,
      remoteAddress: socket.remoteAddress ?? null,
      closePolitely: () => this.closePolitely(),
    });
    socket.once('close', () => table.close(this.#entry.id));
  }

  get id(): string {
    return this.#entry.id;
  }

  get remoteAddress(): string | null {
    return this.#entry.remoteAddress;
  }

  get idle(): boolean {
    return this.#responses.size === 0;
  }

  /** Who this connection works for: the account that authenticated, or a trading partner (shown by the admin API). */
  set account(name: string) {
    this.#entry.account = name;
  }

  /** A request arrived: its response closes the connection if this session is closing (or `closeAfter`). */
  begin(res: ServerResponse, closeAfter: boolean): void {
    this.#responses.add(res);
    if (this.#closing || closeAfter) res.setHeader('connection', 'close');
    res.once('close', () => {
      this.#responses.delete(res);
      if (this.#closing && this.#responses.size === 0) this.#end();
    });
  }

  /** Called by the core during a drain once this connection carries no transfer. */
  closePolitely(): void {
    this.#closing = true;
    if (this.#responses.size === 0) {
      this.#end();
      return;
    }
    for (const res of this.#responses) if (!res.headersSent) res.setHeader('connection', 'close');
  }

  /** Cuts the connection now (a transfer aborted by the core, an immediate stop). */
  destroy(): void {
    this.#socket.destroy();
  }

  #end(): void {
    // destroySoon: flush what is queued, send FIN, and release the socket once written.
    if (!this.#socket.destroyed) this.#socket.destroySoon();
  }
}
