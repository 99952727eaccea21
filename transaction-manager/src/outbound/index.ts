import type { As2Store } from '@ferry/core';
import { connectAs2 } from './as2.js';
import { connectFtp } from './ftp.js';
import { connectHttp } from './http.js';
import { connectSftp } from './sftp.js';
import type { SiteConfig } from './site-config.js';
import type { OutboundClient } from './types.js';

/** The outbound clients of the transaction manager: server-initiated transfers to partner sites. */
export { siteSchema, SITE_PROTOCOLS, DEFAULT_PORTS, type SiteConfig, type SiteProtocol } from './site-config.js';
export type { MoveOptions, OutboundClient, RemoteEntry } from './types.js';
export { hostKeyFingerprint } from './sftp.js';

export interface ConnectOptions {
  /** Aborting cuts the connection attempt. */
  signal: AbortSignal;
  /** AS2 only: where outgoing messages are recorded, so our as2d can judge their asynchronous MDNs. */
  as2Store?: As2Store;
}

/** Connects (and logs in) to a site; `name` is its key under `tm.sites`, used in every message. */
export function connect(site: SiteConfig, name: string, opts: ConnectOptions): Promise<OutboundClient> {
  switch (site.protocol) {
    case 'sftp':
      return connectSftp(site, name, opts);
    case 'ftp':
    case 'ftps':
    case 'ftps-implicit':
      return connectFtp(site, name, opts);
    case 'http':
    case 'https':
      return connectHttp(site, name, opts);
    case 'as2':
      return connectAs2(site, name, opts);
  }
}
