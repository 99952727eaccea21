import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ErrorCode } from '@ferry/core';
import { abortable, SiteContext, temporaryName } from './remote-error.js';
import type { SiteConfig } from './site-config.js';
import type { MoveOptions, OutboundClient, RemoteEntry } from './types.js';

/**
 * HTTP(S) sites, over node:http (the only file speaking HTTP to partners; AS2 has its own sender):
 * PUT to push, GET to pull, DELETE to remove, and a listing only from servers that answer a GET on
 * a directory as Ferry's httpd does (JSON `{ path, entries: [{ name, type, size, mtime }] }`).
 * A push is atomic on the server's side (`upload: direct`, the default: the server commits only a
 * complete body, as Ferry's httpd does), or by PUT to a temporary name and WebDAV MOVE
 * (`upload: move`).
 */

/** How long a PUT waits for `100 Continue` before it sends its body anyway (as curl does). */
const CONTINUE_WAIT_MS = 1000;

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  response: IncomingMessage;
}

export async function connectHttp(site: SiteConfig, name: string, opts: { signal: AbortSignal }): Promise<OutboundClient> {
  const ctx = new SiteContext(site, name);
  if (opts.signal.aborted) throw ctx.aborted('connect');
  const https = site.url !== undefined ? site.url.startsWith('https:') : site.protocol === 'https';
  const ca = site.tls.ca === undefined ? undefined : await readFile(site.tls.ca).catch((err: unknown) => {
    throw ctx.error('FERRY_ERR_CONFIG_INVALID', 'connect', `cannot read tls.ca ${site.tls.ca}: ${ctx.reasonOf(err)}`);
  });
  const agent = https
    ? new HttpsAgent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: site.tls.rejectUnauthorized, ...(ca !== undefined ? { ca } : {}) })
    : new HttpAgent({ keepAlive: true, maxSockets: 4 });
  const base = new URL(site.url ?? `${site.protocol}://${site.host?.includes(':') ? `[${site.host}]` : (site.host ?? '')}:${site.port}/`);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new HttpClient(ctx, agent, https, base);
}

class HttpClient implements OutboundClient {
  readonly #ctx: SiteContext;
  readonly #agent: HttpAgent;
  readonly #https: boolean;
  readonly #base: URL;
  readonly #requests = new Set<ClientRequest>();
  #closed = false;

  constructor(ctx: SiteContext, agent: HttpAgent, https: boolean, base: URL) {
    this.#ctx = ctx;
    this.#agent = agent;
    this.#https = https;
    this.#base = base;
  }

