import { randomBytes } from 'node:crypto';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCode, PASSWORD, rawPassive, RawControl, readAll, startFtpd, USER, type Harness } from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startFtpd();
  await mkdir(join(h.home, 'inside'));
  await writeFile(join(h.home, 'inside', 'ok.txt'), 'fine');
  await writeFile(join(h.dir, 'secret.txt'), 'outside the home');
  await symlink(join(h.dir, 'secret.txt'), join(h.home, 'escape-link'));
});

afterAll(async () => {
  await h?.close();
});

/** The daemon still serves: a fresh session logs in and lists. */
async function stillServing(): Promise<void> {
  const c = await RawControl.open(h.port);
  try {
    await c.login();
    const data = await rawPassive(c);
    const listing = readAll(data);
    expectCode(await c.command('NLST'), 150);
    expectCode(await c.reply(), 226);
    expect((await listing).toString()).toContain('inside');
  } finally {
    c.close();
  }
  expect(h.runtime.state).toBe('running');
}

describe('paths that leave the home', () => {
  it('are refused for every command, whatever the spelling', async () => {
    const c = await RawControl.open(h.port);
    await c.login();
    try {
      expectCode(await c.command('CWD ..'), 550);
      expectCode(await c.command('CWD ../../etc'), 550);
      expectCode(await c.command('CDUP'), 550);
      expectCode(await c.command('SIZE ../../../etc/passwd'), 550);
      expectCode(await c.command('MDTM /../etc/passwd'), 550);
      expectCode(await c.command('MLST inside/../../etc'), 550);
      expectCode(await c.command('MKD ../made'), 550);
      expectCode(await c.command('RMD ../'), 550);
      expectCode(await c.command('DELE ../secret.txt'), 550);
      expectCode(await c.command('RNFR ../secret.txt'), 550);
      expectCode(await c.command('RNFR inside/ok.txt'), 350);
      expectCode(await c.command('RNTO ../../stolen.txt'), 550);
      // A symlink in the home that points out of it is refused too.
      expectCode(await c.command('SIZE escape-link'), 550);
      // Partial files are never addressable.
      expectCode(await c.command('SIZE .x.ferry-partial'), 553);
      for (const command of ['RETR ../secret.txt', 'RETR escape-link', 'STOR ../dropped.txt', 'LIST ../..', 'MLSD /..']) {
        await rawPassive(c);
        const reply = await c.command(command);
        expect(reply, command).toMatch(/^55\d /);
      }
      expectCode(await c.command('CWD inside'), 250);
      expect(expectCode(await c.command('PWD'), 257)).toContain('"/inside"');
    } finally {
      c.close();
    }
    expect((await readdir(h.dir)).sort()).not.toContain('made');
    expect(await readdir(h.dir)).not.toContain('dropped.txt');
    expect(await readdir(join(h.home, 'inside'))).toEqual(['ok.txt']);
    await stillServing();
  });
});

