import { mkdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { buildAdminApi } from '@ferry/admin-api';
import { createLogger, enabledComponents, loadConfig, openStore, readSection, type FerryConfig } from '@ferry/core';
import { ensureAdminToken } from './admin-token.js';
import { CATALOG } from './catalog.js';
import { nodeSection } from './config.js';
import { SECTIONS } from './sections.js';
import { Supervisor, type ComponentPlan } from './supervisor.js';
import { adminSection } from '@ferry/admin-api';
import { API_JOB_KINDS, checkApiJob, describeSchedules, schedulerSection, tmSection } from '@ferry/transaction-manager';

export const NODE_FILE = 'node.json';
const VERSION = '0.1.0';
const COMPONENT_MAIN = fileURLToPath(new URL('./component-main.js', import.meta.url));

export interface StartOptions {
  configFile: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * `ferry start`: load and validate the config, open the store, serve the admin API, fork every
 * enabled component and supervise it until SIGTERM/SIGINT runs the node plan (DESIGN §3; a second
 * signal: immediate) or the admin API asks for a node shutdown.
 */
export async function startNode(options: StartOptions): Promise<void> {
  const config: FerryConfig = loadConfig({ file: options.configFile, env: options.env, sections: SECTIONS });
  const dataDir = resolve(options.cwd, config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const log = createLogger({ component: 'node', level: config.log.level });
  const store = await openStore({ url: config.store.url, dataDir });
  const token = await ensureAdminToken(store, dataDir);
  if (token.created) log.info({ file: token.file }, `admin token written to ${token.file} (owner-only)`);

  const nodeConfig = readSection(config, nodeSection);
  const enabled = enabledComponents(config, SECTIONS);
  // Routing is enqueued only where something will take it: a tm with at least one route.
  const routeUploads = enabled.includes('tm') && readSection(config, tmSection).routes.length > 0;
  const childConfig = { ...config, dataDir, routeUploads };
  const components: ComponentPlan[] = enabled.map((id) => {
    const section = (config as unknown as Record<string, { gracefulShutdownTimeout: number; ackTimeout: number }>)[id]!;
    const entry = CATALOG[id];
    if (!entry) throw new Error(`component ${id} has a section but no catalog entry`);
    return { id, kind: entry.kind, entry: COMPONENT_MAIN, args: [id], timeouts: { ...pick(section), killTimeout: nodeConfig.killTimeout } };
  });
  for (const [id, custom] of Object.entries(nodeConfig.customComponents)) {
    components.push({
      id,
      kind: custom.kind,
      entry: resolve(options.cwd, custom.module),
      args: [...custom.args],
      timeouts: { ...pick(custom), killTimeout: nodeConfig.killTimeout },
    });
  }

  const supervisor = new Supervisor({
    components,
    config: childConfig,
    store,
    log,
    version: VERSION,
    monitor: { initialDelayMs: nodeConfig.restartDelay, maxDelayMs: nodeConfig.restartDelayMax, stableAfterMs: 60_000 },
  });
  const admin = readSection(config, adminSection);
  const api = await buildAdminApi({
    control: supervisor,
    store,
    log,
    dataDir,
    accountHomeRoot: join(dataDir, 'homes'),
    jobRules: { kinds: API_JOB_KINDS, check: checkApiJob },
    schedules: () => (enabled.includes('scheduler') ? describeSchedules(readSection(config, schedulerSection)) : []),
  });
  const adminUrl = await api.listen({ port: admin.port, host: admin.host });
  const nodeFile = join(dataDir, NODE_FILE);
  await writeFile(nodeFile, `${JSON.stringify({ pid: process.pid, adminUrl, startedAt: new Date().toISOString() })}\n`);
  log.info({ adminUrl, dataDir, components: components.map((c) => c.id) }, `ferry node up: admin API at ${adminUrl}`);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    const mode = signals === 1 ? 'graceful' : 'immediate';
    log.warn({ signal, mode }, `${signal}: ${mode} stop of the node${mode === 'graceful' ? ' (the node plan: intake, protocol daemons, tm)' : ''}`);
    void supervisor.stopAll(mode, { via: 'signal', detail: signal });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  supervisor.on('stopped', () => {
    void (async () => {
      log.info('every component stopped: node exits');
      await api.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      await rm(nodeFile, { force: true });
      log.flush();
      setImmediate(() => process.exit(0));
    })();
  });

  await supervisor.startAll();
}

function pick(section: { gracefulShutdownTimeout: number; ackTimeout: number }): { gracefulShutdownTimeout: number; ackTimeout: number } {
  return { gracefulShutdownTimeout: section.gracefulShutdownTimeout, ackTimeout: section.ackTimeout };
}
