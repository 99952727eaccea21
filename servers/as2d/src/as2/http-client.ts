import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * The HTTP POST AS2 needs, on node:http: a body of any size streamed with backpressure, and the
 * answer (an MDN, a refusal) read whole but bounded. A streamed body first asks
 * `Expect: 100-continue`, so that a receiver that refuses (draining, too large) says so before a
 * byte of it is sent.
 */

export interface PostOptions {
  url: string;
  headers: Readonly<Record<string, string>>;
  /** A Buffer goes with Content-Length; a stream goes chunked. */
  body: Buffer | AsyncIterable<Buffer>;
  /** Idle time allowed on the connection (no byte sent or received). */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  tls?: { ca?: string | Buffer | undefined; rejectUnauthorized?: boolean | undefined } | undefined;
  maxResponseBytes?: number;
}

export interface PostAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** How long to wait for `100 Continue` before sending the body anyway (RFC 9110 §10.1.1). */
const CONTINUE_WAIT_MS = 1000;
const MAX_RESPONSE = 1 << 20;

export function post(options: PostOptions): Promise<PostAnswer> {
  const url = new URL(options.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new Error(`not an http(s) URL: ${options.url}`));
  const streamed = !Buffer.isBuffer(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (!streamed) headers['content-length'] = String((options.body as Buffer).length);
  else headers.expect = '100-continue';
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise<PostAnswer>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const req = request(url, {
      method: 'POST',
      headers,
      ...(url.protocol === 'https:' && options.tls ? { ca: options.tls.ca, rejectUnauthorized: options.tls.rejectUnauthorized ?? true } : {}),
    });
    req.setTimeout(options.timeoutMs, () => fail(new Error(`no activity for ${options.timeoutMs} ms`)));
    const onAbort = (): void => fail(options.signal?.reason ?? new Error('aborted'));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.once('error', fail);
    let started = false;
    req.once('response', (res: IncomingMessage) => {
      // Answered before the body was asked for (a refusal): the body is not sent at all.
      const refusedEarly = streamed && !started;
      started = true;
      readAnswer(res, options.maxResponseBytes ?? MAX_RESPONSE).then((answer) => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        if (refusedEarly) req.destroy();
        resolve(answer);
      }, fail);
    });

    if (!streamed) {
      req.end(options.body as Buffer);
      return;
    }
    const send = (): void => {
      if (started || settled) return;
      started = true;
      // An early answer (a refusal) ends the exchange; the body pipeline then fails quietly.
      pipeline(Readable.from(options.body as AsyncIterable<Buffer>), req).catch((err: unknown) => {
        if (!settled && !req.writableFinished) fail(err);
      });
    };
    req.once('continue', send);
    const wait = setTimeout(send, CONTINUE_WAIT_MS);
    req.once('close', () => clearTimeout(wait));
    req.flushHeaders();
  });
}

async function readAnswer(res: IncomingMessage, max: number): Promise<PostAnswer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new Error(`the answer is larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, size) };
}
