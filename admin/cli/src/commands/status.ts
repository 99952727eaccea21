import { EXIT, println } from '../io.js';
import { table } from '../table.js';
import type { ComponentView, NodeView } from '../wire.js';
import type { CommandContext } from './context.js';

/** `status [--json]`: the node and one line per component. */
export async function status(ctx: CommandContext): Promise<number> {
  const { client, io, args } = ctx;
  const [node, components] = await Promise.all([client.get<NodeView>('/api/v1/node'), client.get<ComponentView[]>('/api/v1/components')]);
  if (args.json) {
    println(io.stdout, JSON.stringify({ node, components }, null, 2));
    return EXIT.ok;
  }
  println(io.stdout, `node ${node.state}, pid ${node.pid}, up since ${node.startedAt}, version ${node.version}, admin API ${client.location.adminUrl}`);
  println(io.stdout);
  const rows = components.map((c) => [c.id, c.state, c.pid === null ? '-' : String(c.pid), String(c.transfers.length), String(c.jobs?.length ?? 0), String(c.restarts), remark(c)]);
  println(io.stdout, table(['ID', 'STATE', 'PID', 'TRANSFERS', 'JOBS', 'RESTARTS', ''], rows));
  return EXIT.ok;
}

/** The one thing worth knowing beyond the state, if any. */
function remark(c: ComponentView): string {
  if (c.drainDeadline) return `deadline ${c.drainDeadline}${c.afterDrain === 'hold' ? ' (suspend)' : ''}`;
  if (c.restartAt) return `restart at ${c.restartAt}`;
  if (!c.enabled) return 'disabled';
  return c.note ?? '';
}
