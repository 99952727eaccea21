import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * One AS2 request as the receiver sees it, free of the HTTP library: driver.ts builds it, the
 * receiver answers with a Reply (an MDN, an empty 200, or a refusal).
 */
export interface Exchange {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The raw request body, unread: it is decrypted and stored as it arrives. */
  readonly body: Readable;
  readonly sessionId: string;
  readonly remoteAddress: string | null;
  /** Names the partner on the connection's session (the admin API shows it as the account). */
  identify(partner: string): void;
  /** Settles once the response is over: true when all of it was handed to the socket. */
  responseDone(): Promise<boolean>;
  /** Cuts the connection now (the core aborted the transfer, or the message stalled). */
  cut(): void;
}

export interface Reply {
  status: number;
  headers?: Readonly<Record<string, string>>;
  body?: Buffer;
}

export type Handler = (exchange: Exchange) => Promise<Reply>;
