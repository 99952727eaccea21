import { FerryError } from '@ferry/core';
import { Agent, request } from 'undici';
import type { NodeLocation } from './locate.js';

/** An error reply of the admin API: `{ code, message, details? }` with its HTTP status. */
export class NodeRefusal extends Error {
  override readonly name = 'NodeRefusal';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Connection failures that mean "nobody answers there", as opposed to an error reply. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** A live node answers in milliseconds (nothing in the API waits on a drain); longer is a hung node. */
const ANSWER_TIMEOUT_MS = 15_000;

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** The admin API as the CLI uses it: JSON in and out, the bearer token on every call. */
export class AdminClient {
  readonly #agent = new Agent({ connectTimeout: ANSWER_TIMEOUT_MS, headersTimeout: ANSWER_TIMEOUT_MS, bodyTimeout: ANSWER_TIMEOUT_MS });

  constructor(readonly location: NodeLocation) {}

  get<T>(path: string): Promise<T> {
    return this.#call<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.#call<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.#call<T>('DELETE', path);
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  async #call<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.location.token) headers.authorization = `Bearer ${this.location.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(`${this.location.adminUrl}${path}`, {
        method,
        headers,
        dispatcher: this.#agent,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw this.#unreachable(err);
    }
    const text = await response.body.text().catch((err: unknown) => {
      throw this.#unreachable(err);
    });
    const payload = text === '' ? undefined : parseJson(text);
    if (response.statusCode < 400) return payload as T;
    throw this.#refusal(response.statusCode, payload);
  }

  #refusal(status: number, payload: unknown): NodeRefusal {
    const reply = (payload ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
    const code = typeof reply.code === 'string' ? reply.code : `HTTP_${status}`;
    let message = typeof reply.message === 'string' ? reply.message : `the node answered HTTP ${status}`;
    if (code === 'FERRY_ERR_UNAUTHORIZED') {
      // The usual cause is a CLI pointed at another node's data dir, or run as another user.
      message += `; ${this.location.tokenProblem ?? `the token in ${this.location.tokenFile} was not accepted (is it this node's data dir?)`}`;
    }
    const details = typeof reply.details === 'object' && reply.details !== null ? (reply.details as Record<string, unknown>) : {};
    return new NodeRefusal(status, code, message, details);
  }

  #unreachable(err: unknown): FerryError {
    const code = (err as { code?: unknown }).code;
    const reason = err instanceof Error ? err.message : String(err);
    const known = typeof code === 'string' && UNREACHABLE_CODES.has(code);
    const message =
      `the node does not seem to run: nothing ${known ? 'answers' : 'usable answered'} at ${this.location.adminUrl} (${reason}).\n` +
      `Looked at:\n${this.location.looked.map((line) => `  - ${line}`).join('\n')}`;
    return new FerryError('FERRY_ERR_NODE_UNREACHABLE', message, { cause: err, details: { adminUrl: this.location.adminUrl, looked: this.location.looked } });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { message: text.slice(0, 200) };
  }
}
