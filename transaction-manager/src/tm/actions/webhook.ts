import { FerryError } from '@ferry/core';
import type { Action } from './context.js';

export interface WebhookConfig {
  url: string;
  headers: Readonly<Record<string, string>>;
  timeout: number;
}

/**
 * Post-processing: POSTs the file's details as JSON. Any 2xx is success; anything else fails the
 * step and it is retried, so a receiver must accept the same event twice (it carries the job id).
 */
export const webhook: Action<WebhookConfig> = async (ctx, file, config) => {
  const opened = await ctx.files.open(file);
  const stat = await opened.storage.stat(opened.path).catch(() => undefined);
  const body = JSON.stringify({
    event: 'file.routed',
    job: ctx.jobId,
    file: { account: file.account, path: file.path, size: stat?.size ?? null, mtime: stat?.mtime.toISOString() ?? null },
  });
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(config.timeout)]);
  let response: Response;
  try {
    response = await fetch(config.url, { method: 'POST', headers: { 'content-type': 'application/json', ...config.headers }, body, signal });
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw new FerryError('FERRY_ERR_REMOTE', `webhook ${redact(config.url)} failed: ${err instanceof Error ? err.message : String(err)}`, { details: { url: redact(config.url) } });
  }
  await response.body?.cancel();
  if (response.status < 200 || response.status > 299) {
    throw new FerryError('FERRY_ERR_REMOTE', `webhook ${redact(config.url)} answered ${response.status}`, { details: { url: redact(config.url), status: response.status } });
  }
  return file;
};

/** A webhook URL may carry a token in its query: messages show the origin and path only. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
