import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { adminSection } from '@ferry/admin-api';
import type { RunningApi } from '../../../api/test/support/harness.js';
import { runCli, type CliIo } from '../../src/index.js';

export const SECTIONS = [adminSection];

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
  /** Called with the output so far, while the command runs. */
  stdout?: (text: string) => void;
}

/** Runs the CLI in-process, as the node's bins do, with captured output and a fast poll. */
export async function cli(argv: string[], options: RunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: {
      write: (text: string) => {
        stdout += text;
        options.stdout?.(stdout);
      },
    },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    env: options.env ?? {},
    cwd: options.cwd ?? (await mkdtemp(join(tmpdir(), 'ferry-cli-cwd-'))),
    sections: SECTIONS,
    pollIntervalMs: 30,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/**
 * Makes the API's data dir look like a running node's: node.json (this test process is the live
 * pid) and admin.token. Returns the env that points the CLI at that data dir.
 */
export async function asRunningNode(api: RunningApi): Promise<Record<string, string>> {
  await writeFile(join(api.dataDir, 'node.json'), JSON.stringify({ pid: process.pid, adminUrl: api.url, startedAt: new Date().toISOString() }));
  await writeFile(join(api.dataDir, 'admin.token'), `${api.token}\n`, { mode: 0o600 });
  return { FERRY_DATA_DIR: api.dataDir };
}
