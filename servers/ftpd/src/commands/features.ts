import { refused } from '../error-map.js';
import { mlstFeature, selectFacts } from '../listing.js';
import type { FtpSession } from '../session.js';
import type { FtpCommand } from './command.js';

/** What FEAT announces (RFC 2389), in the order lftp and FileZilla read it. */
function features(session: FtpSession): string[] {
  const tls = session.services.tls !== undefined;
  return [
    ...(tls ? ['AUTH TLS', 'PBSZ', 'PROT'] : []),
    ...(session.config.activeMode ? ['EPRT'] : []),
    'EPSV',
    'MDTM',
    mlstFeature(session.facts),
    'PASV',
    'REST STREAM',
    'SIZE',
    'TVFS',
    'UTF8',
  ];
}

/** Feature negotiation and session parameters; the trivial ones are answered by ftp-srv. */
export const FEATURE_COMMANDS: readonly FtpCommand[] = [
  {
    verbs: ['FEAT'],
    syntax: 'FEAT',
    description: 'List the extensions this server supports',
    beforeLogin: true,
    run(session) {
      session.replyLines(211, 'Features:', features(session), 'End');
    },
  },
  {
    verbs: ['OPTS'],
    syntax: 'OPTS UTF8 ON | OPTS MLST <facts>',
    description: 'Options of a feature: UTF8 (always on), MLST facts',
    beforeLogin: true,
    run(session, arg) {
      const space = arg.indexOf(' ');
      const option = (space === -1 ? arg : arg.slice(0, space)).trim().toUpperCase();
      const value = space === -1 ? '' : arg.slice(space + 1).trim();
      if (option === 'UTF8' || option === 'UTF-8') {
        // RFC 2640: paths are UTF-8 here whatever the client asks; OFF is accepted, changes nothing.
        session.reply(200, 'Always in UTF8 mode');
        return;
      }
      if (option === 'MLST') {
        session.facts = selectFacts(value);
        session.reply(200, `MLST OPTS ${session.facts.map((fact) => `${fact};`).join('')}`);
        return;
      }
      throw refused('syntax', `Unknown option ${option}`);
    },
  },
  {
    verbs: ['SITE'],
    syntax: 'SITE <command>',
    description: 'Site commands: none are offered (permissions are the account’s, not the client’s)',
    run() {
      throw refused('not-implemented', 'SITE commands are not supported');
    },
  },
  { verbs: ['TYPE'], syntax: 'TYPE <A|I|L 8>', description: 'Representation type; data is always sent as is (binary)' },
  { verbs: ['MODE'], syntax: 'MODE S', description: 'Transfer mode: stream only' },
  { verbs: ['STRU'], syntax: 'STRU F', description: 'File structure: file only' },
  { verbs: ['SYST'], syntax: 'SYST', description: 'System type', beforeLogin: true },
  { verbs: ['NOOP'], syntax: 'NOOP', description: 'Do nothing (keeps the connection alive)', beforeLogin: true },
  { verbs: ['ALLO'], syntax: 'ALLO <size>', description: 'Allocate space; not needed here' },
];
