import { resolve } from 'node:path';
import type { ComponentFactory } from './component.js';
import { FerryError } from './errors.js';
import { isSupervisorMessage, type ComponentMessage, type SupervisorMessage } from './ipc.js';
import { createLogger, type Logger } from './logging.js';
import { ComponentRuntime } from './runtime.js';
import { openStore } from './store/index.js';

/** The parts of the node config every component process reads (the rest is its own section). */
export interface HostedConfig {
  dataDir: string;
  store: { url: string };
  gracefulShutdown: { loggingInterval: number };
  log: { level: string };
  /** Set by the node when it runs the transaction manager: completed uploads enqueue routing. */
  routeUploads?: boolean;
  [section: string]: unknown;
}

function send(message: ComponentMessage): Promise<void> {
  return new Promise((done) => {
    if (!process.send || !process.connected) return done();
    process.send(message, undefined, undefined, () => done());
  });
}

function firstInit(): Promise<HostedConfig> {
  return new Promise((done) => {
    const onMessage = (message: unknown): void => {
      if (!isSupervisorMessage(message) || message.type !== 'init') return;
      process.off('message', onMessage);
      done(message.config as HostedConfig);
    };
    process.on('message', onMessage);
  });
}

/**
 * Entry of a component child process: waits for the supervisor's `init`, hosts the component in a
 * ComponentRuntime and maps IPC control messages onto it. Exits 0 once stopped, 1 on failure.
 */
export async function runComponentProcess(factory: ComponentFactory): Promise<void> {
  if (!process.send) {
    throw new FerryError('FERRY_ERR_BAD_REQUEST', 'a component process must be started by the ferry node supervisor (no IPC channel)');
  }
  const config = await firstInit();
  const component = factory();
  const section = config[component.id] as { gracefulShutdownTimeout: number } | undefined;
  if (!section) throw new FerryError('FERRY_ERR_UNKNOWN_COMPONENT', `no config section for ${component.id}`);
  const log = createLogger({ component: component.id, level: config.log.level });
  const dataDir = resolve(config.dataDir);
  const store = await openStore({ url: config.store.url, dataDir });
  const runtime = new ComponentRuntime({
    component,
    config: section,
    dataDir,
    store,
    log,
    loggingIntervalMs: config.gracefulShutdown.loggingInterval,
    routeUploads: config.routeUploads === true && component.id !== 'tm',
  });

  let exiting = false;
  const exit = async (code: number): Promise<void> => {
    exiting = true;
    // The history row (and routing job) of a transfer that ended just before the stop goes in first.
    await runtime.writesSettled();
    await store.close().catch(() => undefined);
    log.flush();
    process.disconnect?.();
    setImmediate(() => process.exit(code));
  };

  runtime.on('state', (state, previous, reason) => {
    void send({ type: 'state', state, previous, at: new Date().toISOString(), ...(reason ? { reason } : {}) }).then(() => {
      if (state === 'stopped') void exit(0);
      else if (state === 'failed' && previous !== 'starting') void exit(1);
    });
  });
  runtime.on('listening', (listening) => void send({ type: 'listening', listening }));

  process.on('message', (message: unknown) => {
    if (!isSupervisorMessage(message)) {
      log.warn({ message }, 'ignoring malformed control message');
      return;
    }
    handle(runtime, message, log);
  });
  // Ctrl-C in the supervisor's terminal reaches the whole process group: the supervisor decides.
  process.on('SIGINT', () => undefined);
  // SIGTERM from the supervisor is the ordinary stop (the fallback when a drain is not acknowledged).
  process.on('SIGTERM', () => void runtime.stopNow());
  process.on('disconnect', () => {
    // Our own exit disconnects too: only a supervisor that vanished is news.
    if (exiting) return;
    log.warn('supervisor went away: stopping now');
    void runtime.stopNow();
  });

  try {
    await runtime.start();
  } catch (err) {
    log.error({ err }, 'component failed to start');
    await send({ type: 'state', state: 'failed', previous: 'starting', at: new Date().toISOString(), reason: String(err) });
    await exit(1);
  }
}

function handle(runtime: ComponentRuntime, message: SupervisorMessage, log: Logger): void {
  const report = (err: unknown): void => log.error({ err }, `control message ${message.type} failed`);
  try {
    switch (message.type) {
      case 'init':
        return;
      case 'drain':
        runtime.suspend(message.deadline).catch(report);
        return;
      case 'resume':
        runtime.resume();
        return;
      case 'stop':
        (message.mode === 'immediate' ? runtime.stopNow() : runtime.gracefulStop(message.deadline)).catch(report);
        return;
      case 'status':
        void send({ type: 'status', requestId: message.requestId, status: runtime.status() });
        return;
    }
  } catch (err) {
    report(err);
  }
}
