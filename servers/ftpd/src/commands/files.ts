import { FerryError } from '@ferry/core';
import { refused } from '../error-map.js';
import { mlstEntry, timeVal } from '../listing.js';
import { quotePath } from '../paths.js';
import type { FtpSession } from '../session.js';
import type { FtpCommand } from './command.js';

function needPath(verb: string, arg: string): string {
  if (arg === '') throw refused('syntax', `${verb} needs a path`);
  return arg;
}

async function changeDirectory(session: FtpSession, target: string): Promise<void> {
  const stat = await session.admit('stat', () => session.storage.stat(target));
  if (stat.type !== 'directory') throw new FerryError('FERRY_ERR_NOT_A_DIRECTORY', `${stat.path}: not a directory`, { details: { path: stat.path } });
  session.cwd = stat.path;
  session.reply(250, `Directory changed to ${quotePath(stat.path)}`);
}

/** Size of a plain file (RFC 3659 SIZE and MDTM refuse directories). */
async function fileStat(session: FtpSession, path: string) {
  const stat = await session.storage.stat(path);
  if (stat.type !== 'file') throw new FerryError('FERRY_ERR_IS_A_DIRECTORY', `${stat.path}: not a plain file`, { details: { path: stat.path } });
  return stat;
}

/** Navigation, directory and file management, and per-file facts. */
export const FILE_COMMANDS: readonly FtpCommand[] = [
  {
    verbs: ['PWD', 'XPWD'],
    syntax: 'PWD',
    description: 'Print the working directory',
    run(session) {
      session.reply(257, `${quotePath(session.cwd)} is the current directory`);
    },
  },
  {
    verbs: ['CWD', 'XCWD'],
    syntax: 'CWD <path>',
    description: 'Change the working directory',
    run: (session, arg) => changeDirectory(session, session.path(needPath('CWD', arg))),
  },
  {
    verbs: ['CDUP', 'XCUP'],
    syntax: 'CDUP',
    description: 'Change to the parent directory',
    run: (session) => changeDirectory(session, session.path('..')),
  },
  {
    verbs: ['MKD', 'XMKD'],
    syntax: 'MKD <path>',
    description: 'Create a directory',
    async run(session, arg) {
      const path = session.path(needPath('MKD', arg));
      const stat = await session.admit('mkdir', async () => {
        await session.storage.mkdir(path);
        return session.storage.lstat(path);
      });
      session.reply(257, `${quotePath(stat.path)} created`);
    },
  },
  {
    verbs: ['RMD', 'XRMD'],
    syntax: 'RMD <path>',
    description: 'Remove an empty directory',
    async run(session, arg) {
      const path = session.path(needPath('RMD', arg));
      await session.admit('rmdir', () => session.storage.rmdir(path));
      session.reply(250, 'Directory removed');
    },
  },
  {
    verbs: ['DELE'],
    syntax: 'DELE <path>',
    description: 'Delete a file',
    async run(session, arg) {
      const path = session.path(needPath('DELE', arg));
      await session.admit('delete', () => session.storage.remove(path));
      session.reply(250, 'File deleted');
    },
  },
  {
    verbs: ['RNFR'],
    syntax: 'RNFR <path>',
    description: 'Rename from (followed by RNTO)',
    async run(session, arg) {
      const path = session.path(needPath('RNFR', arg));
      const stat = await session.admit('rename', () => session.storage.lstat(path));
      session.renameFrom = stat.path;
      session.reply(350, 'Ready for RNTO');
    },
  },
  {
    verbs: ['RNTO'],
    syntax: 'RNTO <path>',
    description: 'Rename to (after RNFR)',
    async run(session, arg) {
      const from = session.renameFrom;
      session.renameFrom = undefined;
      if (from === undefined) throw refused('sequence', 'Send RNFR first');
      const to = session.path(needPath('RNTO', arg));
      await session.admit('rename', () => session.storage.rename(from, to));
      session.reply(250, 'Rename successful');
    },
  },
  {
    verbs: ['SIZE'],
    syntax: 'SIZE <path>',
    description: 'Size of a file; of its interrupted upload while there is one, so that REST or APPE resume it',
    async run(session, arg) {
      const path = session.path(needPath('SIZE', arg));
      const size = await session.admit('stat', async () => (await session.storage.partialSize(path)) ?? (await fileStat(session, path)).size);
      session.reply(213, String(size));
    },
  },
  {
    verbs: ['MDTM'],
    syntax: 'MDTM <path>',
    description: 'Last modification time of a file (UTC, YYYYMMDDHHMMSS)',
    async run(session, arg) {
      const path = session.path(needPath('MDTM', arg));
      const stat = await session.admit('stat', () => fileStat(session, path));
      session.reply(213, timeVal(stat.mtime));
    },
  },
  {
    verbs: ['MLST'],
    syntax: 'MLST [<path>]',
    description: 'Facts of one file or directory, on the control connection (RFC 3659)',
    async run(session, arg) {
      const stat = await session.admit('stat', () => session.storage.stat(session.path(arg)));
      session.replyLines(250, `Listing ${stat.path}`, [mlstEntry(stat, stat.path, session.facts)], 'End');
    },
  },
];