describe('malformed control input', () => {
  it('understands a command split across TCP packets, and several in one packet', async () => {
    const c = await RawControl.open(h.port);
    try {
      expectCode(await c.reply(), 220);
      c.send('US');
      await new Promise((r) => setTimeout(r, 50));
      c.send('ER ');
      await new Promise((r) => setTimeout(r, 50));
      c.send(`${USER}\r`);
      await new Promise((r) => setTimeout(r, 50));
      c.send('\n');
      expectCode(await c.reply(), 331);
      c.send(`PASS ${PASSWORD}\r\nPWD\r\nNOOP\r\n`);
      expectCode(await c.reply(), 230);
      expectCode(await c.reply(), 257);
      expectCode(await c.reply(), 200);
      // A bare LF ends a line too; Telnet IAC sequences are dropped (lftp sends IAC IP before ABOR).
      c.send(Buffer.from([0xff, 0xf4, 0xff, 0xf2, ...Buffer.from('NOOP\n')]));
      expectCode(await c.reply(), 200);
    } finally {
      c.close();
    }
  });

  it('refuses an overlong line once, drops it whole, and goes on', async () => {
    const c = await RawControl.open(h.port);
    try {
      await c.login();
      c.send(`NOOP ${'x'.repeat(200_000)}`);
      c.send('y'.repeat(50_000) + '\r\n');
      expect(expectCode(await c.reply(), 500)).toContain('too long');
      expectCode(await c.command('NOOP'), 200);
    } finally {
      c.close();
    }
    await stillServing();
  });

  it('answers garbage bytes with 500s and stays up', async () => {
    const c = await RawControl.open(h.port);
    try {
      expectCode(await c.reply(), 220);
      c.send(randomBytes(256 * 1024));
      c.send('\r\nNOOP\r\n');
      // Every garbage line gets its 500 (or a 530 for a known verb before login), then the NOOP.
      for (;;) {
        const reply = await c.reply();
        expect(reply).not.toBeNull();
        expect(reply).toMatch(/^(500|530|501|503|502|331|221|211|214|200|215|234) /m);
        if (reply!.startsWith('200 ')) break;
      }
    } finally {
      c.close();
    }
    await stillServing();
  });

  it('drops what follows AUTH TLS in the same packet (no command injection before the handshake)', async () => {
    const raw = await new Promise<import('node:net').Socket>((resolve) => {
      const s = connect(h.port, '127.0.0.1', () => resolve(s));
    });
    raw.setEncoding('latin1');
    const early: string[] = [];
    raw.on('data', (d: string) => early.push(d));
    await new Promise((r) => setTimeout(r, 100));
    raw.write(`AUTH TLS\r\nUSER ${USER}\r\n`);
    await new Promise((r) => setTimeout(r, 100));
    expect(early.join('')).toMatch(/234 AUTH TLS successful\r\n$/);
    raw.removeAllListeners('data');
    const secure = tlsConnect({ socket: raw, rejectUnauthorized: false });
    await new Promise((r) => secure.once('secureConnect', r));
    secure.setEncoding('utf8');
    const reply = new Promise<string>((resolve) => secure.once('data', (d: string) => resolve(d)));
    secure.write(`PASS ${PASSWORD}\r\n`);
    // Had the injected USER counted, this PASS would log in.
    expect(await reply).toMatch(/^503 /);
    secure.destroy();
  });
});

describe('data connections', () => {
  it('refuses PORT and EPRT while active mode is off, including to a third party', async () => {
    const c = await RawControl.open(h.port);
    try {
      await c.login();
      expectCode(await c.command('PORT 10,0,0,99,0,21'), 502);
      expectCode(await c.command('EPRT |1|10.0.0.99|21|'), 502);
      expectCode(await c.command('PORT 127,0,0,1,200,10'), 502);
    } finally {
      c.close();
    }
  });

  it('turns away a passive data connection from another address than the control connection', async () => {
    const c = await RawControl.open(h.port);
    try {
      await c.login();
      const reply = expectCode(await c.command('EPSV'), 229);
      const port = Number(/\|\|\|(\d+)\|/.exec(reply)?.[1]);
      // 127.0.0.2 is loopback too, but not the control connection's address.
      const thief = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      const stolen = await new Promise<string>((resolve) => {
        thief.once('close', () => resolve('closed'));
        thief.once('data', () => resolve('data'));
      });
      expect(stolen).toBe('closed');
      // The rightful client still gets its listing.
      const data = connect(port, '127.0.0.1');
      const listing = readAll(data);
      expectCode(await c.command('LIST'), 150);
      expectCode(await c.reply(), 226);
      expect((await listing).toString()).toContain('inside');
      expectCode(await c.command('EPSV 2'), 522);
      expectCode(await c.command('EPSV ALL'), 200);
      expectCode(await c.command('PASV'), 503);
    } finally {
      c.close();
    }
    await stillServing();
  });

  it('a data command without PASV/EPSV gets 425; ABOR cuts a running download: 426, then 226', async () => {
    await writeFile(join(h.home, 'long.bin'), randomBytes(16 * 1024 * 1024));
    const c = await RawControl.open(h.port);
    try {
      await c.login();
      expectCode(await c.command('RETR long.bin'), 425);
      const data = await rawPassive(c);
      data.pause();
      expectCode(await c.command('RETR long.bin'), 150);
      c.send(Buffer.from([0xff, 0xf4, 0xff, 0xf2, ...Buffer.from('ABOR\r\n')]));
      expect(await c.reply()).toMatch(/^426 .*aborted by the client/);
      expectCode(await c.reply(), 226);
      data.destroy();
      expectCode(await c.command('ABOR'), 225);
      expectCode(await c.command('NOOP'), 200);
    } finally {
      c.close();
    }
  });
});
