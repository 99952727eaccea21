import type { Socket } from 'node:net';
import { HttpConnectionSession, type SessionTable } from '@ferry/core';

/** One as2d connection; the core's HTTP session closes it politely during a drain. */
export class As2Session extends HttpConnectionSession {
  constructor(table: SessionTable, socket: Socket) {
    super(table, socket, 'as2');
  }

  /** The partner whose message this connection carries (shown by the admin API). */
  set partner(id: string) {
    this.account = id;
  }
}
