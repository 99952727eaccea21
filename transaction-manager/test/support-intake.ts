// Test support for the intake components (scheduler, folder monitor): a component hosted
// in-process by a ComponentRuntime over a temp SQLite store, with its log lines kept for checks.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComponentRuntime, createLogger, openStore, type Component, type Job, type Store } from '@ferry/core';
export { eventually, stateReached } from '../../test/support/common.js';

export interface LogLine {
  level: string;
  msg: string;
  event?: string;
  [key: string]: unknown;
}

export interface IntakeHarness<C> {
  dir: string;
  dataDir: string;
  store: Store;
  lines: LogLine[];
  /** A runtime for a fresh component; several may be made in turn over the same store. */
  host(component: Component<C>, config: C & { gracefulShutdownTimeout: number }): ComponentRuntime<C>;
  /** Every job in the queue, oldest first. */
  jobs(): Promise<Job[]>;
  close(): Promise<void>;
}

export async function intakeHarness<C>(prefix: string): Promise<IntakeHarness<C>> {
  const dir = await mkdtemp(join(tmpdir(), `ferry-${prefix}-`));
  const dataDir = join(dir, 'data');
  const store = await openStore({ url: `sqlite:${join(dir, 'ferry.db')}`, dataDir });
  const lines: LogLine[] = [];
  const runtimes: ComponentRuntime<C>[] = [];
  const destination = {
    write(line: string): void {
      lines.push(JSON.parse(line) as LogLine);
      if (process.env.FERRY_TEST_LOG) process.stdout.write(line);
    },
  };
  return {
    dir,
    dataDir,
    store,
    lines,
    host(component, config) {
      const log = createLogger({ component: component.id, level: 'debug', destination });
      const runtime = new ComponentRuntime<C>({ component, config, dataDir, store, log, loggingIntervalMs: 60_000, abortGraceMs: 1000 });
      runtimes.push(runtime);
      return runtime;
    },
    async jobs() {
      const list = await store.jobs.list({ limit: 10_000 });
      return list.sort((a, b) => a.id - b.id);
    },
    async close() {
      for (const runtime of runtimes) await runtime.stopNow().catch(() => undefined);
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
