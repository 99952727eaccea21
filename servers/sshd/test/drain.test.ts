import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, p, randomFile, sftpBatch, sha256, ssh2Connect, startSshd, stateReached, type Harness, type Ssh2Session } from './helpers.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Resolves with the error an ssh2 client ends with (a disconnect carries its reason as the message). */
function errorOf(session: Ssh2Session): Promise<Error> {
  return new Promise((resolve) => session.client.once('error', resolve));
}

describe('graceful stop (drain) on real clients', () => {
  it('refuses new work with the reason, lets the running upload finish, stops right after it', async () => {
    h = await startSshd();
    const harness = h;
    await writeFile(join(harness.home, 'existing.txt'), 'hello');
    await randomFile(harness.home, 'download.bin', 1024 * 1024);
    const source = await randomFile(harness.dir, 'slow.bin', 1536 * 1024);

    // A: OpenSSH, rate-limited to ~500 KB/s, so the upload outlives the start of the drain.
    const upload = sftpBatch(harness, ['put slow.bin'], { extra: ['-l', '4000'] });
    // B: busy (a download handle open), so the drain keeps it; C: idle, so the drain closes it.
    const busy = await ssh2Connect(harness);
    const idle = await ssh2Connect(harness);
    const idleError = errorOf(idle);
    const reading = await p.open(busy.sftp, '/download.bin', 'r');
    await eventually(() => harness.runtime.transfers.list().some((t) => t.direction === 'upload' && t.bytes > 0));

    const stopped = harness.runtime.gracefulStop(Date.now() + 60_000);
    expect(harness.runtime.state).toBe('draining');

    // The idle session is told why it is closed.
    expect((await idleError).message).toContain('server is shutting down');

    // Every new file operation on the busy session is refused with SSH_FX_FAILURE and the reason.
    const refused = [
      p.readdir(busy.sftp, '/'),
      p.open(busy.sftp, '/new.txt', 'w'),
      p.open(busy.sftp, '/existing.txt', 'r'),
      p.mkdir(busy.sftp, '/newdir'),
      p.unlink(busy.sftp, '/existing.txt'),
      p.rename(busy.sftp, '/existing.txt', '/moved.txt'),
      p.rmdir(busy.sftp, '/'),
      p.stat(busy.sftp, '/existing.txt'),
    ];
    for (const attempt of refused) await expect(attempt).rejects.toThrow(/refused: server is shutting down; retry later/);
    expect(existsSync(join(harness.home, 'new.txt'))).toBe(false);
    expect(existsSync(join(harness.home, 'newdir'))).toBe(false);
    expect(existsSync(join(harness.home, 'existing.txt'))).toBe(true);

    // ...while the handle it already has reads on.
    const chunk = Buffer.alloc(4096);
    const read = await new Promise<number>((ok, ko) => busy.sftp.read(reading, chunk, 0, chunk.length, 0, (e, n) => (e ? ko(e) : ok(n))));
    expect(read).toBe(4096);

    // New connections get a disconnect with the reason; the listener is still there to say it.
    const late = await sftpBatch(harness, ['ls']);
    expect(late.code).not.toBe(0);
    expect(late.stderr).toMatch(/disconnect.*server is shutting down; retry later/);
    await expect(ssh2Connect(harness)).rejects.toThrow(/server is shutting down; retry later/);

    // B closes its file: nothing keeps it any more, so it is closed politely too.
    const busyError = errorOf(busy);
    await p.close(busy.sftp, reading);
    expect((await busyError).message).toContain('server is shutting down');

    const finished = await upload;
    const endedAt = Date.now();
    expect(finished.code, finished.stderr).toBe(0);
    expect(sha256(await readFile(join(harness.home, 'slow.bin')))).toBe(sha256(source.data));

    await stopped;
    expect(Date.now() - endedAt).toBeLessThan(1000);
    expect(harness.runtime.state).toBe('stopped');
    expect(harness.runtime.transfers.size).toBe(0);
    expect(harness.runtime.sessions.size).toBe(0);
    const history = await harness.store.history.list({ limit: 5 });
    expect(history.find((r) => r.path === '/slow.bin')).toMatchObject({ outcome: 'completed', bytes: source.data.length });
  });

  it('at the deadline cuts the upload: nothing under the final name, and reput after a restart completes it', async () => {
    h = await startSshd();
    const harness = h;
    const source = await randomFile(harness.dir, 'cut.bin', 2 * 1024 * 1024);
    const upload = sftpBatch(harness, ['put cut.bin'], { extra: ['-l', '1600'] });
    await eventually(() => (harness.runtime.transfers.list()[0]?.bytes ?? 0) > 100_000);

    const t0 = Date.now();
    await harness.runtime.gracefulStop(Date.now() + 1500);
    expect(Date.now() - t0).toBeLessThan(4000);
    const cut = await upload;
    expect(cut.code).not.toBe(0);
    expect(existsSync(join(harness.home, 'cut.bin'))).toBe(false);
    expect((await readdir(harness.home)).filter((n) => n.endsWith('.ferry-partial'))).toEqual(['.cut.bin.ferry-partial']);
    await eventually(async () => (await harness.store.history.list({ limit: 1 }))[0]?.outcome === 'interrupted');
    expect(harness.runtime.transfers.size).toBe(0);
    expect(harness.runtime.sessions.size).toBe(0);

    await harness.restart();
    const resumed = await sftpBatch(harness, ['reput cut.bin']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(sha256(await readFile(join(harness.home, 'cut.bin')))).toBe(sha256(source.data));
    // History is recorded shortly after the transfer ends.
    await expect.poll(async () => (await harness.store.history.list({ limit: 1 }))[0]).toMatchObject({ path: '/cut.bin', outcome: 'completed', bytes: source.data.length });
  });

  it('an immediate stop cuts every connection and ends every transfer interrupted', async () => {
    h = await startSshd();
    const harness = h;
    const s = await ssh2Connect(harness);
    const gone = new Promise<void>((resolve) => s.client.once('close', () => resolve()));
    s.client.on('error', () => undefined);
    const handle = await p.open(s.sftp, '/immediate.bin', 'w');
    await p.write(s.sftp, handle, Buffer.alloc(64 * 1024, 1), 0);
    expect(harness.runtime.transfers.size).toBe(1);
    await harness.runtime.stopNow();
    await gone;
    expect(harness.runtime.transfers.size).toBe(0);
    expect(harness.runtime.sessions.size).toBe(0);
    expect(existsSync(join(harness.home, 'immediate.bin'))).toBe(false);
    await eventually(async () => (await harness.store.history.list({ limit: 1 }))[0]?.outcome === 'interrupted');
  });

  it('a suspension refuses new connections until resumed', async () => {
    h = await startSshd();
    const harness = h;
    await harness.runtime.suspend();
    await stateReached(harness.runtime, 'drained');
    await expect(ssh2Connect(harness)).rejects.toThrow(/server is suspended; retry later/);
    harness.runtime.resume();
    const s = await ssh2Connect(harness);
    expect((await p.readdir(s.sftp, '/')).length).toBeGreaterThanOrEqual(0);
    s.end();
  });
});
