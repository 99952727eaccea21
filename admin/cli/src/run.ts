import { isFerryError } from '@ferry/core';
import { parseArgs, UsageError, type OptionName, type ParsedArgs } from './args.js';
import { AdminClient, NodeRefusal } from './client.js';
import { addAccount, changePassword, listAccounts, removeAccount } from './commands/accounts.js';
import { addPartner, listPartners, removePartner, showPartner } from './commands/as2.js';
import type { CommandContext } from './commands/context.js';
import { listJobs, listSchedules, retryJob, showJob } from './commands/jobs.js';
import { resume, start, stop, suspend } from './commands/lifecycle.js';
import { nodeReport, nodeResume, nodeShutdown, nodeSuspend } from './commands/node.js';
import { status } from './commands/status.js';
import { history, transfers } from './commands/transfers.js';
import { EXIT, println, type CliIo } from './io.js';
import { locateNode } from './locate.js';
import { USAGE } from './usage.js';

interface CommandSpec {
  words: readonly string[];
  /** Names of the operands, for the usage error when one is missing. */
  operands: readonly string[];
  /** Operands that may follow the required ones (`node report [ID]`). */
  optional?: readonly string[];
  /** Options besides -c and --help. */
  options: readonly OptionName[];
  run(ctx: CommandContext, ...operands: string[]): Promise<number>;
}

const COMMANDS: readonly CommandSpec[] = [
  { words: ['status'], operands: [], options: ['json'], run: status },
  { words: ['stop'], operands: ['id'], options: ['graceful', 'timeout'], run: stop },
  { words: ['start'], operands: ['id'], options: [], run: start },
  { words: ['suspend'], operands: ['id'], options: ['timeout'], run: suspend },
  { words: ['resume'], operands: ['id'], options: [], run: resume },
  { words: ['node', 'shutdown'], operands: [], options: ['graceful', 'timeout'], run: nodeShutdown },
  { words: ['node', 'suspend'], operands: [], options: ['timeout'], run: nodeSuspend },
  { words: ['node', 'resume'], operands: [], options: [], run: nodeResume },
  { words: ['node', 'report'], operands: [], optional: ['id'], options: ['json'], run: nodeReport },
  { words: ['transfers'], operands: [], options: ['json'], run: transfers },
  { words: ['history'], operands: [], options: ['json'], run: history },
  { words: ['jobs'], operands: [], options: ['json'], run: listJobs },
  { words: ['jobs', 'show'], operands: ['id'], options: ['json'], run: showJob },
  { words: ['jobs', 'retry'], operands: ['id'], options: [], run: retryJob },
  { words: ['schedules'], operands: [], options: ['json'], run: listSchedules },
  { words: ['accounts', 'list'], operands: [], options: ['json'], run: listAccounts },
  { words: ['accounts', 'add'], operands: ['name'], options: ['password-stdin', 'home', 'ssh-key'], run: addAccount },
  { words: ['accounts', 'passwd'], operands: ['name'], options: ['password-stdin'], run: changePassword },
  { words: ['accounts', 'remove'], operands: ['name'], options: [], run: removeAccount },
  { words: ['as2', 'partners', 'list'], operands: [], options: ['json'], run: listPartners },
  { words: ['as2', 'partners', 'show'], operands: ['id'], options: ['json'], run: showPartner },
  { words: ['as2', 'partners', 'add'], operands: ['id'], options: ['cert', 'url', 'inbox', 'set'], run: addPartner },
  { words: ['as2', 'partners', 'remove'], operands: ['id'], options: [], run: removePartner },
];

const ALWAYS_ALLOWED: readonly OptionName[] = ['config', 'help'];

/** SecureTransport's console commands: `stop_httpd -g -timeout 60`, `start_ftpd`. */
const CONSOLE_FORM = /^(stop|start)_([a-z][a-z0-9-]*)$/;

function resolveCommand(args: ParsedArgs): { spec: CommandSpec; operands: string[] } {
  let words = args.positionals;
  const consoleForm = CONSOLE_FORM.exec(words[0] ?? '');
  if (consoleForm) words = [consoleForm[1] ?? '', consoleForm[2] ?? '', ...words.slice(1)];
  if (words.length === 0) throw new UsageError('no command given');

  const spec = [...COMMANDS].sort((a, b) => b.words.length - a.words.length).find((c) => c.words.every((word, i) => words[i] === word));
  if (!spec) {
    const group = words[0] === 'accounts' ? `accounts ${words[1] ?? ''}`.trim() : words[0];
    throw new UsageError(`unknown command "${group}"`);
  }
  const name = spec.words.join(' ');
  const operands = words.slice(spec.words.length);
  if (operands.length < spec.operands.length) throw new UsageError(`${name} needs <${spec.operands.slice(operands.length).join('> <')}>`);
  if (operands.length > spec.operands.length + (spec.optional?.length ?? 0)) throw new UsageError(`${name}: unexpected "${operands[spec.operands.length + (spec.optional?.length ?? 0)]}"`);

  for (const option of args.given) {
    if (!ALWAYS_ALLOWED.includes(option) && !spec.options.includes(option)) throw new UsageError(`--${option} does not apply to ${name}`);
  }
  // Without -g a stop is immediate; a timeout there would be ignored, which nobody who typed it means.
  if (name === 'stop' && args.given.has('timeout') && !args.graceful) {
    throw new UsageError('-timeout applies to a graceful stop: add -g (stop <id> -g -timeout N)');
  }
  return { spec, operands };
}

/** A refusal from the node, with what the node suggested (the known component ids, say). */
function describeRefusal(err: NodeRefusal): string {
  const known = Array.isArray(err.details.known) ? ` (known: ${err.details.known.join(', ')})` : '';
  return `${err.message}${known} [${err.code}]`;
}

/**
 * The admin CLI: `ferry <command>` and the SecureTransport `stop_<id>`/`start_<id>` forms. Returns
 * the exit code; never calls process.exit, so the node package and tests run it in-process.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let command: { spec: CommandSpec; operands: string[] };
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
    if (args.help) {
      io.stdout.write(USAGE);
      return EXIT.ok;
    }
    command = resolveCommand(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    println(io.stderr, `ferry: ${err.message}\n`);
    io.stderr.write(USAGE);
    return EXIT.usage;
  }

  let client: AdminClient | undefined;
  try {
    const location = await locateNode({ ...(args.config ? { configFlag: args.config } : {}), env: io.env, cwd: io.cwd, sections: io.sections });
    client = new AdminClient(location);
    const ctx: CommandContext = { io, args, client, pollIntervalMs: io.pollIntervalMs ?? 1000 };
    return await command.spec.run(ctx, ...command.operands);
  } catch (err) {
    if (err instanceof UsageError) {
      println(io.stderr, `ferry: ${err.message}`);
      return EXIT.usage;
    }
    if (err instanceof NodeRefusal) {
      println(io.stderr, `ferry: ${describeRefusal(err)}`);
      return EXIT.failed;
    }
    if (isFerryError(err)) {
      println(io.stderr, `ferry: ${err.message}`);
      return err.code === 'FERRY_ERR_NODE_UNREACHABLE' ? EXIT.unreachable : EXIT.failed;
    }
    println(io.stderr, `ferry: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT.failed;
  } finally {
    await client?.close();
  }
}
