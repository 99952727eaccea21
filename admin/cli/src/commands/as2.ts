import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../args.js';
import { EXIT, println } from '../io.js';
import { table } from '../table.js';
import type { As2Partner } from '../wire.js';
import type { CommandContext } from './context.js';

/**
 * `ferry as2 partners …`: AS2 trading partners in the store, through the admin API. as2d picks a
 * change up at the next message. Partners in ferry.yaml are not shown (the node's API does not read
 * as2d's config); one added here with the same id takes precedence over the ferry.yaml entry.
 */

const partnerPath = (id: string): string => `/api/v1/as2/partners/${encodeURIComponent(id)}`;

/** `--set KEY=VALUE` keys: the partner settings besides certificate, URL and inbox, as the API names them. */
const SETTINGS: Readonly<Record<string, 'boolean' | 'list' | 'text'>> = {
  requireSignature: 'boolean',
  requireEncryption: 'boolean',
  'accept.encryption': 'list',
  'accept.signature': 'list',
  'send.encryption': 'text',
  'send.keyTransport': 'text',
  'send.signature': 'text',
  'send.compression': 'text',
  'send.mdn': 'text',
  'send.signedMdn': 'boolean',
};

/** The `--set` settings as the PUT body wants them; the node checks the values and names what it refuses. */
export function partnerSettings(settings: readonly string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const setting of settings) {
    const eq = setting.indexOf('=');
    const key = eq > 0 ? setting.slice(0, eq) : setting;
    const text = eq > 0 ? setting.slice(eq + 1) : '';
    const kind = SETTINGS[key];
    if (kind === undefined) throw new UsageError(`--set ${setting}: unknown setting "${key}"; known: ${Object.keys(SETTINGS).join(', ')}`);
    if (eq <= 0 || text === '') throw new UsageError(`--set ${key} needs a value: --set ${key}=VALUE`);
    let value: unknown = text;
    if (kind === 'boolean') {
      if (text !== 'true' && text !== 'false') throw new UsageError(`--set ${key}: true or false, got "${text}"`);
      value = text === 'true';
    } else if (kind === 'list') {
      value = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    }
    const [group, field] = key.split('.') as [string, string | undefined];
    if (field === undefined) body[group] = value;
    else body[group] = { ...(body[group] as Record<string, unknown> | undefined), [field]: value };
  }
  return body;
}

export async function listPartners(ctx: CommandContext): Promise<number> {
  const partners = await ctx.client.get<As2Partner[]>('/api/v1/as2/partners');
  if (ctx.args.json) {
    println(ctx.io.stdout, JSON.stringify(partners, null, 2));
    return EXIT.ok;
  }
  if (partners.length === 0) {
    println(ctx.io.stdout, 'no AS2 partners in the store (those in ferry.yaml are not listed here)');
    return EXIT.ok;
  }
  const rows = partners.map((p) => [p.id, p.certificateInfo.notAfter, p.url ?? '-', p.inbox]);
  println(ctx.io.stdout, table(['ID', 'CERTIFICATE UNTIL', 'URL', 'INBOX'], rows));
  return EXIT.ok;
}

export async function showPartner(ctx: CommandContext, id: string): Promise<number> {
  const p = await ctx.client.get<As2Partner>(partnerPath(id));
  if (ctx.args.json) {
    println(ctx.io.stdout, JSON.stringify(p, null, 2));
    return EXIT.ok;
  }
  const lines: [string, string][] = [
    ['id', p.id],
    ['certificate', `${p.certificateInfo.subject} (issuer ${p.certificateInfo.issuer})`],
    ['  valid', `${p.certificateInfo.notBefore} to ${p.certificateInfo.notAfter}`],
    ['  sha-256', p.certificateInfo.fingerprint],
    ['url', p.url ?? '-'],
    ['inbox', p.inbox],
    ['requires', [p.requireSignature ? 'signature' : '', p.requireEncryption ? 'encryption' : ''].filter(Boolean).join(', ') || 'nothing'],
    ['accepts', `${p.accept.encryption.join(' ')}; ${p.accept.signature.join(' ')}`],
    ['sends', `${p.send.encryption}/${p.send.keyTransport}, signed ${p.send.signature}, compression ${p.send.compression}, MDN ${p.send.mdn}${p.send.signedMdn ? ' (signed)' : ''}`],
    ['updated', p.updatedAt],
  ];
  for (const [name, value] of lines) println(ctx.io.stdout, `${name.padEnd(12)}${value}`);
  return EXIT.ok;
}

/** `add` creates the partner, or replaces all its settings (those not given go back to their defaults). */
export async function addPartner(ctx: CommandContext, id: string): Promise<number> {
  const { args, io } = ctx;
  if (args.cert === undefined || args.inbox === undefined) throw new UsageError('as2 partners add needs --cert FILE and --inbox DIR');
  const certFile = resolve(io.cwd, args.cert);
  let certificate: string;
  try {
    certificate = await readFile(certFile, 'utf8');
  } catch (err) {
    throw new UsageError(`--cert: cannot read ${certFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const body = {
    certificate,
    // As for accounts' --home: a relative inbox is taken from where the command runs.
    inbox: resolve(io.cwd, args.inbox),
    ...(args.url === undefined ? {} : { url: args.url }),
    ...partnerSettings(args.set),
  };
  const partner = await ctx.client.put<As2Partner>(partnerPath(id), body);
  // A new partner is stamped once: created and updated at the same instant.
  const what = partner.createdAt === partner.updatedAt ? 'added' : 'replaced';
  println(io.stdout, `AS2 partner ${partner.id} ${what}: certificate ${partner.certificateInfo.subject}, inbox ${partner.inbox}`);
  return EXIT.ok;
}

export async function removePartner(ctx: CommandContext, id: string): Promise<number> {
  await ctx.client.delete(partnerPath(id));
  println(ctx.io.stdout, `AS2 partner ${id} removed (its inbox and history are kept)`);
  return EXIT.ok;
}
