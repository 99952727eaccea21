#!/usr/bin/env node
// `ferry start [-c FILE]` runs the node in the foreground; every other command is the admin CLI.
import { runCli } from '@ferry/cli';
import { isFerryError } from '@ferry/core';
import { SECTIONS } from '../sections.js';
import { startNode } from '../start-node.js';

const argv = process.argv.slice(2);
// `ferry start [-c FILE]` starts the node; `ferry start <id>` asks a running node to start a component.
const startsNode = argv[0] === 'start' && argv.slice(1).filter((a, i, all) => !a.startsWith('-') && all[i - 1] !== '-c' && all[i - 1] !== '--config').length === 0;
if (startsNode) {
  const rest = argv.slice(1);
  const i = rest.findIndex((a) => a === '-c' || a === '--config');
  const configFile = i >= 0 ? rest[i + 1] : (process.env.FERRY_CONFIG ?? (await defaultConfig()));
  startNode({ configFile, env: process.env, cwd: process.cwd() }).catch((err: unknown) => {
    console.error(isFerryError(err) ? `ferry: ${err.message}` : err);
    process.exit(1);
  });
} else {
  process.exitCode = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(), sections: SECTIONS });
}

async function defaultConfig(): Promise<string | undefined> {
  const { access } = await import('node:fs/promises');
  return access('ferry.yaml').then(() => 'ferry.yaml', () => undefined);
}
