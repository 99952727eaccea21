#!/usr/bin/env node
// The receiving side of the AS2 benchmark: as2d hosted in a process of its own (as the node would
// host it), from the built packages. Config as JSON in argv[2]; prints {"port":…} once listening;
// SIGTERM stops it gracefully.
import { ComponentRuntime, createLogger, openStore } from '@ferry/core';
import { as2dSection, createAs2d } from '@ferry/as2d';

const options = JSON.parse(process.argv[2]);
const store = await openStore({ url: `sqlite:${options.dataDir}/ferry.db`, dataDir: options.dataDir });
const config = as2dSection.schema.parse(options.section);
const log = createLogger({ component: 'as2d', level: 'warn' });
const runtime = new ComponentRuntime({ component: createAs2d(), config, dataDir: options.dataDir, store, log, loggingIntervalMs: 60_000 });
await runtime.start();
console.log(JSON.stringify({ port: runtime.listening[0].port }));
process.on('SIGTERM', () => {
  void runtime.gracefulStop(Date.now() + 30_000).then(async () => {
    await store.close();
    process.exit(0);
  });
});
