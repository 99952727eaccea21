import type { AnySection } from '@ferry/core';

/** Everything the CLI touches of its process, passed in so that tests run it in-process. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Read only by --password-stdin. */
  stdin: AsyncIterable<string | Buffer>;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Every config section of the node, so that loadConfig knows every key of ferry.yaml. */
  sections: readonly AnySection[];
  /** How often a stop, suspend or start is polled for progress (ms). Default 1000. */
  pollIntervalMs?: number;
}

/** Exit codes, so that scripts can tell "refused" from "not running". */
export const EXIT = {
  ok: 0,
  /** The command ran and failed: the node refused it, or the component did not get where asked. */
  failed: 1,
  /** The command line is wrong. */
  usage: 2,
  /** The node's admin API does not answer. */
  unreachable: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function println(stream: CliIo['stdout'], line = ''): void {
  stream.write(`${line}\n`);
}
