import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.js';
import { writesWithoutWaiting } from '../src/logging.js';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type Line = Record<string, Json>;

/** A field that holds an object. */
function obj(value: Json | undefined): Line {
  return value as Line;
}

/** A logger whose lines are collected, parsed. */
function capture(): { log: ReturnType<typeof createLogger>; lines: Line[] } {
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  // pino writes to a plain stream synchronously.
  return { log: createLogger({ component: 'testd', destination: destination as never }), lines };
}

describe('log redaction', () => {
  it('censors secrets at the top, nested, in arrays and in request headers; keeps everything else', () => {
    const { log, lines } = capture();
    log.info(
      {
        password: 'hunter2',
        account: { name: 'alice', token: 't0k3n', keys: [{ secret: 's3cr3t', id: 1 }] },
        req: { method: 'GET', headers: { authorization: 'Bearer abc', host: 'x' } },
        bytes: 10,
      },
      'hello',
    );
    const line = obj(lines[0]);
    expect(line.password).toBe('[redacted]');
    expect(line.account).toEqual({ name: 'alice', token: '[redacted]', keys: [{ secret: '[redacted]', id: 1 }] });
    expect(line.req).toEqual({ method: 'GET', headers: { authorization: '[redacted]', host: 'x' } });
    expect(line.bytes).toBe(10);
    expect(line.msg).toBe('hello');
    expect(line.component).toBe('testd');
    expect(JSON.stringify(line)).not.toMatch(/hunter2|t0k3n|s3cr3t|Bearer abc/);
  });

  it('leaves the logged object alone (a line is copied only to censor it)', () => {
    const { log, lines } = capture();
    const fields = { event: 'transfer.end', transfer: { path: '/a', bytes: 5, password: 'pw' } };
    log.info(fields, 'done');
    expect(fields.transfer.password).toBe('pw');
    expect(obj(lines[0]).transfer).toEqual({ path: '/a', bytes: 5, password: '[redacted]' });
    log.info({ event: 'plain', data: Buffer.from('password'), list: [1, 2, 3], absent: undefined }, 'plain');
    expect(lines[1]).toMatchObject({ event: 'plain', list: [1, 2, 3] });
  });

  it('keeps an error readable while censoring what it carries', () => {
    const { log, lines } = capture();
    const err = Object.assign(new Error('login failed'), { code: 'E_AUTH', password: 'hunter2' });
    log.error({ err }, 'failed');
    const logged = obj(obj(lines[0]).err);
    expect(logged.message).toBe('login failed');
    expect(logged.type).toBe('Error');
    expect(logged.code).toBe('E_AUTH');
    expect(logged.password).toBe('[redacted]');
    expect(String(logged.stack)).toContain('login failed');
  });

  it('censors child logger bindings and long arrays too', () => {
    const { log, lines } = capture();
    log.child({ session: 's1', token: 'abc' }).info({ items: Array.from({ length: 100 }, (_, i) => ({ i, secret: `x${i}` })) }, 'many');
    const line = obj(lines[0]);
    expect(line.session).toBe('s1');
    expect(line.token).toBe('[redacted]');
    expect(line.items).toHaveLength(100);
    expect((line.items as Json[])[99]).toEqual({ i: 99, secret: '[redacted]' });
  });
});

describe('how log lines are written', () => {
  it('writes at once to a file or /dev/null, through the thread pool to a socket, and never throws', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-log-'));
    const file = openSync(join(dir, 'log'), 'w');
    const devNull = openSync('/dev/null', 'w');
    try {
      expect(writesWithoutWaiting(file)).toBe(true);
      expect(writesWithoutWaiting(devNull)).toBe(true);
    } finally {
      closeSync(file);
      closeSync(devNull);
      rmSync(dir, { recursive: true });
    }
    expect(writesWithoutWaiting(file)).toBe(false); // closed: no fstat, no throw

    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    const client: Socket = connect(address.port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    try {
      const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
      expect(fd).toBeGreaterThan(2);
      expect(writesWithoutWaiting(fd)).toBe(false);
    } finally {
      client.destroy();
      server.close();
    }
  });
});
