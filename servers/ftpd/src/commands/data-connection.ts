import { isIP, isIPv4 } from 'node:net';
import { ActiveChannel, plainAddress, type DataTimeouts, type PassiveChannel } from '../data-channel.js';
import { refused } from '../error-map.js';
import type { FtpSession } from '../session.js';
import type { FtpCommand } from './command.js';

/** RFC 2577: connecting to a privileged port on the client's behalf is how a bounce attacks services. */
const LOWEST_ACTIVE_PORT = 1024;

function timeouts(session: FtpSession): DataTimeouts {
  return { connectMs: session.config.dataConnectTimeout, idleMs: session.config.dataTimeout };
}

async function passive(session: FtpSession): Promise<PassiveChannel> {
  const channel = await session.passiveListener().channel(timeouts(session));
  session.setDataChannel(channel);
  return channel;
}

function checkActive(session: FtpSession, verb: string): void {
  if (!session.config.activeMode) throw refused('not-implemented', `Active mode (${verb}) is disabled on this server; use PASV or EPSV`);
  if (session.epsvAll) throw refused('sequence', `${verb} refused after EPSV ALL`);
}

/** The client may only have the server connect back to itself, never to a third party (FTP bounce). */
function active(session: FtpSession, host: string, port: number): void {
  if (plainAddress(host) !== plainAddress(session.control.remoteAddress)) {
    throw refused('parameter-refused', 'Refused: the data connection must go to the address of this control connection (no FTP bounce)');
  }
  if (port < LOWEST_ACTIVE_PORT || port > 65_535) throw refused('parameter-refused', `Refused: data port ${port} is not between 1024 and 65535`);
  session.setDataChannel(new ActiveChannel(host, port, plainAddress(session.control.localAddress), timeouts(session)));
}

/** Setting up the data connection: passive (PASV, EPSV) always, active (PORT, EPRT) when enabled. */
export const DATA_CONNECTION_COMMANDS: readonly FtpCommand[] = [
  {
    verbs: ['PASV'],
    syntax: 'PASV',
    description: 'Passive mode: the server listens for the data connection (IPv4)',
    async run(session) {
      if (session.epsvAll) throw refused('sequence', 'PASV refused after EPSV ALL');
      const announced = session.config.publicAddress ?? plainAddress(session.control.localAddress);
      if (!isIPv4(announced)) throw refused('no-data-connection', 'PASV can only announce IPv4; use EPSV');
      const { port } = await passive(session);
      session.reply(227, `Entering Passive Mode (${announced.replace(/\./g, ',')},${port >> 8},${port & 0xff})`);
    },
  },
  {
    verbs: ['EPSV'],
    syntax: 'EPSV [1|2|ALL]',
    description: 'Extended passive mode (RFC 2428): the server listens, the client keeps the address',
    async run(session, arg) {
      const which = arg.trim().toUpperCase();
      if (which === 'ALL') {
        session.epsvAll = true;
        session.reply(200, 'EPSV ALL ok');
        return;
      }
      const family = isIPv4(plainAddress(session.control.localAddress)) ? '1' : '2';
      if (which !== '' && which !== family) throw refused('network-protocol', `Network protocol not supported, use (${family})`);
      const { port } = await passive(session);
      session.reply(229, `Entering Extended Passive Mode (|||${port}|)`);
    },
  },
  {
    verbs: ['PORT'],
    syntax: 'PORT <h1,h2,h3,h4,p1,p2>',
    description: 'Active mode: the server connects to this address (only your own)',
    run(session, arg) {
      checkActive(session, 'PORT');
      const parts = arg.trim().split(',');
      const bytes = parts.map((part) => (/^\d{1,3}$/.test(part.trim()) ? Number(part) : Number.NaN));
      if (bytes.length !== 6 || bytes.some((b) => !(b >= 0 && b <= 255))) throw refused('syntax', 'PORT needs h1,h2,h3,h4,p1,p2');
      const [h1, h2, h3, h4, p1, p2] = bytes as [number, number, number, number, number, number];
      active(session, `${h1}.${h2}.${h3}.${h4}`, p1 * 256 + p2);
      session.reply(200, 'PORT command successful');
    },
  },
  {
    verbs: ['EPRT'],
    syntax: 'EPRT |<1|2>|<address>|<port>|',
    description: 'Extended active mode (RFC 2428): the server connects to this address (only your own)',
    run(session, arg) {
      checkActive(session, 'EPRT');
      const text = arg.trim();
      const delimiter = text[0];
      const fields = delimiter === undefined ? [] : text.split(delimiter);
      // `|1|10.0.0.1|5282|` splits into ['', '1', '10.0.0.1', '5282', ''].
      const [, protocol, host = '', portText = ''] = fields;
      if (fields.length !== 5 || !/^\d{1,5}$/.test(portText)) throw refused('syntax', 'EPRT needs |protocol|address|port|');
      if ((protocol === '1' && !isIPv4(host)) || (protocol === '2' && isIP(host) !== 6)) throw refused('syntax', `EPRT: ${host} is not an address of protocol ${protocol}`);
      if (protocol !== '1' && protocol !== '2') throw refused('network-protocol', 'Network protocol not supported, use (1,2)');
      active(session, host, Number(portText));
      session.reply(200, 'EPRT command successful');
    },
  },
];
