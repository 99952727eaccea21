// The only file that imports the HTTP library (fastify). Handlers see an Exchange and answer a Reply.
import { fastify, type FastifyInstance, type FastifyReply } from 'fastify';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger, SessionTable, StopMode } from '@ferry/core';
import { errorReply, notFoundReply, type ErrorReply } from './error-map.js';
import type { Exchange, Reply, Route } from './exchange.js';
import { HttpSession } from './session.js';

export interface DriverOptions {
  routes: readonly Route[];
  sessions: SessionTable;
  log: Logger;
  /** PEM contents; HTTPS when given. */
  tls?: { cert: Buffer; key: Buffer };
}

/** WebDAV verbs the file service answers besides the standard ones. */
const EXTRA_METHODS = ['MKCOL', 'MOVE'] as const;

/** A graceful stop gives requests still being answered (refusals, mostly) this long before cutting them. */
const STOP_GRACE_MS = 2000;

const SERVER_OPTIONS: ServerOptions = {
  // Node's default (300 s) would cut any upload longer than five minutes; the core decides when a transfer ends.
  requestTimeout: 0,
  headersTimeout: 60_000,
  keepAliveTimeout: 5_000,
};

const JSON_TYPE = 'application/json; charset=utf-8';

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function responseDone(res: ServerResponse): Promise<boolean> {
  if (res.writableFinished) return Promise.resolve(true);
  if (res.closed) return Promise.resolve(false);
  // 'close' follows 'finish' on a response that completed, and comes alone on one that was cut.
  return new Promise((resolve) => res.once('close', () => resolve(res.writableFinished)));
}

/**
 * The HTTP(S) server: a Node server we create ourselves (so we see every connection and own its
 * timeouts) with fastify routing on top. Bodies are never parsed: a catch-all content-type parser
 * leaves the raw request stream to the upload handlers, with no body limit.
 */
export class HttpDriver {
  /** While set, every response carries `Connection: close`. */
  draining = false;
  readonly #app: FastifyInstance;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new WeakMap<Socket, HttpSession>();
  readonly #log: Logger;

  constructor(private readonly options: DriverOptions) {
    this.#log = options.log;
    let dispatch: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      this.#sessionOf(req.socket).begin(res, this.draining);
      dispatch?.(req, res);
    };
    if (options.tls) {
      const server = createHttpsServer({ ...SERVER_OPTIONS, cert: options.tls.cert, key: options.tls.key }, onRequest);
      server.on('secureConnection', (socket: Socket) => this.#sessionOf(socket));
      // fastify only needs listen/close from it, which both server kinds have.
      this.#server = server as unknown as Server;
    } else {
      this.#server = createHttpServer(SERVER_OPTIONS, onRequest);
      this.#server.on('connection', (socket: Socket) => this.#sessionOf(socket));
    }
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // `Expect: 100-continue` (curl sends it for large uploads): while draining the body is not asked
    // for, so the 503 that follows costs the client nothing.
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
    for (const method of EXTRA_METHODS) this.#app.addHttpMethod(method, { hasBody: true });
    // Bodies stay raw: uploads stream them to storage themselves, so no parser and no body limit.
    this.#app.removeAllContentTypeParsers();
    this.#app.addContentTypeParser('*', (_request, _payload, done) => done(null));
    for (const route of options.routes) {
      this.#app.route({ method: route.method, url: route.url, handler: (request, reply) => this.#handle(route, request.raw, reply) });
    }
    this.#app.setNotFoundHandler((request, reply) => this.#send(notFoundReply(), request.raw, reply));
    this.#app.setErrorHandler((err, request, reply) => this.#fail(err, request.raw, reply));
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

  /**
   * graceful: stop listening, close idle keep-alive connections, give a response still in
   * progress a moment, then cut. immediate: cut every connection now.
   */
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

  #sessionOf(socket: Socket): HttpSession {
    let session = this.#sessions.get(socket);
    if (session === undefined) {
      session = new HttpSession(this.options.sessions, socket);
      this.#sessions.set(socket, session);
    }
    return session;
  }

  #exchange(req: IncomingMessage, res: ServerResponse): Exchange {
    const session = this.#sessionOf(req.socket);
    return {
      method: req.method ?? 'GET',
      path: pathOf(req.url),
      headers: req.headers,
      body: req,
      session,
      responseDone: () => responseDone(res),
      cut: () => session.destroy(),
    };
  }

  async #handle(route: Route, req: IncomingMessage, reply: FastifyReply): Promise<FastifyReply> {
    let result: Reply;
    try {
      result = await route.handler(this.#exchange(req, reply.raw));
    } catch (err) {
      return this.#fail(err, req, reply, route.headers);
    }
    reply.code(result.status);
    if (route.headers) reply.headers(route.headers);
    if (result.headers) reply.headers(result.headers);
    if (result.json !== undefined) return reply.type(JSON_TYPE).send(JSON.stringify(result.json));
    return reply.send(result.body);
  }

  #fail(err: unknown, req: IncomingMessage, reply: FastifyReply, routeHeaders?: Readonly<Record<string, string>>): FastifyReply {
    const answer = errorReply(err);
    if (answer.internal) this.#log.error({ err, method: req.method, url: req.url }, `request failed: ${answer.body.message}`);
    else this.#log.debug({ code: answer.body.code, method: req.method, url: req.url }, answer.body.message);
    return this.#send(answer, req, reply, routeHeaders);
  }

  #send(answer: ErrorReply, req: IncomingMessage, reply: FastifyReply, routeHeaders?: Readonly<Record<string, string>>): FastifyReply {
    // Too late for a status line (a download cut by a read error): all that is left is to cut.
    if (reply.raw.headersSent) {
      reply.raw.destroy();
      return reply;
    }
    reply.code(answer.status);
    if (routeHeaders) reply.headers(routeHeaders);
    reply.headers(answer.headers);
    // A body left unread would have to be read to the end to keep the connection: closing is cheaper.
    if (!req.complete) reply.header('connection', 'close');
    return reply.type(JSON_TYPE).send(JSON.stringify(answer.body));
  }
}
