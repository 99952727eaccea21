import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Session, SessionTable } from '@ferry/core';

/**
 * One TCP (or TLS) connection, registered in the core's SessionTable while it is open. HTTP has no
 * goodbye: closing politely means `Connection: close` on the response in progress (or ending the
 * connection right after it), and ending an idle keep-alive connection at once.
 */
export class As2Session {
  readonly #entry: Session;
  readonly #socket: Socket;
  readonly #responses = new Set<ServerResponse>();
  #closing = false;

  constructor(table: SessionTable, socket: Socket) {
    this.#socket = socket;
    this.#entry = table.open({
      protocol: 'as2',
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

  /** The partner whose message this connection carries (shown by the admin API). */
  set partner(id: string) {
    this.#entry.account = id;
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

  destroy(): void {
    this.#socket.destroy();
  }

  #end(): void {
    if (!this.#socket.destroyed) this.#socket.destroySoon();
  }
}
