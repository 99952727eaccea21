#!/usr/bin/env node
// Transaction manager throughput: jobs per second through routing with a trivial action (a rename
// onto the same name), on SQLite and on PostgreSQL, with 1 and 4 workers. Each received file is two
// jobs: its `route` job and the one `step` the rule makes. The jobs are queued first, then the tm
// starts and the clock runs until the queue is empty.
// Usage: node test/bench/tm/run.mjs [files]   (needs the build: npm run build; PostgreSQL at
// FERRY_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres, else that half is skipped)
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { ComponentRuntime, createLogger, openStore } from '@ferry/core';
import { createTm, tmSection } from '@ferry/transaction-manager';
import { freshDir } from '../lib/bench.mjs';

const FILES = Math.min(Number(process.argv[2] ?? 2000), 20_000);
const PG_ADMIN_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const sink = new Writable({ write: (_c, _e, done) => done() });

async function postgresUrl(name) {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } catch (err) {
    console.log(`PostgreSQL unavailable (${err.message}): skipped`);
    return undefined;
  } finally {
    await admin.end().catch(() => undefined);
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function round(engine, workers) {
  const dir = await freshDir(`tm-${engine}-${workers}`);
  const url = engine === 'sqlite' ? `sqlite:${join(dir, 'ferry.db')}` : await postgresUrl(`ferry_bench_tm_${workers}`);
  if (!url) return undefined;
  const store = await openStore({ url, dataDir: dir });
  const home = join(dir, 'home');
  await mkdir(join(home, 'in'), { recursive: true });
  await store.accounts.create({ name: 'bench', password: 'bench-password', home });
  for (let i = 0; i < FILES; i++) {
    await writeFile(join(home, 'in', `f${i}.csv`), 'x');
    await store.jobs.enqueue({ kind: 'route', payload: { file: { account: 'bench', path: `/in/f${i}.csv` }, source: 'bench' }, dedupeKey: `route:bench-${i}` });
  }
  const config = tmSection.schema.parse({ workers, pollInterval: '20ms', routes: [{ name: 'trivial', path: '/in/*.csv', actions: [{ rename: '{name}' }] }] });
  const log = createLogger({ component: 'tm', level: 'warn', destination: sink });
  const runtime = new ComponentRuntime({ component: createTm(), config, dataDir: dir, store, log, loggingIntervalMs: 60_000 });
  const started = process.hrtime.bigint();
  await runtime.start();
  const deadline = Date.now() + 600_000;
  let counts = await store.jobs.counts();
  while ((counts.queued > 0 || counts.running > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    counts = await store.jobs.counts();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await runtime.stopNow();
  await store.close();
  if (counts.done !== FILES * 2) throw new Error(`expected ${FILES * 2} jobs done, got ${JSON.stringify(counts)}`);
  return { jobs: counts.done, seconds, perSecond: counts.done / seconds };
}

console.log(`tm routing throughput: ${FILES} files = ${FILES * 2} jobs (route + one trivial step each)`);
console.log('engine     workers   jobs   seconds   jobs/s');
for (const engine of ['sqlite', 'postgres']) {
  for (const workers of [1, 4]) {
    const r = await round(engine, workers);
    if (!r) continue;
    console.log(`${engine.padEnd(10)} ${String(workers).padStart(7)} ${String(r.jobs).padStart(6)} ${r.seconds.toFixed(2).padStart(9)} ${r.perSecond.toFixed(0).padStart(8)}`);
  }
}
