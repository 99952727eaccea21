import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { ftpdSection } from '../src/index.js';
import { curlArgs, expectCode, lftp, PASSWORD, randomFile, RawControl, run, sha256, startFtpd, USER, type Harness } from './helpers.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** AUTH TLS on a raw control connection; returns the TLS socket and a reader of its replies. */
async function authTls(c: RawControl): Promise<{ secure: TLSSocket; command: (line: string) => Promise<string> }> {
  expectCode(await c.reply(), 220);
  expectCode(await c.command('AUTH TLS'), 234);
  c.socket.removeAllListeners('data');
  const secure = tlsConnect({ socket: c.socket, rejectUnauthorized: false });
  await new Promise((r) => secure.once('secureConnect', r));
  secure.setEncoding('utf8');
  let buffer = '';
  const waiters: (() => void)[] = [];
  secure.on('data', (d: string) => {
    buffer += d;
    waiters.splice(0).forEach((w) => w());
  });
  const command = async (line: string): Promise<string> => {
    secure.write(`${line}\r\n`);
    while (!/^\d{3} .*\r\n/m.test(buffer)) await new Promise<void>((r) => waiters.push(r));
    const end = buffer.indexOf('\r\n') + 2;
    const reply = buffer.slice(0, end);
    buffer = buffer.slice(end);
    return reply;
  };
  return { secure, command };
}

describe('requireTls', () => {
  it('refuses logins before AUTH TLS and clear data connections; TLS clients work', async () => {
    h = await startFtpd({ requireTls: true });
    const plain = await RawControl.open(h.port);
    expectCode(await plain.reply(), 220);
    expect(expectCode(await plain.command(`USER ${USER}`), 530)).toContain('TLS required');
    plain.close();
    const refused = await run('curl', curlArgs(h, 'plain', '/'));
    expect(refused.code).not.toBe(0);

    const c = await RawControl.open(h.port);
    const { secure, command } = await authTls(c);
    expectCode(await command(`USER ${USER}`), 331);
    expectCode(await command(`PASS ${PASSWORD}`), 230);
    expectCode(await command('PBSZ 0'), 200);
    expectCode(await command('PROT C'), 534);
    expectCode(await command('EPSV'), 229);
    // Still clear (the RFC 4217 default): no data connection with that.
    expectCode(await command('LIST'), 521);
    expectCode(await command('PROT P'), 200);
    secure.destroy();

    const src = await randomFile(h.dir, 'tls.bin', 200_000);
    for (const mode of ['explicit', 'implicit'] as const) {
      const up = await run('curl', [...curlArgs(h, mode, `/${mode}.bin`), '-T', src.path]);
      expect(up.code, up.stderr).toBe(0);
      expect(sha256(await readFile(join(h.home, `${mode}.bin`)))).toBe(sha256(src.data));
    }
    const lf = await lftp(h, 'explicit', ['cls /']);
    expect(lf.code, lf.stderr).toBe(0);
    expect(lf.stdout).toContain('explicit.bin');
  });

  it('without the policy, PROT C keeps data in the clear under a TLS control connection (curl --ftp-ssl-control)', async () => {
    h = await startFtpd();
    const src = await randomFile(h.dir, 'clear.bin', 100_000);
    const up = await run('curl', ['-sS', '--fail', '--ftp-ssl-control', '-k', '-u', `${USER}:${PASSWORD}`, '-T', src.path, `ftp://127.0.0.1:${h.port}/clear.bin`]);
    expect(up.code, up.stderr).toBe(0);
    expect(sha256(await readFile(join(h.home, 'clear.bin')))).toBe(sha256(src.data));
  });
});

describe('active mode', () => {
  it('when enabled: PORT/EPRT to the client itself works, a third party or a privileged port is refused', async () => {
    h = await startFtpd({ activeMode: true });
    const src = await randomFile(h.dir, 'active.bin', 300_000);
    const up = await run('curl', [...curlArgs(h, 'plain', '/active.bin'), '-P', '127.0.0.1', '-T', src.path]);
    expect(up.code, up.stderr).toBe(0);
    const down = await run('curl', [...curlArgs(h, 'plain', '/active.bin'), '-P', '127.0.0.1', '--disable-eprt', '-o', join(h.dir, 'back.bin')]);
    expect(down.code, down.stderr).toBe(0);
    expect(sha256(await readFile(join(h.dir, 'back.bin')))).toBe(sha256(src.data));
    const lf = await lftp(h, 'explicit', ['set ftp:passive-mode off', 'cls /']);
    expect(lf.code, lf.stderr).toBe(0);
    expect(lf.stdout).toContain('active.bin');

    const c = await RawControl.open(h.port);
    try {
      expect(expectCode(await c.reply(), 220) && expectCode(await c.command('FEAT'), 211)).toContain(' EPRT\r\n');
      expectCode(await c.command(`USER ${USER}`), 331);
      expectCode(await c.command(`PASS ${PASSWORD}`), 230);
      // The FTP bounce: the server must never connect to anyone but the client.
      expect(expectCode(await c.command('PORT 10,0,0,99,0,25'), 504)).toContain('FTP bounce');
      expectCode(await c.command('PORT 127,0,0,2,200,10'), 504);
      expectCode(await c.command('EPRT |1|192.0.2.1|2525|'), 504);
      expectCode(await c.command('EPRT |2|::1|2525|'), 504);
      expectCode(await c.command('PORT 127,0,0,1,0,22'), 504);
      expectCode(await c.command('PORT 127,0,0,1,300,1'), 501);
      expectCode(await c.command('EPRT |3|x|1|'), 522);
      expectCode(await c.command('EPRT garbage'), 501);
      expectCode(await c.command('PORT 127,0,0,1,200,10'), 200);
    } finally {
      c.close();
    }
  });
});

