import { spawn } from 'node:child_process';
import { posix } from 'node:path';
import { FerryError } from '@ferry/core';
import { fillPlaceholders } from '../naming.js';
import type { Action } from './context.js';

export interface RunConfig {
  command: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  timeout: number;
}

const STDERR_TAIL = 2000;

/**
 * Post-processing: runs a command (no shell) with the file's details in its environment
 * (FERRY_FILE, FERRY_PATH, FERRY_NAME, FERRY_ACCOUNT, FERRY_SIZE, FERRY_JOB) and placeholders
 * filled in its arguments. A non-zero exit fails the step, which is then retried.
 */
export const run: Action<RunConfig> = async (ctx, file, config) => {
  const opened = await ctx.files.open(file);
  const stat = await opened.storage.stat(opened.path).catch(() => undefined);
  const host = await ctx.files.hostPath(opened);
  const naming = { ...ctx.naming, path: file.path, account: file.account };
  const args = config.args.map((arg) => fillPlaceholders(arg, naming));
  const env = {
    ...process.env,
    ...config.env,
    FERRY_FILE: host,
    FERRY_PATH: file.path,
    FERRY_NAME: posix.basename(file.path),
    FERRY_ACCOUNT: file.account ?? '',
    FERRY_SIZE: String(stat?.size ?? ''),
    FERRY_JOB: String(ctx.jobId),
  };
  await new Promise<void>((resolve, reject) => {
    const child = spawn(config.command, args, { env, stdio: ['ignore', 'ignore', 'pipe'], signal: ctx.signal, timeout: config.timeout, killSignal: 'SIGTERM' });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    child.on('error', (err) => reject(ctx.signal.aborted ? ctx.signal.reason : runError(config.command, err.message, stderr)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const how = signal ? `was killed by ${signal}${signal === 'SIGTERM' ? ` (timeout ${config.timeout} ms?)` : ''}` : `exited with ${code}`;
      reject(ctx.signal.aborted ? ctx.signal.reason : runError(config.command, how, stderr));
    });
  });
  ctx.log.info({ event: 'tm.run', command: config.command, path: file.path }, `ran ${config.command} for ${file.path}`);
  return file;
};

function runError(command: string, how: string, stderr: string): FerryError {
  const tail = stderr.trim().split('\n').slice(-3).join(' | ');
  return new FerryError('FERRY_ERR_IO', `command ${command} ${how}${tail ? `: ${tail}` : ''}`, { details: { command } });
}
