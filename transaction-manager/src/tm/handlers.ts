import { rename as renameFile, rm } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { PARTIAL_SUFFIX, type Logger, type Store, type TransferRegistry } from '@ferry/core';
import picomatch from 'picomatch';
import { actionName, runAction, type ActionContext } from './actions/index.js';
import { asTransfer, pushAction, withClient } from './actions/push.js';
import { run as runCommand } from './actions/run.js';
import { webhook } from './actions/webhook.js';
import type { OutboundClient, SiteConfig } from '../outbound/index.js';
import type { FileAccess, FileRef } from './files.js';
import { parsePayload, type Payload } from './payloads.js';
import type { RoutingTable } from './routing.js';
import { PermanentJobError, type JobHandler, type JobOutcome, type JobRun } from './worker-pool.js';

export interface HandlerDeps {
  store: Store;
  files: FileAccess;
  routes: RoutingTable;
  sites: Readonly<Record<string, SiteConfig>>;
  transfers: TransferRegistry;
  log: Logger;
}

/** What an action of this job gets; names are made from `root` (the routing's first job) and `at`. */
function contextFor(deps: HandlerDeps, run: JobRun, root = run.job.id, at = new Date(run.job.createdAt)): ActionContext {
  const { files, transfers, sites, log } = deps;
  return { jobId: run.job.id, naming: { jobId: root, at }, signal: run.signal, files, transfers, sites, log };
}

/** The job kinds the transaction manager runs, by name. */
export function jobHandlers(deps: HandlerDeps): Record<string, JobHandler> {

  return {
    /** A received file: one first step per matching rule. */
    route: async (run) => {
      const { file, source } = parsePayload('route', run.job.payload);
      const rules = deps.routes.match(file, source);
      const at = new Date(run.job.createdAt).toISOString();
      const next = rules.map((rule) => ({
        kind: 'step',
        payload: { rule: rule.name, index: 0, file, root: run.job.id, at },
        dedupeKey: `step:${run.job.id}:${rule.name}:0`,
      }));
      return { result: { matched: rules.map((rule) => rule.name) }, next };
    },

    /** One action of a rule; the next step is enqueued before this one counts as done. */
    step: async (run) => {
      const step = parsePayload('step', run.job.payload);
      const rule = deps.routes.rule(step.rule);
      const action = rule?.actions[step.index];
      if (!rule || !action) throw new PermanentJobError(`route "${step.rule}" has no action ${step.index} (the config changed since the routing began)`);
      const output = await runAction(contextFor(deps, run, step.root, new Date(step.at)), step.file, action, deps.store);
      const index = step.index + 1;
      const next =
        output !== null && index < rule.actions.length
          ? [{ kind: 'step', payload: { ...step, index, file: output }, dedupeKey: `step:${step.root}:${rule.name}:${index}` }]
          : [];
      return { result: { rule: rule.name, action: actionName(action), output }, next };
    },

    push: async (run) => {
      const { site, file, path } = parsePayload('push', run.job.payload);
      await pushAction(deps.store)(contextFor(deps, run), file, { site, path });
      return { result: { site, file } };
    },

    pull: (run) => pull(deps, run, parsePayload('pull', run.job.payload)),

    run: async (run) => {
      const { file, ...config } = parsePayload('run', run.job.payload);
      await runCommand(contextFor(deps, run), file, config);
      return { result: { command: config.command } };
    },

    webhook: async (run) => {
      const { file, ...config } = parsePayload('webhook', run.job.payload);
      await webhook(contextFor(deps, run), file, config);
      return { result: { url: new URL(config.url).origin } };
    },
  };
}

/**
 * Pulls one remote file, or every file of a remote directory that matches the pattern. Each lands
 * under a partial name and is renamed into place; only then is it removed from the site (when
 * asked) and routed. A re-run after a crash pulls what is still there again, under the same names.
 */
async function pull(deps: HandlerDeps, run: JobRun, job: Payload<'pull'>): Promise<JobOutcome> {
  const ctx = contextFor(deps, run);
  const pulled: string[] = [];
  await withClient(ctx, job.site, deps.store, async (client, site) => {
    let remotes: { path: string; size: number | null }[];
    if (job.remotePath.endsWith('/')) {
      const matches = picomatch(job.pattern, { dot: false });
      const entries = await client.list(job.remotePath);
      remotes = entries
        .filter((entry) => entry.type === 'file' && matches(entry.name))
        .slice(0, job.maxFiles)
        .map((entry) => ({ path: posix.join(job.remotePath, entry.name), size: entry.size }));
    } else {
      remotes = [{ path: job.remotePath, size: null }];
    }
    for (const remote of remotes) {
      const target: FileRef = { account: job.account, path: posix.join(job.path, posix.basename(remote.path)) };
      await pullOne(ctx, site, client, remote, target);
      // Routed before it is removed from the site: a crash in between pulls it again under the
      // same name and the dedupe key keeps its routing single; the other order could lose it.
      if (job.route) {
        await deps.store.jobs.enqueue({
          kind: 'route',
          payload: { file: target, source: `tm:pull:${job.site}` },
          dedupeKey: `route:pull:${run.job.id}:${remote.path}`,
          parentId: run.job.id,
        });
      }
      if (job.delete) await client.remove(remote.path);
      pulled.push(target.path);
    }
  });
  return { result: { site: job.site, pulled } };
}

async function pullOne(
  ctx: ActionContext,
  site: SiteConfig,
  client: OutboundClient,
  remote: { path: string; size: number | null },
  target: FileRef,
): Promise<void> {
  const opened = await ctx.files.open(target);
  await opened.storage.mkdir(posix.dirname(opened.path), { recursive: true });
  const final = await ctx.files.hostPath(opened);
  const partial = join(dirname(final), `.${posix.basename(final)}${PARTIAL_SUFFIX}`);
  try {
    await asTransfer(ctx, { site, account: target.account, path: target.path, direction: 'download', size: remote.size }, (onProgress, signal) =>
      client.pull(remote.path, partial, { signal, onProgress }),
    );
    await renameFile(partial, final);
  } catch (err) {
    // A cut pull leaves nothing behind: the next attempt starts over.
    await rm(partial, { force: true });
    throw err;
  }
}
