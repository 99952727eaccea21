import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { parseCertificate, parsePrivateKey, sendMessage, type Certificate, type Identity, type SendOptions } from '@ferry/as2d';
import type { As2Store } from '@ferry/core';
import { abortable, SiteContext } from './remote-error.js';
import type { SiteConfig } from './site-config.js';
import type { MoveOptions, OutboundClient, RemoteEntry } from './types.js';

/**
 * AS2 sites, through @ferry/as2d's sender: a push sends one message (the file as payload, its name
 * in Content-Disposition) with the Message-ID the caller gives, so a re-run of the same job re-sends
 * the same message and the partner delivers it once. A synchronous MDN is verified (signature, MIC)
 * and a negative one fails the push. AS2 has no pull, listing or removal.
 */

export interface As2ConnectOptions {
  signal: AbortSignal;
  /** Where the sender records outgoing messages (as2d judges asynchronous MDNs against it). */
  as2Store?: As2Store;
}

export async function connectAs2(site: SiteConfig, name: string, opts: As2ConnectOptions): Promise<OutboundClient> {
  const ctx = new SiteContext(site, name);
  if (opts.signal.aborted) throw ctx.aborted('connect');
  const load = async <T>(key: string, file: string | undefined, parse: (data: Buffer) => T): Promise<T | undefined> => {
    if (file === undefined) return undefined;
    try {
      return parse(await readFile(file));
    } catch (err) {
      throw ctx.error('FERRY_ERR_CONFIG_INVALID', 'load the AS2 certificates', `cannot read ${key} ${file}: ${ctx.reasonOf(err)}`, { details: { key } });
    }
  };
  const certificate = await load('certificate', site.certificate, parseCertificate);
  const privateKey = await load('privateKey', site.privateKey, (data) => parsePrivateKey(data, site.passphrase));
  const partnerCertificate = await load('partnerCertificate', site.partnerCertificate, parseCertificate);
  const identity: Identity | undefined = certificate && privateKey ? { certificate, privateKey } : undefined;
  return new As2Client(ctx, identity, partnerCertificate, opts.as2Store);
}

class As2Client implements OutboundClient {
  readonly #ctx: SiteContext;
  readonly #identity: Identity | undefined;
  readonly #partnerCertificate: Certificate | undefined;
  readonly #store: As2Store | undefined;
  #tlsCa: Buffer | undefined | null = null;

  constructor(ctx: SiteContext, identity: Identity | undefined, partnerCertificate: Certificate | undefined, store: As2Store | undefined) {
    this.#ctx = ctx;
    this.#identity = identity;
    this.#partnerCertificate = partnerCertificate;
    this.#store = store;
  }

  async #ca(): Promise<Buffer | undefined> {
    if (this.#tlsCa !== null) return this.#tlsCa;
    const file = this.#ctx.site.tls.ca;
    this.#tlsCa = file === undefined ? undefined : await readFile(file);
    return this.#tlsCa;
  }

  push(localFile: string, remotePath: string, opts: MoveOptions): Promise<{ bytes: number }> {
    const site = this.#ctx.site;
    const filename = posix.basename(this.#ctx.resolve(remotePath));
    const what = `send ${localFile} as ${filename}${opts.messageId ? ` (Message-ID ${opts.messageId})` : ''} to AS2 partner ${site.partner ?? '?'}`;
    const controller = new AbortController();
    return abortable(this.#ctx, what, opts.signal, () => controller.abort(), async () => {
      const ca = await this.#ca();
      const options: SendOptions = {
        from: { as2Id: site.as2From ?? '', identity: this.#identity },
        to: { as2Id: site.partner ?? '', url: site.url ?? '', certificate: this.#partnerCertificate },
        payload: { file: localFile },
        filename,
        ...(opts.messageId !== undefined ? { messageId: opts.messageId } : {}),
        ...(site.contentType !== undefined ? { contentType: site.contentType } : {}),
        ...(site.subject !== undefined ? { subject: site.subject } : {}),
        sign: site.sign ?? false,
        encrypt: site.encrypt ?? false,
        ...(site.keyTransport !== undefined ? { keyTransport: site.keyTransport } : {}),
        compress: site.compress ?? false,
        mdn: {
          mode: site.mdn ?? 'sync',
          signed: site.mdnSigned ?? false,
          ...(site.asyncMdnUrl !== undefined ? { asyncUrl: site.asyncMdnUrl } : {}),
        },
        ...(this.#store ? { store: this.#store } : {}),
        timeoutMs: site.timeout,
        signal: controller.signal,
        tls: { rejectUnauthorized: site.tls.rejectUnauthorized, ...(ca !== undefined ? { ca } : {}) },
      };
      const result = await sendMessage(options);
      if (result.status === 'processed' || result.status === 'sent' || result.status === 'awaiting-mdn') {
        opts.onProgress(result.bytes);
        return { bytes: result.bytes };
      }
      const details = {
        messageId: result.messageId,
        httpStatus: result.httpStatus,
        ...(result.mdn ? { disposition: result.mdn.report.disposition } : {}),
        // A negative MDN or a 4xx answer will not change on a resend; the rest may.
        permanent: !result.retryable,
        ...(result.retryAfterSeconds !== undefined ? { retryAfterSeconds: result.retryAfterSeconds } : {}),
      };
      const code = result.httpStatus === 401 ? 'FERRY_ERR_AUTH_FAILED' : result.httpStatus === 403 ? 'FERRY_ERR_PERMISSION_DENIED' : 'FERRY_ERR_REMOTE';
      const reason = result.mdn ? `negative MDN: ${result.detail}` : result.detail;
      throw this.#ctx.error(code, what, reason, { details });
    });
  }

  #unsupported(operation: string): Promise<never> {
    return Promise.reject(
      this.#ctx.error('FERRY_ERR_BAD_REQUEST', operation, 'not supported over AS2: a partner only receives messages; an AS2 site can be pushed to, not pulled from, listed or removed from'),
    );
  }

  pull(remotePath: string): Promise<{ bytes: number }> {
    return this.#unsupported(`pull ${remotePath}`);
  }

  list(remoteDir: string): Promise<RemoteEntry[]> {
    return this.#unsupported(`list ${remoteDir}`);
  }

  remove(remotePath: string): Promise<void> {
    return this.#unsupported(`remove ${remotePath}`);
  }

  async close(): Promise<void> {
    // Every message is its own HTTP exchange: nothing stays open.
  }
}
