import { FerryError, isFerryError, type ReadHandle, type Transfer, type UploadHandle } from '@ferry/core';
import type { Cut } from '../cut.js';
import type { DataChannel } from '../data-channel.js';
import { refused } from '../error-map.js';
import type { FtpSession } from '../session.js';
import { receive, sendFile } from '../transfer-io.js';
import type { FtpCommand } from './command.js';

/** Uploads longer than this wait SETTLE_MS at their end for a sign that the client died (see clientStillThere). */
const SETTLE_AFTER_MS = 1000;
const SETTLE_MS = 50;

/**
 * The core's abort (a drain deadline) cuts the transfer as ABOR would. After the transfer ends the
 * core no longer aborts it, so this listener needs no removal.
 */
function cutWhenAborted(cut: Cut, transfer: Transfer): void {
  transfer.onAbort((reason) => cut.fire(reason));
}

/** Opens the data connection (`open`), given up as soon as the transfer is cut (ABOR, the client gone). */
function openData<T>(channel: DataChannel, cut: Cut, open: () => Promise<T>): Promise<T> {
  const stop = cut.listen(() => channel.close());
  return open().finally(stop);
}

/** Registers the transfer the session is about to run. */
function begin(session: FtpSession, path: string, direction: 'upload' | 'download', offset: number, size: number | null): Transfer {
  return session.services.ctx.transfers.begin({
    protocol: session.protocol,
    account: session.account ?? null,
    remoteAddress: session.control.remoteAddress,
    path,
    direction,
    offset,
    size,
    sessionId: session.id,
  });
}

/**
 * A transfer that did not complete: 426 when it was cut (the upload stays as a resumable
 * partial, history says `interrupted`), the error map's reply when storage failed.
 */
function endCut(session: FtpSession, transfer: Transfer, cut: Cut, err: unknown, verb: string): void {
  if (isFerryError(err) && err.code !== 'FERRY_ERR_TRANSFER_ABORTED' && cut.reason === undefined) {
    session.fail(err, verb);
    transfer.end('failed', err.message);
    return;
  }
  const reason = cut.reason !== undefined ? cut.reason.message : isFerryError(err) ? err.message : 'the data connection was cut';
  session.reply(426, `Connection closed; transfer aborted: ${reason}`);
  transfer.end('interrupted', reason);
}

/**
 * In stream mode the end of the data is the client closing the data connection, and a client
 * that dies closes it too: the two look alike. When a client is killed its control connection
 * closes within milliseconds of the data connection; an upload whose client is gone is kept as a
 * resumable partial, not published truncated. A long upload waits a moment for that sign (a few
 * milliseconds on a transfer of seconds); a short one does not, as the wait would cost more than
 * the rare truncated small file that a re-send replaces.
 */
async function clientStillThere(session: FtpSession, transfer: Transfer): Promise<void> {
  if (!session.control.clientEnded && Date.now() - transfer.startedAt >= SETTLE_AFTER_MS) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  }
  if (session.control.clientEnded) throw new FerryError('FERRY_ERR_TRANSFER_ABORTED', 'the client closed its control connection');
}

/** STOR and APPE: into a partial file, published under its name only once all of it arrived. */
async function store(session: FtpSession, arg: string, append: boolean): Promise<void> {
  const verb = append ? 'APPE' : 'STOR';
  if (arg === '') throw refused('syntax', `${verb} needs a file name`);
  const path = session.path(arg);
  const offset = session.takeRestOffset();
  const { channel, tls } = session.takeDataChannel();
  const cut = session.transferStarted();
  try {
    const { upload, socket, transfer } = await session.admit('upload', async () => {
      const upload: UploadHandle = await session.storage.openWrite(path, append ? { append: true } : { offset });
      try {
        session.reply(150, `Ready to receive ${upload.path}${upload.offset > 0 ? ` from byte ${upload.offset}` : ''}`);
        const socket = await openData(channel, cut, () => channel.openReceive(tls));
        return { upload, socket, transfer: begin(session, upload.path, 'upload', upload.offset, null) };
      } catch (err) {
        await upload.abandon().catch(() => undefined);
        throw err;
      }
    });
    cutWhenAborted(cut, transfer);
    try {
      await receive(socket, upload, transfer, cut);
      await clientStillThere(session, transfer);
      const stored = await upload.commit();
      session.reply(226, `Transfer complete: ${stored.size} bytes in ${upload.path}`);
      transfer.end('completed');
    } catch (err) {
      socket.destroy();
      await upload.abandon().catch(() => undefined);
      endCut(session, transfer, cut, err, verb);
    }
  } finally {
    channel.close();
    session.transferEnded();
  }
}

async function retrieve(session: FtpSession, arg: string): Promise<void> {
  if (arg === '') throw refused('syntax', 'RETR needs a file name');
  const path = session.path(arg);
  const offset = session.takeRestOffset();
  const { channel, tls } = session.takeDataChannel();
  const cut = session.transferStarted();
  try {
    const { handle, socket, transfer } = await session.admit('download', async () => {
      const handle: ReadHandle = await session.storage.openRead(path, { offset });
      try {
        session.reply(150, `Opening BINARY mode data connection for ${handle.path} (${handle.size - offset} bytes)`);
        const socket = await openData(channel, cut, () => channel.openSend(tls));
        return { handle, socket, transfer: begin(session, handle.path, 'download', offset, handle.size) };
      } catch (err) {
        await handle.close().catch(() => undefined);
        throw err;
      }
    });
    cutWhenAborted(cut, transfer);
    try {
      await sendFile(handle, socket, transfer, cut);
      session.reply(226, `Transfer complete: ${offset + transfer.bytes} bytes of ${handle.path}`);
      transfer.end('completed');
    } catch (err) {
      socket.destroy();
      endCut(session, transfer, cut, err, 'RETR');
    } finally {
      await handle.close().catch(() => undefined);
    }
  } finally {
    channel.close();
    session.transferEnded();
  }
}

/** File transfers (RFC 959) and their restart (RFC 3659 REST STREAM). */
export const TRANSFER_COMMANDS: readonly FtpCommand[] = [
  {
    verbs: ['RETR'],
    syntax: 'RETR <path>',
    description: 'Download a file (from the REST offset, if one was given)',
    run: retrieve,
  },
  {
    verbs: ['STOR'],
    syntax: 'STOR <path>',
    description: 'Upload a file (from the REST offset, if one was given); published when complete',
    run: (session, arg) => store(session, arg, false),
  },
  {
    verbs: ['APPE'],
    syntax: 'APPE <path>',
    description: 'Upload onto the end of a file, or of its interrupted upload',
    run: (session, arg) => store(session, arg, true),
  },
  {
    verbs: ['REST'],
    syntax: 'REST <byte offset>',
    description: 'Start the next STOR or RETR at this offset (resume)',
    run(session, arg) {
      const text = arg.trim();
      const offset = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
      if (!Number.isSafeInteger(offset)) throw refused('syntax', 'REST needs a byte offset (0 or more)');
      session.restOffset = offset;
      session.reply(350, `Restarting at ${offset}; send STOR or RETR`);
    },
  },
  {
    verbs: ['ABOR'],
    syntax: 'ABOR',
    description: 'Abort the transfer in progress',
    run(session) {
      session.setDataChannel(undefined);
      if (session.takeAborted()) session.reply(226, 'ABOR successful');
      else session.reply(225, 'No transfer to abort');
    },
  },
];
