import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../args.js';
import { EXIT, println, type CliIo } from '../io.js';
import { table } from '../table.js';
import type { Account, SshKey } from '../wire.js';
import type { CommandContext } from './context.js';

const accountPath = (name: string, rest = ''): string => `/api/v1/accounts/${encodeURIComponent(name)}${rest}`;

/**
 * The first line of stdin. A password never comes from the command line, where `ps` and the
 * shell history would show it.
 */
async function passwordFromStdin(ctx: CommandContext): Promise<string> {
  if (!ctx.args.passwordStdin) throw new UsageError('give the password on stdin with --password-stdin (never on the command line)');
  let text = '';
  for await (const chunk of ctx.io.stdin) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.includes('\n')) break;
  }
  const password = text.split(/\r?\n/, 1)[0] ?? '';
  if (password === '') throw new UsageError('--password-stdin: stdin held no password (an empty first line)');
  return password;
}

/** OpenSSH public key lines of a .pub or authorized_keys-style file; blank and # lines skipped. */
async function keyLines(io: CliIo, file: string): Promise<string[]> {
  const path = resolve(io.cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--ssh-key: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.length === 0) throw new UsageError(`--ssh-key: ${path} holds no public key`);
  return lines;
}

export async function listAccounts(ctx: CommandContext): Promise<number> {
  const accounts = await ctx.client.get<Account[]>('/api/v1/accounts');
  if (ctx.args.json) {
    println(ctx.io.stdout, JSON.stringify(accounts, null, 2));
    return EXIT.ok;
  }
  if (accounts.length === 0) {
    println(ctx.io.stdout, 'no accounts');
    return EXIT.ok;
  }
  println(ctx.io.stdout, table(['NAME', 'ENABLED', 'CREATED', 'HOME'], accounts.map((a) => [a.name, a.enabled ? 'yes' : 'no', a.createdAt, a.home])));
  return EXIT.ok;
}

/** `accounts add`: all or nothing — if a key is refused, the account just created is removed again. */
export async function addAccount(ctx: CommandContext, name: string): Promise<number> {
  const { client, io, args } = ctx;
  // Read everything local first, so a typo in a path does not leave half an account behind.
  const keys = args.sshKey === undefined ? [] : await keyLines(io, args.sshKey);
  const password = await passwordFromStdin(ctx);
  const body = { name, password, ...(args.home === undefined ? {} : { home: resolve(io.cwd, args.home) }) };
  const account = await client.post<Account>('/api/v1/accounts', body);
  const added: SshKey[] = [];
  try {
    for (const key of keys) added.push(await client.post<SshKey>(accountPath(name, '/ssh-keys'), { key }));
  } catch (err) {
    await client.delete(accountPath(name)).catch(() => undefined);
    println(io.stderr, `account ${name} was not kept: one of its SSH keys was refused`);
    throw err;
  }
  println(io.stdout, `account ${account.name} created, home ${account.home}`);
  for (const key of added) println(io.stdout, `  SSH key ${key.fingerprint}`);
  return EXIT.ok;
}

export async function changePassword(ctx: CommandContext, name: string): Promise<number> {
  const password = await passwordFromStdin(ctx);
  await ctx.client.put(accountPath(name, '/password'), { password });
  println(ctx.io.stdout, `password of ${name} changed`);
  return EXIT.ok;
}

export async function removeAccount(ctx: CommandContext, name: string): Promise<number> {
  await ctx.client.delete(accountPath(name));
  println(ctx.io.stdout, `account ${name} removed (its home folder and history are kept)`);
  return EXIT.ok;
}
