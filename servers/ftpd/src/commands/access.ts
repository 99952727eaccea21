import { refused } from '../error-map.js';
import type { FtpSession } from '../session.js';
import type { FtpCommand } from './command.js';

function tlsFirst(session: FtpSession): void {
  if (session.config.requireTls && !session.control.secure) {
    throw refused('tls-required', 'TLS required: send AUTH TLS first');
  }
}

/** Login, TLS negotiation (RFC 4217) and goodbye. */
export const ACCESS_COMMANDS: readonly FtpCommand[] = [
  {
    verbs: ['USER'],
    syntax: 'USER <name>',
    description: 'Name of the account to log in as',
    beforeLogin: true,
    run(session, arg) {
      if (session.loggedIn) throw refused('sequence', 'Already logged in');
      tlsFirst(session);
      if (arg.trim() === '') throw refused('syntax', 'USER needs an account name');
      session.user = arg.trim();
      session.reply(331, `Password required for ${session.user}`);
    },
  },
  {
    verbs: ['PASS'],
    syntax: 'PASS <password>',
    description: 'Password of the account named by USER',
    beforeLogin: true,
    async run(session, arg) {
      if (session.loggedIn) throw refused('sequence', 'Already logged in');
      const user = session.user;
      if (user === undefined) throw refused('sequence', 'Send USER first');
      tlsFirst(session);
      session.user = undefined;
      const { ctx } = session.services;
      const { account, storage } = await ctx.login.password(user, arg, { protocol: session.protocol, remoteAddress: session.control.remoteAddress });
      session.loginSucceeded(account.name, storage);
      session.reply(230, `User ${account.name} logged in`);
    },
  },
  {
    verbs: ['AUTH'],
    syntax: 'AUTH TLS',
    description: 'Start TLS on the control connection (explicit FTPS, RFC 4217)',
    beforeLogin: true,
    run(session, arg) {
      const tls = session.services.tls;
      if (tls === undefined) throw refused('not-implemented', 'TLS is not configured on this server');
      const mechanism = arg.trim().toUpperCase();
      // TLS-C and SSL are the old names RFC 4217 asks servers to accept as TLS.
      if (mechanism !== 'TLS' && mechanism !== 'TLS-C' && mechanism !== 'SSL') throw refused('parameter-refused', `AUTH ${mechanism} is not supported; use AUTH TLS`);
      if (session.control.secure) throw refused('sequence', 'Already on TLS');
      session.reply(234, `AUTH ${mechanism} successful`);
      session.startTls(tls);
    },
  },
  {
    verbs: ['PBSZ'],
    syntax: 'PBSZ 0',
    description: 'Protection buffer size; always 0 over TLS',
    beforeLogin: true,
    run(session, arg) {
      if (!session.control.secure) throw refused('sequence', 'PBSZ needs a TLS control connection (AUTH TLS)');
      if (!/^\s*\d+\s*$/.test(arg)) throw refused('syntax', 'PBSZ needs a number');
      session.reply(200, 'PBSZ=0');
    },
  },
  {
    verbs: ['PROT'],
    syntax: 'PROT <C|P>',
    description: 'Data channel protection: C (clear) or P (TLS)',
    beforeLogin: true,
    run(session, arg) {
      if (!session.control.secure) throw refused('sequence', 'PROT needs a TLS control connection (AUTH TLS)');
      const level = arg.trim().toUpperCase();
      if (level === 'P' || level === 'C') {
        if (level === 'C' && session.config.requireTls) throw refused('protection-refused', 'PROT C refused: this server requires protected data connections');
        session.protection = level;
        session.reply(200, `Protection set to ${level === 'P' ? 'Private' : 'Clear'}`);
        return;
      }
      if (level === 'S' || level === 'E') throw refused('protection-refused', `PROT ${level} is not supported; use C or P`);
      throw refused('syntax', 'PROT needs C or P');
    },
  },
  {
    verbs: ['QUIT'],
    syntax: 'QUIT',
    description: 'End the session',
    beforeLogin: true,
    run(session) {
      session.quit();
    },
  },
];
