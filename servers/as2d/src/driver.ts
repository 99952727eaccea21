// The only file that imports the HTTP library (fastify). The receiver sees an Exchange and answers a Reply.
import { fastify, type FastifyInstance, type FastifyReply } from 'fastify';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger, SessionTable, StopMode } from '@ferry/core';
import { errorReply, notFoundReply, type TextReply } from './error-map.js';
import type { Exchange, Handler, Reply } from './exchange.js';
import { As2Session } from './session.js';

export interface DriverOptions {
  handler: Handler;
  sessions: SessionTable;
  log: Logger;
  /** PEM contents; HTTPS when given. */
  tls?: { cert: Buffer; key: Buffer };
}

/** A graceful stop gives responses still being written (refusals, mostly) this long before cutting. */
const STOP_GRACE_MS = 2000;

const SERVER_OPTIONS: ServerOptions = {
  // Node's default (300 s) would cut a large message; the core decides when a transfer ends.
  requestTimeout: 0,
  headersTimeout: 60_000,
  keepAliveTimeout: 5_000,
};

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function responseDone(res: ServerResponse): Promise<boolean> {
  if (res.writableFinished) return Promise.resolve(true);
  if (res.closed) return Promise.resolve(false);
  return new Promise((resolve) => res.once('close', () => resolve(res.writableFinished)));
}

/**
 * The HTTP(S) server: a Node server of our own (every connection seen, timeouts ours) with fastify
 * routing on top. Bodies are never parsed by fastify: AS2 bodies go raw to the receiver. Every path
 * takes POST, since partners are configured with whatever URL they were given.
 */
export class As2Driver {
  /** While set, every response carries `Connection: close` and `Expect: 100-continue` gets no 100. */
  draining = false;
  readonly #app: FastifyInstance;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new WeakMap<Socket, As2Session>();

  constructor(private readonly options: DriverOptions) {
    let dispatch: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      this.#sessionOf(req.socket).begin(res, this.draining);
      dispatch?.(req, res);
    };
    if (options.tls) {
      const server = createHttpsServer({ ...SERVER_OPTIONS, cert: options.tls.cert, key: options.tls.key }, onRequest);
      server.on('secureConnection', (socket: Socket) => this.#sessionOf(socket));
      this.#server = server as unknown as Server;
    } else {
      this.#server = createHttpServer(SERVER_OPTIONS, onRequest);
      this.#server.on('connection', (socket: Socket) => this.#sessionOf(socket));
    }
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // While draining the body of a new message is not asked for: its 503 costs the partner nothing.
    this.#server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (!this.draining) res.writeContinue();
      onRequest(req, res);
    });

    this.#app = fastify({
      serverFactory: (handler) => {
        dispatch = handler;
        return this.#server;
      },
      logger: false,
      exposeHeadRoutes: false,
      return503OnClosing: true,
    });
    this.#app.removeAllContentTypeParsers();
    this.#app.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const handle = (request: { raw: IncomingMessage }, reply: FastifyReply) => this.#handle(request.raw, reply);
    this.#app.post('/', handle);
    this.#app.post('/*', handle);
    this.#app.setNotFoundHandler((request, reply) => this.#send(notFoundReply(request.method), request.raw, reply));
    this.#app.setErrorHandler((err, request, reply) => this.#send(errorReply(err), request.raw, reply));
  }

  async listen(port: number, host: string): Promise<{ address: string; port: number }> {
    await this.#app.ready();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const bound = this.#server.address() as AddressInfo;
    return { address: bound.address, port: bound.port };
  }

  /** graceful: stop listening, close idle connections, give responses in progress a moment. immediate: cut all. */
  async close(mode: StopMode): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    if (mode === 'immediate') this.#destroyAll();
    else {
      this.#server.closeIdleConnections();
      timer = setTimeout(() => this.#destroyAll(), STOP_GRACE_MS);
      timer.unref();
    }
    await closed;
    if (timer) clearTimeout(timer);
    await this.#app.close();
  }

  #destroyAll(): void {
    this.#server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
  }

  #sessionOf(socket: Socket): As2Session {
    let session = this.#sessions.get(socket);
    if (session === undefined) {
      session = new As2Session(this.options.sessions, socket);
      this.#sessions.set(socket, session);
    }
    return session;
  }

  async #handle(req: IncomingMessage, reply: FastifyReply): Promise<FastifyReply> {
    const session = this.#sessionOf(req.socket);
    const exchange: Exchange = {
      path: pathOf(req.url),
      headers: req.headers,
      body: req,
      sessionId: session.id,
      remoteAddress: session.remoteAddress,
      identify: (partner) => {
        session.partner = partner;
      },
      responseDone: () => responseDone(reply.raw),
      cut: () => session.destroy(),
    };
    let result: Reply;
    try {
      result = await this.options.handler(exchange);
    } catch (err) {
      return this.#send(errorReply(err), req, reply);
    }
    // A body left unread is not read on; while draining, the connection ends with this response.
    if (!req.complete || this.draining) reply.header('connection', 'close');
    reply.code(result.status);
    if (result.headers) reply.headers(result.headers);
    return reply.send(result.body ?? '');
  }

  #send(answer: TextReply, req: IncomingMessage, reply: FastifyReply): FastifyReply {
    if (answer.internal) this.options.log.error({ err: answer.cause, method: req.method, url: req.url }, `request failed: ${answer.text}`);
    if (reply.raw.headersSent) {
      reply.raw.destroy();
      return reply;
    }
    reply.code(answer.status);
    reply.headers(answer.headers);
    if (!req.complete || this.draining) reply.header('connection', 'close');
    return reply.type('text/plain; charset=utf-8').send(`${answer.text}\n`);
  }
}
