import type { Socket } from 'node:net';
import { HttpConnectionSession, type SessionTable } from '@ferry/core';

/** One httpd connection; the core's HTTP session closes it politely during a drain. */
export class HttpSession extends HttpConnectionSession {
  constructor(table: SessionTable, socket: Socket) {
    super(table, socket, 'http');
  }
}
