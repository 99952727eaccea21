import { formatBytes, formatSeconds, isFerryError, type LifecycleState } from '@ferry/core';
import type { AdminClient } from './client.js';
import { EXIT, println, type CliIo } from './io.js';
import type { ComponentView, RunningJobSnapshot, TransferSnapshot } from './wire.js';

/** The end of a wait: reached where it was going (ok), or will not get there. */
export interface Verdict {
  ok: boolean;
  message: string;
}

/** Decides from each view whether the wait is over; `seen` holds every state observed so far. */
export type Judge = (view: ComponentView, seen: ReadonlySet<LifecycleState>) => Verdict | undefined;

export function transferLine(t: TransferSnapshot): string {
  const done = formatBytes(t.offset + t.bytes);
  const size = t.size === null ? '?' : formatBytes(t.size);
  return `  ${t.direction} ${t.path}  ${t.account ?? '-'}  ${done}/${size}  ${formatBytes(t.rate)}/s  eta ${formatSeconds(t.etaSeconds)}`;
}

function headline(view: ComponentView, countdown: boolean): string {
  const what = view.afterDrain === 'stop' ? ' (graceful stop)' : view.afterDrain === 'hold' ? ' (suspend)' : '';
  let line = `${view.id}: ${view.state}${what}`;
  if (view.drainDeadline) {
    const left = Math.max(0, Math.round((Date.parse(view.drainDeadline) - Date.now()) / 1000));
    line += `, deadline ${view.drainDeadline}${countdown ? ` (in ${formatSeconds(left)})` : ''}`;
  }
  const n = view.transfers.length;
  line += `, ${n} active transfer${n === 1 ? '' : 's'}`;
  const jobs = view.jobs?.length ?? 0;
  return jobs > 0 ? `${line}, ${jobs} running job${jobs === 1 ? '' : 's'}` : line;
}

function jobLine(job: RunningJobSnapshot): string {
  return `  job ${job.jobId} ${job.kind}  ${job.label}  since ${job.startedAt}`;
}

/** The view as printed; the countdown is left out of the comparison, or it would print every second. */
function render(view: ComponentView): { text: string; key: string } {
  const lines = [...view.transfers.map(transferLine), ...(view.jobs ?? []).map(jobLine)];
  return { text: [headline(view, true), ...lines].join('\n'), key: [headline(view, false), ...lines].join('\n') };
}

/** What the node knows of why a component ended up where it is: its note and its last exit. */
export function reasonOf(view: ComponentView): string {
  const parts: string[] = [];
  if (view.note) parts.push(view.note);
  if (view.lastExit) {
    const { code, signal, at } = view.lastExit;
    parts.push(signal ? `killed by ${signal} at ${at}` : `exited with code ${code ?? '?'} at ${at}`);
  }
  return parts.length > 0 ? parts.join('; ') : 'no reason given by the node';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls one component until `judge` ends the wait, printing the view whenever it changes: the
 * state, the drain deadline and one line per active transfer (path, account, bytes/size, rate, ETA).
 */
export async function follow(client: AdminClient, io: CliIo, first: ComponentView, judge: Judge, intervalMs: number): Promise<number> {
  const seen = new Set<LifecycleState>();
  let view = first;
  let printed = '';
  for (;;) {
    seen.add(view.state);
    const { text, key } = render(view);
    if (key !== printed) {
      println(io.stdout, text);
      printed = key;
    }
    const verdict = judge(view, seen);
    if (verdict) {
      println(verdict.ok ? io.stdout : io.stderr, verdict.message);
      return verdict.ok ? EXIT.ok : EXIT.failed;
    }
    await sleep(intervalMs);
    try {
      view = await client.get<ComponentView>(`/api/v1/components/${encodeURIComponent(view.id)}`);
    } catch (err) {
      if (!isFerryError(err, 'FERRY_ERR_NODE_UNREACHABLE')) throw err;
      println(io.stderr, `lost the node while waiting for ${view.id} (last seen ${view.state}: ${reasonOf(view)})`);
      throw err;
    }
  }
}
