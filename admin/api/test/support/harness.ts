import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, openStore, type Store } from '@ferry/core';
import type { FastifyInstance } from 'fastify';
import { request as httpRequest } from 'undici';
import { API_JOB_KINDS, checkApiJob, describeSchedules, schedulerSection } from '@ferry/transaction-manager';
import { buildAdminApi } from '../../src/index.js';
import { FakeNode, type FakeNodeOptions } from './fake-node.js';

export interface RunningApi {
  app: FastifyInstance;
  url: string;
  token: string;
  store: Store;
  node: FakeNode;
  dataDir: string;
  homeRoot: string;
  /** Everything the API logged, one parsed JSON object per line. */
  logLines: () => Record<string, unknown>[];
  close(): Promise<void>;
}

export interface StartApiOptions {
  /** Component ids → default graceful timeout (ms). */
  components?: FakeNodeOptions['components'];
  /** To test with a FakeNode subclass (e.g. one that fails). */
  makeNode?: (options: FakeNodeOptions) => FakeNode;
}

const DEFAULT_COMPONENTS = { httpd: 30_000, ftpd: 86_400_000, tm: 60_000 };

/** The schedules the API describes: one, through the scheduler's own config section. */
const SCHEDULER = schedulerSection.schema.parse({
  schedules: [{ name: 'hourly-pull', cron: '0 * * * *', misfire: 'once', job: { kind: 'pull', payload: { site: 'partner', remotePath: '/out/', account: 'alice', path: '/in' } } }],
});
const SCHEDULES = () => describeSchedules(SCHEDULER);

/** A real admin API on a real socket (port 0), over a SQLite store in a temp dir and a FakeNode. */
export async function startApi(options: StartApiOptions = {}): Promise<RunningApi> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-admin-'));
  const store = await openStore({ url: `sqlite:${join(dataDir, 't.db')}`, dataDir });
  const token = await store.adminTokens.create('test');
  const nodeOptions = { components: options.components ?? DEFAULT_COMPONENTS, store };
  const node = options.makeNode ? options.makeNode(nodeOptions) : new FakeNode(nodeOptions);
  const lines: string[] = [];
  const log = createLogger({ component: 'node', level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  const homeRoot = join(dataDir, 'homes');
  const app = await buildAdminApi({ control: node, store, log, dataDir, accountHomeRoot: homeRoot, jobRules: { kinds: API_JOB_KINDS, check: checkApiJob }, schedules: SCHEDULES });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    url,
    token,
    store,
    node,
    dataDir,
    homeRoot,
    logLines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    async close() {
      await app.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  // JSON replies are asserted field by field; typing each one would only restate the schemas.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTP call with undici; the token is sent unless `token: null`. */
export async function call(api: RunningApi, method: string, path: string, options: { body?: unknown; token?: string | null } = {}): Promise<Reply> {
  const token = options.token === undefined ? api.token : options.token;
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await httpRequest(`${api.url}${path}`, {
    method: method as 'GET',
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.body.text();
  let body: unknown = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    // Swagger UI pages are HTML; keep the text.
  }
  return { status: response.statusCode, body, headers: response.headers };
}

/** Polls until `check` passes or the time is up (for state changes that happen on timers). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