  get #site(): SiteConfig {
    return this.#ctx.site;
  }

  /** The URL of an absolute remote path (from ctx.resolve), each segment percent-encoded. */
  #url(path: string, directory = false): URL {
    const encoded = path
      .split('/')
      .filter((segment) => segment !== '')
      .map(encodeURIComponent)
      .join('/');
    return new URL(`${encoded}${directory && encoded !== '' ? '/' : ''}`, this.#base);
  }

  #authorization(): OutgoingHttpHeaders {
    const { user, password } = this.#site;
    if (user === undefined || password === undefined) return {};
    return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
  }

  #cut(): void {
    this.#closed = true;
    for (const req of this.#requests) req.destroy();
    this.#agent.destroy();
  }

  /** One request; with `bodyFile`, its bytes are streamed (Expect: 100-continue first). */
  #send(method: string, url: URL, options: { headers?: OutgoingHttpHeaders; bodyFile?: { path: string; size: number }; onProgress?: (bytes: number) => void } = {}): Promise<Answer> {
    if (this.#closed) return Promise.reject(new Error('the client is closed'));
    const body = options.bodyFile;
    return new Promise<Answer>((resolve, reject) => {
      const req = (this.#https ? httpsRequest : httpRequest)(url, {
        method,
        agent: this.#agent as never,
        headers: {
          ...this.#authorization(),
          ...(body ? { 'content-length': body.size, 'content-type': 'application/octet-stream', ...(body.size > 0 ? { expect: '100-continue' } : {}) } : {}),
          ...options.headers,
        },
      });
      this.#requests.add(req);
      let answered = false;
      let bodyStarted = false;
      const done = (): void => {
        this.#requests.delete(req);
      };
      req.setTimeout(this.#site.timeout, () => req.destroy(new Error(`no answer within ${this.#site.timeout} ms`)));
      req.on('response', (response) => {
        answered = true;
        done();
        // An answer before the body went out (a 401, a 404...): the request can never finish, so
        // its connection goes once the answer has been read.
        if (body && body.size > 0 && !bodyStarted) response.once('close', () => req.destroy());
        resolve({ status: response.statusCode ?? 0, headers: response.headers, response });
      });
      req.on('error', (err) => {
        done();
        if (!answered) reject(err);
      });
      if (!body || body.size === 0) {
        req.end();
        return;
      }
      const startBody = (): void => {
        if (bodyStarted || answered) return;
        bodyStarted = true;
        let sent = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            sent += chunk.length;
            options.onProgress?.(sent);
            callback(null, chunk);
          },
        });
        pipeline(createReadStream(body.path, { highWaterMark: 1 << 20 }), counter, req).catch((err: unknown) => {
          // An early answer (an error status) ends the upload; that answer is what counts.
          if (!answered) req.destroy(err instanceof Error ? err : new Error(String(err)));
        });
      };
      req.on('continue', startBody);
      const timer = setTimeout(startBody, CONTINUE_WAIT_MS);
      req.on('close', () => clearTimeout(timer));
      req.flushHeaders();
    });
  }

  /** The answer as a FerryError, the server's own message included (Ferry's JSON `{ code, message }` or text). */
  async #refused(answer: Answer, what: string): Promise<Error> {
    const text = (await readBody(answer.response, 64 * 1024).catch(() => Buffer.alloc(0))).toString('utf8').trim();
    let reason = text.slice(0, 300);
    try {
      const json = JSON.parse(text) as { message?: unknown };
      if (typeof json.message === 'string') reason = json.message;
    } catch {
      // Not JSON: the text as it is.
    }
    const code: ErrorCode =
      answer.status === 401 ? 'FERRY_ERR_AUTH_FAILED' : answer.status === 403 ? 'FERRY_ERR_PERMISSION_DENIED' : answer.status === 404 ? 'FERRY_ERR_NOT_FOUND' : 'FERRY_ERR_REMOTE';
    const retryAfter = Number(answer.headers['retry-after']);
    return this.#ctx.error(code, what, `HTTP ${answer.status}${reason ? `: ${reason}` : ''}`, {
      details: { status: answer.status, ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}) },
    });
  }

  async #put(localFile: string, size: number, target: string, what: string, onProgress: (bytes: number) => void): Promise<void> {
    const attempt = () => this.#send('PUT', this.#url(target), { bodyFile: { path: localFile, size }, onProgress });
    let answer = await attempt();
    if (answer.status === 404 || answer.status === 409) {
      // The remote directory may be missing: make it (MKCOL), then once more.
      answer.response.resume();
      await this.#mkdirs(posix.dirname(target));
      answer = await attempt();
    }
    if (answer.status < 200 || answer.status >= 300) throw await this.#refused(answer, what);
    answer.response.resume();
  }

  async #mkdirs(dir: string): Promise<void> {
    let current = '';
    for (const part of dir.split('/').filter((p) => p !== '')) {
      current += `/${part}`;
      const answer = await this.#send('MKCOL', this.#url(current));
      answer.response.resume();
    }
  }

  push(localFile: string, remotePath: string, opts: MoveOptions): Promise<{ bytes: number }> {
    const final = this.#ctx.resolve(remotePath);
    const what = `push ${localFile} to ${final}`;
    return abortable(this.#ctx, what, opts.signal, () => this.#cut(), async () => {
      const { size } = await stat(localFile);
      if (this.#site.upload === 'move') {
        const temporary = temporaryName(final);
        await this.#put(localFile, size, temporary, what, opts.onProgress);
        const answer = await this.#send('MOVE', this.#url(temporary), { headers: { destination: this.#url(final).pathname, overwrite: 'T' } });
        if (answer.status < 200 || answer.status >= 300) throw await this.#refused(answer, `${what}: MOVE ${temporary} to ${final}`);
        answer.response.resume();
      } else {
        await this.#put(localFile, size, final, what, opts.onProgress);
      }
      opts.onProgress(size);
      return { bytes: size };
    });
  }

  pull(remotePath: string, localFile: string, opts: MoveOptions): Promise<{ bytes: number }> {
    const source = this.#ctx.resolve(remotePath);
    const what = `pull ${source} to ${localFile}`;
    return abortable(this.#ctx, what, opts.signal, () => this.#cut(), async () => {
      const answer = await this.#send('GET', this.#url(source));
      if (answer.status !== 200) throw await this.#refused(answer, what);
      let bytes = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          opts.onProgress(bytes);
          callback(null, chunk);
        },
      });
      await pipeline(answer.response, counter, createWriteStream(localFile));
      const expected = Number(answer.headers['content-length']);
      if (Number.isFinite(expected) && answer.headers['content-length'] !== undefined && expected !== bytes) {
        throw this.#ctx.error('FERRY_ERR_REMOTE', what, `the answer was cut: ${bytes} of ${expected} bytes`);
      }
      return { bytes };
    });
  }

  async list(remoteDir: string): Promise<RemoteEntry[]> {
    const dir = this.#ctx.resolve(remoteDir);
    const what = `list ${dir}`;
    let answer: Answer;
    try {
      answer = await this.#send('GET', this.#url(dir, true), { headers: { accept: 'application/json' } });
    } catch (err) {
      throw this.#ctx.wrap(err, what);
    }
    if (answer.status !== 200) throw await this.#refused(answer, what);
    const unsupported = (why: string) =>
      this.#ctx.error('FERRY_ERR_REMOTE', what, `listing is not supported on this site: ${why}; a listing needs a server that answers a GET on a directory with Ferry's JSON {path, entries}`);
    if (!String(answer.headers['content-type'] ?? '').includes('json')) {
      answer.response.resume();
      throw unsupported(`the answer is ${answer.headers['content-type'] ?? 'untyped'}, not JSON`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse((await readBody(answer.response, 64 << 20)).toString('utf8'));
    } catch (err) {
      throw unsupported(`the answer is not JSON (${this.#ctx.reasonOf(err)})`);
    }
    const entries = (parsed as { entries?: unknown } | null)?.entries;
    if (!Array.isArray(entries)) throw unsupported('the JSON has no entries list');
    return entries.map((raw: unknown) => {
      const entry = raw as { name?: unknown; type?: unknown; size?: unknown; mtime?: unknown };
      if (typeof entry.name !== 'string') throw unsupported('an entry has no name');
      const mtime = typeof entry.mtime === 'string' ? new Date(entry.mtime) : null;
      return {
        name: entry.name,
        type: entry.type === 'file' ? 'file' : entry.type === 'directory' ? 'directory' : 'other',
        size: typeof entry.size === 'number' ? entry.size : 0,
        mtime: mtime && !Number.isNaN(mtime.getTime()) ? mtime : null,
      } satisfies RemoteEntry;
    });
  }

  async remove(remotePath: string): Promise<void> {
    const path = this.#ctx.resolve(remotePath);
    const what = `remove ${path}`;
    let answer: Answer;
    try {
      answer = await this.#send('DELETE', this.#url(path));
    } catch (err) {
      throw this.#ctx.wrap(err, what);
    }
    if (answer.status < 200 || answer.status >= 300) throw await this.#refused(answer, what);
    answer.response.resume();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#agent.destroy();
  }
}

function readBody(response: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    response.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        response.destroy();
        reject(new Error(`the answer is over ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks)));
    response.on('error', reject);
  });
}
