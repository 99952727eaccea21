import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { HttpSession } from './session.js';

/**
 * One request as the handlers see it, free of the HTTP library: driver.ts builds it, handlers
 * answer with a Reply or throw a FerryError (which error-map.ts turns into a reply).
 */
export interface Exchange {
  readonly method: string;
  /** The request target's path, still percent-encoded, without the query. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The request body, raw and unread: uploads stream it straight into storage. */
  readonly body: Readable;
  readonly session: HttpSession;
  /** Settles once the response is over: true when all of it was handed to the socket, false when the connection closed first. */
  responseDone(): Promise<boolean>;
  /** Cuts the connection now (the core aborted the transfer). */
  cut(): void;
}

export interface Reply {
  status: number;
  headers?: Readonly<Record<string, string | number>>;
  /** Raw body (a stream is piped with backpressure); mutually exclusive with `json`. */
  body?: Buffer | Readable;
  json?: unknown;
}

export type Handler = (exchange: Exchange) => Promise<Reply>;

export interface Route {
  method: string;
  url: string;
  handler: Handler;
  /** Headers on every reply of this route, error replies included (e.g. Tus-Resumable). */
  headers?: Readonly<Record<string, string>>;
}

/** A request header as one string (the first one when repeated). */
export function header(exchange: Exchange, name: string): string | undefined {
  const value = exchange.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
