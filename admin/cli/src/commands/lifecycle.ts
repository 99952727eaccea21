import type { LifecycleState } from '@ferry/core';
import { formatSeconds } from '@ferry/core';
import { EXIT, println } from '../io.js';
import { follow, reasonOf, type Judge } from '../progress.js';
import type { ComponentView } from '../wire.js';
import { componentPath, type CommandContext } from './context.js';

/** States that show a drain or a stop got under way; seeing `running` after one means it was cancelled. */
const UNDER_WAY: readonly LifecycleState[] = ['draining', 'drained', 'stopping'];
const wasUnderWay = (seen: ReadonlySet<LifecycleState>) => UNDER_WAY.some((state) => seen.has(state));

const WATCH_HINT = '(Ctrl-C stops watching; the node carries on)';

/**
 * `stop <id> [-g] [-timeout N]`: exits 0 once the component is stopped. A stop that ends in
 * `failed`, or with an exit the node did not ask for (killed at the kill timeout), is a failure.
 */
export async function stop(ctx: CommandContext, id: string): Promise<number> {
  const { client, args, io } = ctx;
  const before = await client.get<ComponentView>(componentPath(id));
  if (before.state === 'stopped') {
    println(io.stdout, `${id} is already stopped`);
    return EXIT.ok;
  }
  const body = args.graceful ? { graceful: true, ...(args.timeout === undefined ? {} : { timeout: args.timeout }) } : { graceful: false };
  const first = await client.post<ComponentView>(componentPath(id, 'stop'), body);
  const how = args.graceful ? `graceful stop, timeout ${args.timeout === undefined ? 'the configured gracefulShutdownTimeout' : formatSeconds(args.timeout)}` : 'immediate stop';
  println(io.stdout, `${id}: ${how} requested ${WATCH_HINT}`);

  const judge: Judge = (view, seen) => {
    if (view.state === 'stopped') {
      // A new lastExit during our stop means the process did not end the way it was asked to.
      if (view.lastExit && view.lastExit.at !== before.lastExit?.at) return { ok: false, message: `${id} stopped, but not cleanly: ${reasonOf(view)}` };
      return { ok: true, message: `${id} stopped${view.note ? ` (${view.note})` : ''}` };
    }
    // Stopping a component that had already failed goes failed → stopped: only a new failure counts.
    if (view.state === 'failed' && (before.state !== 'failed' || view.lastExit?.at !== before.lastExit?.at)) {
      return { ok: false, message: `${id} failed while stopping: ${reasonOf(view)}` };
    }
    if ((view.state === 'running' || view.state === 'starting') && wasUnderWay(seen)) {
      return { ok: false, message: `the stop of ${id} was cancelled: it is ${view.state} again (resumed or started by someone else)` };
    }
    return undefined;
  };
  return follow(client, io, first, judge, ctx.pollIntervalMs);
}

/** `suspend <id> [-timeout N]`: drains and exits 0 once the component is drained (and holds). */
export async function suspend(ctx: CommandContext, id: string): Promise<number> {
  const { client, args, io } = ctx;
  const before = await client.get<ComponentView>(componentPath(id));
  if (before.state === 'drained' && before.afterDrain === 'hold') {
    println(io.stdout, `${id} is already suspended`);
    return EXIT.ok;
  }
  const first = await client.post<ComponentView>(componentPath(id, 'suspend'), args.timeout === undefined ? {} : { timeout: args.timeout });
  println(io.stdout, `${id}: suspend requested ${WATCH_HINT}`);
  return follow(
    client,
    io,
    first,
    (view, seen) => {
      if (view.state === 'drained') return { ok: true, message: `${id} is suspended: new work is refused until "resume ${id}"` };
      if (view.state === 'stopping' || view.state === 'stopped') return { ok: false, message: `${id} is being stopped instead of suspended${view.note ? `: ${view.note}` : ''}` };
      if (view.state === 'failed') return { ok: false, message: `${id} failed while draining: ${reasonOf(view)}` };
      if (view.state === 'running' && wasUnderWay(seen)) return { ok: false, message: `the suspend of ${id} was cancelled: it is running again` };
      return undefined;
    },
    ctx.pollIntervalMs,
  );
}

/** `start <id>`: exits 0 once the component runs. */
export async function start(ctx: CommandContext, id: string): Promise<number> {
  const { client, io } = ctx;
  const before = await client.get<ComponentView>(componentPath(id));
  if (before.state === 'running') {
    println(io.stdout, `${id} is already running (pid ${before.pid ?? '?'})`);
    return EXIT.ok;
  }
  const first = await client.post<ComponentView>(componentPath(id, 'start'));
  return follow(
    client,
    io,
    first,
    (view, seen) => {
      if (view.state === 'running') return { ok: true, message: `${id} is running (pid ${view.pid ?? '?'})` };
      if (view.state === 'failed' && (seen.has('starting') || view.lastExit?.at !== before.lastExit?.at)) {
        return { ok: false, message: `${id} failed to start: ${reasonOf(view)}` };
      }
      if (view.state === 'stopped' && seen.has('starting')) return { ok: false, message: `${id} stopped again: ${reasonOf(view)}` };
      return undefined;
    },
    ctx.pollIntervalMs,
  );
}

/** `resume <id>`: ends a suspension or cancels a graceful stop; exits 0 once it runs. */
export async function resume(ctx: CommandContext, id: string): Promise<number> {
  const { client, io } = ctx;
  const before = await client.get<ComponentView>(componentPath(id));
  if (before.state === 'running') {
    println(io.stdout, `${id} is running: nothing to resume`);
    return EXIT.ok;
  }
  const first = await client.post<ComponentView>(componentPath(id, 'resume'));
  return follow(
    client,
    io,
    first,
    (view) => {
      if (view.state === 'running') return { ok: true, message: `${id} resumed: it accepts new work again` };
      if (view.state === 'failed' || view.state === 'stopping' || view.state === 'stopped') {
        return { ok: false, message: `${id} did not resume, it is ${view.state}: ${reasonOf(view)}` };
      }
      return undefined;
    },
    ctx.pollIntervalMs,
  );
}
