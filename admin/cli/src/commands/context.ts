import type { ParsedArgs } from '../args.js';
import type { AdminClient } from '../client.js';
import type { CliIo } from '../io.js';

/** What every command gets besides its operands: the parsed command line, the node, the process. */
export interface CommandContext {
  io: CliIo;
  args: ParsedArgs;
  client: AdminClient;
  pollIntervalMs: number;
}

export const componentPath = (id: string, action = ''): string => `/api/v1/components/${encodeURIComponent(id)}${action ? `/${action}` : ''}`;
