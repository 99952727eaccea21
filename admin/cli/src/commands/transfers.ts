import { formatBytes, formatSeconds } from '@ferry/core';
import { EXIT, println } from '../io.js';
import { table } from '../table.js';
import type { TransferRecord, TransferSnapshot } from '../wire.js';
import type { CommandContext } from './context.js';

/** `transfers [--json]`: what is moving on the node now. */
export async function transfers(ctx: CommandContext): Promise<number> {
  const { client, io, args } = ctx;
  const active = await client.get<TransferSnapshot[]>('/api/v1/transfers');
  if (args.json) {
    println(io.stdout, JSON.stringify(active, null, 2));
    return EXIT.ok;
  }
  if (active.length === 0) {
    println(io.stdout, 'no active transfers');
    return EXIT.ok;
  }
  const rows = active.map((t) => [
    t.component,
    t.account ?? '-',
    t.remoteAddress ?? '-',
    t.direction,
    t.path,
    `${formatBytes(t.offset + t.bytes)}/${t.size === null ? '?' : formatBytes(t.size)}`,
    `${formatBytes(t.rate)}/s`,
    formatSeconds(t.etaSeconds),
  ]);
  println(io.stdout, table(['COMPONENT', 'ACCOUNT', 'REMOTE', 'DIRECTION', 'PATH', 'PROGRESS', 'RATE', 'ETA'], rows));
  return EXIT.ok;
}

/** `history [--json]`: the last finished transfers, newest first. */
export async function history(ctx: CommandContext): Promise<number> {
  const { client, io, args } = ctx;
  const records = await client.get<TransferRecord[]>('/api/v1/history');
  if (args.json) {
    println(io.stdout, JSON.stringify(records, null, 2));
    return EXIT.ok;
  }
  if (records.length === 0) {
    println(io.stdout, 'no transfers in the history');
    return EXIT.ok;
  }
  const rows = records.map((r) => [r.endedAt, r.component, r.account ?? '-', r.direction, r.path, formatBytes(r.bytes), r.outcome, r.reason ?? '']);
  println(io.stdout, table(['ENDED', 'COMPONENT', 'ACCOUNT', 'DIRECTION', 'PATH', 'BYTES', 'OUTCOME', 'REASON'], rows));
  return EXIT.ok;
}
