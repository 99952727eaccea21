import { isFerryError, parseDuration } from '@ferry/core';

/**
 * The command line, in both spellings: SecureTransport's single-dash words (`-g -timeout 60`) and
 * the usual GNU forms (`--graceful --timeout 60`, `--timeout=60`). Options may appear anywhere;
 * `--` ends them.
 */
export interface ParsedArgs {
  positionals: string[];
  graceful: boolean;
  /** Seconds. */
  timeout?: number;
  config?: string;
  json: boolean;
  passwordStdin: boolean;
  home?: string;
  sshKey?: string;
  /** `as2 partners add`: the partner's certificate file, AS2 URL, inbox, and `KEY=VALUE` settings. */
  cert?: string;
  url?: string;
  inbox?: string;
  set: string[];
  help: boolean;
  /** The options given, by canonical name, so a command can refuse those that do not apply to it. */
  given: Set<OptionName>;
}

export type OptionName = 'graceful' | 'timeout' | 'config' | 'json' | 'password-stdin' | 'home' | 'ssh-key' | 'cert' | 'url' | 'inbox' | 'set' | 'help';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface OptionSpec {
  name: OptionName;
  /** Takes a value: `--x V`, `--x=V`. */
  value: boolean;
}

const OPTIONS: Readonly<Record<string, OptionSpec>> = {
  '-g': { name: 'graceful', value: false },
  '--graceful': { name: 'graceful', value: false },
  '-timeout': { name: 'timeout', value: true },
  '--timeout': { name: 'timeout', value: true },
  '-c': { name: 'config', value: true },
  '--config': { name: 'config', value: true },
  '--json': { name: 'json', value: false },
  '--password-stdin': { name: 'password-stdin', value: false },
  '--home': { name: 'home', value: true },
  '--ssh-key': { name: 'ssh-key', value: true },
  '--cert': { name: 'cert', value: true },
  '--url': { name: 'url', value: true },
  '--inbox': { name: 'inbox', value: true },
  '--set': { name: 'set', value: true },
  '-h': { name: 'help', value: false },
  '--help': { name: 'help', value: false },
};

/** `-timeout` takes seconds, as SecureTransport's does; a duration like `5m` is accepted too. */
function parseTimeout(text: string): number {
  try {
    return parseDuration(text) / 1000;
  } catch (err) {
    if (!isFerryError(err)) throw err;
    throw new UsageError(`-timeout needs a number of seconds (or a duration like 90s, 5m, 1h), got "${text}"`);
  }
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { positionals: [], graceful: false, json: false, passwordStdin: false, set: [], help: false, given: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      parsed.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      parsed.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = OPTIONS[flag];
    if (!spec) throw new UsageError(`unknown option "${flag}"`);
    let value: string | undefined;
    if (spec.value) {
      value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`);
    } else if (eq > 0) {
      throw new UsageError(`${flag} takes no value`);
    }
    // --set is the one option that repeats: one setting each.
    if (parsed.given.has(spec.name) && spec.value && spec.name !== 'set') throw new UsageError(`${flag} is given twice`);
    parsed.given.add(spec.name);
    apply(parsed, spec.name, value ?? '');
  }
  return parsed;
}

function apply(parsed: ParsedArgs, name: OptionName, value: string): void {
  switch (name) {
    case 'graceful':
      parsed.graceful = true;
      return;
    case 'timeout':
      parsed.timeout = parseTimeout(value);
      return;
    case 'config':
      parsed.config = value;
      return;
    case 'json':
      parsed.json = true;
      return;
    case 'password-stdin':
      parsed.passwordStdin = true;
      return;
    case 'home':
      parsed.home = value;
      return;
    case 'ssh-key':
      parsed.sshKey = value;
      return;
    case 'cert':
      parsed.cert = value;
      return;
    case 'url':
      parsed.url = value;
      return;
    case 'inbox':
      parsed.inbox = value;
      return;
    case 'set':
      parsed.set.push(value);
      return;
    case 'help':
      parsed.help = true;
      return;
  }
}
