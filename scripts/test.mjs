#!/usr/bin/env node
// The test command of the README: build every package (the e2e tests start the built node),
// lint (package boundaries), then run every suite once and close with one plain summary line.
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', FORCE_COLOR: process.env.FORCE_COLOR ?? '0' };
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', env }).status ?? 1;

if (run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only']) !== 0) process.exit(1);
if (run('npx', ['eslint', '.']) !== 0) process.exit(1);

mkdirSync('test-results', { recursive: true });
const status = run('npx', [
  'vitest', 'run',
  '--reporter=default', '--reporter=json', '--outputFile.json=test-results/vitest.json',
  ...process.argv.slice(2),
]);
try {
  const report = JSON.parse(readFileSync('test-results/vitest.json', 'utf8'));
  const skipped = report.numPendingTests + report.numTodoTests;
  console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
  if (report.numTotalTests === 0) process.exit(1);
} catch {
  console.log('tests: 0 passed, 1 failed');
  process.exit(status || 1);
}
process.exit(status);
