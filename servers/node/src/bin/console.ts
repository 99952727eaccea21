#!/usr/bin/env node
// `stop_<id> [-g] [-timeout N]` and `start_<id>`: the SecureTransport console commands. The
// command name itself says what to do, so every such bin points at this one file.
import { basename } from 'node:path';
import { runCli } from '@ferry/cli';
import { SECTIONS } from '../sections.js';

const command = basename(process.argv[1] ?? '');
process.exitCode = await runCli([command, ...process.argv.slice(2)], {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
  sections: SECTIONS,
});
