import { refused } from '../error-map.js';
import { ACCESS_COMMANDS } from './access.js';
import type { FtpCommand } from './command.js';
import { DATA_CONNECTION_COMMANDS } from './data-connection.js';
import { FEATURE_COMMANDS } from './features.js';
import { FILE_COMMANDS } from './files.js';
import { LISTING_COMMANDS } from './listing.js';
import { TRANSFER_COMMANDS } from './transfer.js';

export type { FtpCommand } from './command.js';

const HELP: FtpCommand = {
  verbs: ['HELP'],
  syntax: 'HELP [<command>]',
  description: 'The commands this server knows, or the syntax of one',
  beforeLogin: true,
  run(session, arg) {
    const asked = arg.trim().toUpperCase();
    if (asked === '') {
      const verbs = LIST.map((command) => command.verbs[0] as string);
      const rows: string[] = [];
      for (let i = 0; i < verbs.length; i += 8) rows.push(verbs.slice(i, i + 8).join(' '));
      session.replyLines(214, 'The following commands are recognized:', rows, 'Help OK');
      return;
    }
    const command = Object.hasOwn(COMMANDS, asked) ? COMMANDS[asked] : undefined;
    if (command === undefined) throw refused('syntax', `Unknown command ${asked.slice(0, 32)}`);
    session.reply(214, `Syntax: ${command.syntax} — ${command.description}`);
  },
};

/** Every command this server answers, one entry per command (aliases share it). */
const LIST: readonly FtpCommand[] = [
  ...ACCESS_COMMANDS,
  ...FILE_COMMANDS,
  ...LISTING_COMMANDS,
  ...TRANSFER_COMMANDS,
  ...DATA_CONNECTION_COMMANDS,
  ...FEATURE_COMMANDS,
  HELP,
];

/** Verb (upper case) → command. */
export const COMMANDS: Readonly<Record<string, FtpCommand>> = Object.freeze(
  Object.fromEntries(LIST.flatMap((command) => command.verbs.map((verb) => [verb, command]))),
);
