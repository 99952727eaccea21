#!/usr/bin/env node
// Builds core's native socket options (binding.gyp) with the node-gyp that npm provides to its
// scripts. Optional: without a compiler the build goes on, and Ferry runs without them (it says
// so when a daemon starts); nothing else depends on them.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const nodeGyp = process.env.npm_config_node_gyp;
const [command, args] = nodeGyp ? [process.execPath, [nodeGyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const run = spawnSync(command, args, { cwd: packageDir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (run.status !== 0) {
  const why = run.error?.message ?? run.stderr.trim().split('\n').slice(-3).join(' | ');
  console.warn(`@ferry/core: native socket options not built (${why}); Ferry runs without them`);
}
