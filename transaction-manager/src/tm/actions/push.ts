import { posix } from 'node:path';
import { FerryError, type Store, type TransferDirection } from '@ferry/core';
import { connect, type OutboundClient, type SiteConfig } from '../../outbound/index.js';
import { applyPattern } from '../naming.js';
import type { Action, ActionContext } from './context.js';

/**
 * Server-initiated transfers. Each runs in the transfer registry like an inbound transfer (so it
 * shows in `ferry transfers`, holds a drain, is cut at the deadline and lands in history).
 */

export interface PushConfig {
  site: string;
  /** Remote name pattern, relative to the site's base directory. */
  path: string;
}

export function siteOf(ctx: ActionContext, name: string): SiteConfig {
  const site = ctx.sites[name];
  if (!site) {
    throw new FerryError('FERRY_ERR_CONFIG_INVALID', `no site "${name}" in tm.sites`, { details: { key: `tm.sites.${name}`, allowed: Object.keys(ctx.sites) } });
  }
  return site;
}

export function remoteAddress(site: SiteConfig): string {
  return site.url ?? `${site.host ?? '?'}:${site.port ?? ''}`;
}

/** Runs `move` as a registered transfer of `direction`, ending it with the right outcome. */
export async function asTransfer<T>(
  ctx: ActionContext,
  init: { site: SiteConfig; account: string | null; path: string; direction: TransferDirection; size: number | null },
  move: (onProgress: (bytes: number) => void, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const transfer = ctx.transfers.begin({
    protocol: init.site.protocol,
    account: init.account,
    remoteAddress: remoteAddress(init.site),
    path: init.path,
    direction: init.direction,
    size: init.size,
  });
  // Cut by the job (drain deadline) or by the registry itself (immediate stop): either ends it.
  const signal = AbortSignal.any([ctx.signal, transfer.signal]);
  let last = 0;
  try {
    const result = await move((bytes) => {
      transfer.progress(bytes - last);
      last = bytes;
    }, signal);
    transfer.end('completed');
    return result;
  } catch (err) {
    transfer.end(signal.aborted ? 'interrupted' : 'failed', err instanceof Error ? err.message : String(err));
    throw signal.aborted && ctx.signal.aborted ? ctx.signal.reason : err;
  }
}

export async function withClient<T>(ctx: ActionContext, siteName: string, store: Store | undefined, use: (client: OutboundClient, site: SiteConfig) => Promise<T>): Promise<T> {
  const site = siteOf(ctx, siteName);
  const client = await connect(site, siteName, { signal: ctx.signal, ...(store ? { as2Store: store.as2 } : {}) });
  try {
    return await use(client, site);
  } finally {
    await client.close();
  }
}

export function pushAction(store: Store): Action<PushConfig> {
  return async (ctx, file, config) => {
    const opened = await ctx.files.open(file);
    const stat = await opened.storage.stat(opened.path);
    const local = await ctx.files.hostPath(opened);
    const remote = applyPattern(config.path, { ...ctx.naming, path: posix.join('/', posix.basename(file.path)), account: file.account });
    await withClient(ctx, config.site, store, (client, site) =>
      asTransfer(ctx, { site, account: file.account, path: file.path, direction: 'upload', size: stat.size }, (onProgress, signal) =>
        // The same Message-ID on every attempt of this job: an AS2 partner keeps the message once.
        client.push(local, remote, { signal, onProgress, messageId: `<ferry-job-${ctx.jobId}-${posix.basename(file.path)}@ferry>` }),
      ),
    );
    return file;
  };
}