describe('passive mode', () => {
  it('announces the public address and a port of the configured range', async () => {
    h = await startFtpd({ publicAddress: '203.0.113.7', passivePorts: '39900-39909' });
    const c = await RawControl.open(h.port);
    try {
      await c.login();
      const reply = expectCode(await c.command('PASV'), 227);
      const m = /\(203,0,113,7,(\d+),(\d+)\)/.exec(reply);
      expect(m, reply).not.toBeNull();
      const port = Number(m![1]) * 256 + Number(m![2]);
      expect(port).toBeGreaterThanOrEqual(39900);
      expect(port).toBeLessThanOrEqual(39909);
      const epsv = Number(/\|\|\|(\d+)\|/.exec(expectCode(await c.command('EPSV'), 229))?.[1]);
      expect(epsv).toBeGreaterThanOrEqual(39900);
      expect(epsv).toBeLessThanOrEqual(39909);
    } finally {
      c.close();
    }
  });
});

/** Whether this process can listen on `port` (127.0.0.1) right now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

describe('the passive listener', () => {
  it('is kept for the next PASV/EPSV of its session, turns away connections nobody waits for, and is given back when the session ends', async () => {
    h = await startFtpd({ passivePorts: '39920-39929' });
    const c = await RawControl.open(h.port);
    let port = 0;
    try {
      await c.login();
      const pasv = /\(127,0,0,1,(\d+),(\d+)\)/.exec(expectCode(await c.command('PASV'), 227));
      port = Number(pasv![1]) * 256 + Number(pasv![2]);
      expect(Number(/\|\|\|(\d+)\|/.exec(expectCode(await c.command('EPSV'), 229))?.[1])).toBe(port);
      // The waiting channel takes the first connection; a second one is closed at once.
      const first = netConnect(port, '127.0.0.1');
      await new Promise((r) => first.once('connect', r));
      const second = netConnect(port, '127.0.0.1');
      await new Promise((r) => second.once('close', r));
      first.destroy();
      expect(await portIsFree(port)).toBe(false);
    } finally {
      c.close();
    }
    await expect.poll(() => portIsFree(port), { timeout: 5000 }).toBe(true);
  });
});

describe('the ftpd config section', () => {
  it('has the documented defaults', () => {
    const config = ftpdSection.schema.parse({});
    expect(config).toMatchObject({
      port: 2121,
      host: '0.0.0.0',
      requireTls: false,
      activeMode: false,
      passivePorts: { from: 30000, to: 30100 },
      gracefulShutdownTimeout: 86_400_000,
      dataConnectTimeout: 30_000,
      dataTimeout: 300_000,
      idleTimeout: 600_000,
    });
    expect(config.tls).toBeUndefined();
    expect(config.implicitTls).toBeUndefined();
  });

  it('names the key and what is allowed', () => {
    const noTls = ftpdSection.schema.safeParse({ requireTls: true });
    expect(noTls.success).toBe(false);
    expect(noTls.error?.issues[0]).toMatchObject({ path: ['requireTls'], message: 'requireTls: true needs tls.cert and tls.key' });
    expect(ftpdSection.schema.safeParse({ implicitTls: { port: 990 } }).error?.issues[0]?.path).toEqual(['implicitTls']);
    expect(ftpdSection.schema.safeParse({ publicAddress: 'ftp.example.com' }).error?.issues[0]?.path).toEqual(['publicAddress']);
    expect(ftpdSection.schema.safeParse({ passivePorts: '3000-2000' }).success).toBe(false);
    expect(ftpdSection.schema.parse({ passivePorts: '40000-40010', gracefulShutdownTimeout: '1h' })).toMatchObject({
      passivePorts: { from: 40000, to: 40010 },
      gracefulShutdownTimeout: 3_600_000,
    });
  });
});
