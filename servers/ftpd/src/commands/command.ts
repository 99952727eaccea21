import type { FtpSession } from '../session.js';

/**
 * One FTP command: its verbs, syntax and description (HELP shows them) beside its handler. A
 * handler answers with `session.reply()` or throws a FerryError, which error-map.ts turns into the
 * reply.
 */
export interface FtpCommand {
  /** The RFC verb first, then aliases (XPWD for PWD...). */
  readonly verbs: readonly string[];
  readonly syntax: string;
  readonly description: string;
  /** May run before login (USER, PASS, AUTH, FEAT...). */
  readonly beforeLogin?: boolean;
  /** Without `run`: answered by ftp-srv itself (see ControlConnection.library). */
  run?(session: FtpSession, arg: string): Promise<void> | void;
}
