import { FerryError, type FileStat, type Storage } from '@ferry/core';
import { lsLine, mlstEntry } from '../listing.js';
import { stripListOptions } from '../paths.js';
import type { FtpSession } from '../session.js';
import { sendText } from '../transfer-io.js';
import type { FtpCommand } from './command.js';

type Format = 'list' | 'nlst' | 'mlsd';

/**
 * Entries as clients should see them: a symlink (inside the home, the storage sees to that)
 * shows as what it points at, so mirroring clients copy files rather than links; one that leads
 * nowhere is left out.
 */
async function entriesOf(storage: Storage, stat: FileStat): Promise<FileStat[]> {
  if (stat.type !== 'directory') return [stat];
  const entries = await storage.list(stat.path);
  const shown = await Promise.all(
    entries.map(async (entry) => {
      if (entry.type !== 'symlink') return entry;
      const target = await storage.stat(entry.path).catch(() => undefined);
      return target && { ...target, name: entry.name, path: entry.path };
    }),
  );
  return shown.filter((entry): entry is FileStat => entry !== undefined);
}

function render(format: Format, entries: readonly FileStat[], session: FtpSession): string {
  const now = Date.now();
  let text = '';
  for (const entry of entries) {
    if (format === 'list') text += `${lsLine(entry, now)}\r\n`;
    else if (format === 'nlst') text += `${entry.name}\r\n`;
    else text += `${mlstEntry(entry, entry.name, session.facts)}\r\n`;
  }
  return text;
}

/** LIST, NLST and MLSD: the listing is read first (a refusal is a plain 550), then sent. */
async function list(session: FtpSession, arg: string, format: Format): Promise<void> {
  const path = session.path(format === 'mlsd' ? arg : stripListOptions(arg));
  const { channel, tls } = session.takeDataChannel();
  const cut = session.transferStarted();
  try {
    await session.admit('list', async () => {
      const stat = await session.storage.stat(path);
      // RFC 3659 §7.2: MLSD lists directories only.
      if (format === 'mlsd' && stat.type !== 'directory') throw new FerryError('FERRY_ERR_NOT_A_DIRECTORY', `${stat.path}: not a directory`, { details: { path: stat.path } });
      const text = render(format, await entriesOf(session.storage, stat), session);
      session.reply(150, 'Here comes the directory listing');
      const stop = cut.listen(() => channel.close());
      try {
        const socket = await channel.openSend(tls);
        await sendText(text, socket, cut).catch((err: unknown) => {
          socket.destroy();
          const reason = cut.reason?.message ?? 'the data connection was cut';
          throw new FerryError('FERRY_ERR_TRANSFER_ABORTED', reason, { cause: err, details: { reason } });
        });
      } finally {
        stop();
      }
    });
    session.reply(226, 'Directory send OK');
  } finally {
    channel.close();
    session.transferEnded();
  }
}

/** Directory listings over the data connection, and STAT's over the control connection. */
export const LISTING_COMMANDS: readonly FtpCommand[] = [
  {
    verbs: ['LIST'],
    syntax: 'LIST [<path>]',
    description: 'Directory listing, ls -l style',
    run: (session, arg) => list(session, arg, 'list'),
  },
  {
    verbs: ['NLST'],
    syntax: 'NLST [<path>]',
    description: 'Names in a directory',
    run: (session, arg) => list(session, arg, 'nlst'),
  },
  {
    verbs: ['MLSD'],
    syntax: 'MLSD [<path>]',
    description: 'Directory listing with machine-readable facts (RFC 3659)',
    run: (session, arg) => list(session, arg, 'mlsd'),
  },
  {
    verbs: ['STAT'],
    syntax: 'STAT [<path>]',
    description: 'Session status; with a path, its listing on the control connection',
    async run(session, arg) {
      const target = stripListOptions(arg);
      if (target === '') {
        const status = [
          `Connected from ${session.control.remoteAddress}`,
          `Logged in as ${session.account ?? '-'}`,
          `Control connection ${session.control.secure ? 'TLS' : 'clear'}, data connections ${session.protection === 'P' ? 'TLS' : 'clear'}`,
          `Working directory ${session.cwd}`,
        ];
        session.replyLines(211, 'Ferry FTP server status:', status, 'End of status');
        return;
      }
      const lines = await session.admit('list', async () => {
        const stat = await session.storage.stat(session.path(target));
        return render('list', await entriesOf(session.storage, stat), session).split('\r\n').filter(Boolean);
      });
      session.replyLines(213, `Status of ${target}:`, lines, 'End of status');
    },
  },
];
