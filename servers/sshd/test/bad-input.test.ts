import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { ClientChannel } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, p, randomFile, sftpBatch, ssh2Connect, startSshd, type Harness } from './helpers.js';

const INIT = Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3]);

/** A raw `sftp` subsystem channel, and the SFTP packets that come back on it. */
async function rawSftp(h: Harness) {
  const s = await ssh2Connect(h);
  const channel = await new Promise<ClientChannel>((ok, ko) => s.client.subsys('sftp', (e, c) => (e ? ko(e) : ok(c))));
  let pending = Buffer.alloc(0);
  const packets: Buffer[] = [];
  const waiters: (() => void)[] = [];
  channel.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      packets.push(pending.subarray(4, 4 + pending.readUInt32BE(0)));
      pending = pending.subarray(4 + pending.readUInt32BE(0));
    }
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
  return {
    session: s,
    channel,
    closed,
    async next(): Promise<Buffer> {
      while (packets.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
      return packets.shift() as Buffer;
    },
  };
}

function packet(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1, 0);
  head[4] = type;
  return Buffer.concat([head, body]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function status(reply: Buffer): { type: number; id: number; code: number; message: string } {
  const length = reply.readUInt32BE(9);
  return { type: reply[0] ?? -1, id: reply.readUInt32BE(1), code: reply.readUInt32BE(5), message: reply.subarray(13, 13 + length).toString() };
}

describe('bad input leaves the daemon up and the registry clean', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startSshd({ loginTimeout: '1s' });
  });

  afterAll(async () => {
    await h?.close();
  });

  async function stillServes(): Promise<void> {
    const run = await sftpBatch(h, ['ls']);
    expect(run.code, run.stderr).toBe(0);
    expect(h.runtime.state).toBe('running');
  }

  it('a packet length beyond the limit closes that channel only', async () => {
    const raw = await rawSftp(h);
    raw.channel.write(INIT);
    expect((await raw.next())[0]).toBe(2); // VERSION
    raw.channel.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 3]));
    await raw.closed;
    raw.session.end();
    await stillServes();
  });

  it('a first packet that is not INIT closes the channel', async () => {
    const raw = await rawSftp(h);
    raw.channel.write(packet(17, Buffer.concat([u32(1), u32(1), Buffer.from('/')])));
    await raw.closed;
    raw.session.end();
    await stillServes();
  });

  it('a truncated request is answered SSH_FX_BAD_MESSAGE, an unknown one SSH_FX_OP_UNSUPPORTED, and the session goes on', async () => {
    const raw = await rawSftp(h);
    raw.channel.write(INIT);
    const version = await raw.next();
    expect(version.readUInt32BE(1)).toBe(3);
    // OPEN whose path claims 1000 bytes that are not there.
    raw.channel.write(packet(3, Buffer.concat([u32(7), u32(1000), Buffer.from('abc')])));
    expect(status(await raw.next())).toMatchObject({ type: 101, id: 7, code: 5 });
    raw.channel.write(packet(99, u32(8)));
    expect(status(await raw.next())).toMatchObject({ type: 101, id: 8, code: 8 });
    raw.channel.write(packet(200, Buffer.concat([u32(9), u32(9), Buffer.from('nonsense@example.com')])));
    expect(status(await raw.next())).toMatchObject({ id: 9, code: 8 });
    // A 64-bit offset beyond 2^53.
    raw.channel.write(packet(5, Buffer.concat([u32(10), u32(4), u32(1), u32(0xffffffff), u32(0xffffffff), u32(10)])));
    expect(status(await raw.next())).toMatchObject({ id: 10, code: 5 });
    // Still a working session: REALPATH of ".".
    raw.channel.write(packet(16, Buffer.concat([u32(11), u32(1), Buffer.from('.')])));
    const name = await raw.next();
    expect(name[0]).toBe(104);
    raw.session.end();
    await stillServes();
  });

  it('garbage instead of SSH closes that connection', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(h.port, '127.0.0.1', () => socket.write(Buffer.alloc(4096, 0x41)));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
      socket.resume();
    });
    await stillServes();
  });

  it('a client that never authenticates is cut at loginTimeout', async () => {
    const t0 = Date.now();
    await new Promise<void>((resolve) => {
      const socket = connect(h.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
      socket.resume();
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    await eventually(() => h.runtime.sessions.size === 0);
  });

  it('a client that vanishes mid-upload: interrupted, partial kept, nothing published, registry empty', async () => {
    const s = await ssh2Connect(h);
    s.client.on('error', () => undefined);
    const handle = await p.open(s.sftp, '/vanished.bin', 'w');
    await p.write(s.sftp, handle, Buffer.alloc(100_000, 3), 0);
    expect(h.runtime.transfers.size).toBe(1);
    (s.client as unknown as { _sock: { destroy(): void } })._sock.destroy();
    await eventually(() => h.runtime.transfers.size === 0 && h.runtime.sessions.size === 0);
    expect(existsSync(join(h.home, 'vanished.bin'))).toBe(false);
    expect(await readdir(h.home)).toContain('.vanished.bin.ferry-partial');
    await eventually(async () => (await h.store.history.list({ limit: 1 }))[0]?.outcome === 'interrupted');
    await stillServes();
  });

  it('a client that vanishes mid-download: interrupted, registry empty', async () => {
    await randomFile(h.home, 'to-read.bin', 5 * 1024 * 1024);
    const s = await ssh2Connect(h);
    s.client.on('error', () => undefined);
    const handle = await p.open(s.sftp, '/to-read.bin', 'r');
    await new Promise<void>((ok, ko) => s.sftp.read(handle, Buffer.alloc(65536), 0, 65536, 0, (e) => (e ? ko(e) : ok())));
    (s.client as unknown as { _sock: { destroy(): void } })._sock.destroy();
    await eventually(() => h.runtime.transfers.size === 0 && h.runtime.sessions.size === 0);
    await expect.poll(async () => (await h.store.history.list({ limit: 1 }))[0]).toMatchObject({ path: '/to-read.bin', direction: 'download', outcome: 'interrupted' });
    await stillServes();
  });
});
