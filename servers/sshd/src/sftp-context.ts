import type { ComponentContext, Storage } from '@ferry/core';
import type { SshdConfig } from './config.js';

/** What one SFTP session works with: the core, the account's storage, and who is asking. */
export interface SftpContext {
  readonly ctx: ComponentContext<SshdConfig>;
  readonly storage: Storage;
  readonly account: string;
  /** The core session (one per SSH connection) that carries this SFTP session's transfers. */
  readonly sessionId: string;
  readonly remoteAddress: string | null;
}

/** Transfers are recorded under this protocol name (OpenSSH `scp` speaks SFTP too). */
export const PROTOCOL = 'sftp';
