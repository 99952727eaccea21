import { describe, expect, it } from 'vitest';
import { ControlLineReader } from '../src/control-lines.js';
import { closingReply, errorReply, refused } from '../src/error-map.js';
import { FerryError } from '@ferry/core';

function reader(max = 64): { push(text: string | number[]): void; lines: string[]; overlong: number } {
  const out = { lines: [] as string[], overlong: 0 };
  const r = new ControlLineReader(max, { line: (text) => out.lines.push(text), overlong: () => out.overlong++ });
  return {
    push: (text) => r.push(typeof text === 'string' ? Buffer.from(text, 'latin1') : Buffer.from(text)),
    get lines() {
      return out.lines;
    },
    get overlong() {
      return out.overlong;
    },
  };
}

describe('ControlLineReader', () => {
  it('joins a line cut anywhere, even inside CRLF or a UTF-8 character', () => {
    const r = reader();
    const bytes = Buffer.from('STOR café.txt\r\nNOOP\n', 'utf8');
    for (const byte of bytes) r.push([byte]);
    expect(r.lines).toEqual(['STOR café.txt', 'NOOP']);
  });

  it('splits several lines in one read and keeps the rest for later', () => {
    const r = reader();
    r.push('USER a\r\nPASS b\r\nPW');
    expect(r.lines).toEqual(['USER a', 'PASS b']);
    r.push('D\r\n');
    expect(r.lines).toEqual(['USER a', 'PASS b', 'PWD']);
  });

  it('drops Telnet commands: IAC IP, IAC DM, option negotiation; IAC IAC is a literal 0xFF', () => {
    const r = reader();
    r.push([0xff, 0xf4, 0xff, 0xf2, ...Buffer.from('ABOR\r\n')]);
    r.push([0xff, 0xfb, 0x01, ...Buffer.from('NOOP\r\n')]);
    r.push([0x41, 0xff, 0xff, 0x42, 0x0d, 0x0a]);
    expect(r.lines.slice(0, 2)).toEqual(['ABOR', 'NOOP']);
    expect(Buffer.from(r.lines[2] as string, 'utf8')).toEqual(Buffer.from([0x41, 0xef, 0xbf, 0xbd, 0x42]));
  });

  it('reports an overlong line once and drops it up to its end', () => {
    const r = reader(16);
    r.push('A'.repeat(40));
    r.push('B'.repeat(40));
    r.push('\r\nNOOP\r\n');
    expect(r.overlong).toBe(1);
    expect(r.lines).toEqual(['NOOP']);
  });
});

describe('error-map', () => {
  it('maps a drain to 421 with the reason, closing the connection', () => {
    const draining = new FerryError('FERRY_ERR_DRAINING', 'list refused', { details: { reason: 'server is shutting down' } });
    expect(errorReply(draining)).toEqual({ code: 421, text: 'server is shutting down; try again later', close: true, internal: false });
    expect(closingReply('server is suspended')).toMatchObject({ code: 421, text: 'server is suspended; try again later', close: true });
  });

  it('maps storage and protocol refusals to their FTP codes, and hides internal failures', () => {
    expect(errorReply(new FerryError('FERRY_ERR_NOT_FOUND', 'stat /x: no such file or directory')).code).toBe(550);
    expect(errorReply(new FerryError('FERRY_ERR_OFFSET_MISMATCH', 'offset')).code).toBe(554);
    expect(errorReply(new FerryError('FERRY_ERR_IO', 'write /x: storage failure (ENOSPC)', { details: { errno: 'ENOSPC' } })).code).toBe(452);
    expect(errorReply(refused('parameter-refused', 'no bounce')).code).toBe(504);
    expect(errorReply(refused('no-data-connection', 'no PASV')).code).toBe(425);
    expect(errorReply(new FerryError('FERRY_ERR_STORE', 'sqlite: /srv/ferry.db is locked'))).toEqual({ code: 451, text: 'Local error in processing', close: false, internal: true });
    expect(errorReply(new Error('boom'))).toMatchObject({ code: 451, internal: true });
  });
});
