import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomFile, scp, sftpBatch, sha256, sha256File, startSshd, USER, type Harness } from './helpers.js';

/** OpenSSH's own clients against an in-process sshd: what CI must show. */
describe('OpenSSH sftp and scp', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startSshd();
  });

  afterAll(async () => {
    await h?.close();
  });

  it.each([
    ['0 B', 0],
    ['1 B', 1],
    ['1 MiB', 1024 * 1024],
    ['100 MiB', 100 * 1024 * 1024],
  ])('uploads and downloads %s byte-identical', async (label, size) => {
    const name = `file-${size}.bin`;
    const source = await randomFile(h.dir, name, size);
    const put = await sftpBatch(h, [`put ${name}`]);
    expect(put.code, put.stderr).toBe(0);
    expect(sha256(await readFile(join(h.home, name)))).toBe(sha256(source.data));
    const get = await sftpBatch(h, [`get ${name} back-${name}`]);
    expect(get.code, get.stderr).toBe(0);
    expect(await sha256File(join(h.dir, `back-${name}`))).toBe(sha256(source.data));
    // Published under the final name only: no partial left next to it.
    expect((await readdir(h.home)).filter((n) => n.includes(name))).toEqual([name]);
    expect(label).toBeTruthy();
  });

  it('lists, renames, deletes, makes and removes directories', async () => {
    await writeFile(join(h.home, 'listed.txt'), 'hello');
    const run = await sftpBatch(h, [
      'mkdir inbox',
      'put -f ' + (await randomFile(h.dir, 'doc.txt', 1000)).path + ' inbox/doc.txt',
      'ls -l inbox',
      'rename inbox/doc.txt inbox/renamed.txt',
      'ls inbox',
      'rm inbox/renamed.txt',
      'rmdir inbox',
      'ls -l',
      'df -h',
      'pwd',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/-rw-r--r--\s+1 alice\s+alice\s+1000 .* doc\.txt/);
    expect(run.stdout).toContain('renamed.txt');
    expect(run.stdout).toMatch(/listed\.txt/);
    expect(run.stdout).toContain('Remote working directory: /');
    expect(existsSync(join(h.home, 'inbox'))).toBe(false);
  });

  it('rename onto an existing file replaces it (posix-rename@openssh.com)', async () => {
    await writeFile(join(h.home, 'a.txt'), 'new');
    await writeFile(join(h.home, 'b.txt'), 'old');
    const run = await sftpBatch(h, ['rename a.txt b.txt']);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(h.home, 'b.txt'), 'utf8')).toBe('new');
    expect(existsSync(join(h.home, 'a.txt'))).toBe(false);
  });

  it('put -p keeps the modification time', async () => {
    const source = await randomFile(h.dir, 'old.txt', 10);
    const { utimes } = await import('node:fs/promises');
    await utimes(source.path, new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
    const run = await sftpBatch(h, ['put -p old.txt']);
    expect(run.code, run.stderr).toBe(0);
    expect((await stat(join(h.home, 'old.txt'))).mtime.toISOString()).toBe('2020-01-02T03:04:05.000Z');
  });

  it('failed operations fail the batch with a message', async () => {
    const missing = await sftpBatch(h, ['get no-such-file.bin']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not found|No such file/i);
    await mkdir(join(h.home, 'full'), { recursive: true });
    await writeFile(join(h.home, 'full', 'x'), 'x');
    const notEmpty = await sftpBatch(h, ['rmdir full']);
    // OpenSSH's client prints the status code's name, not the server's message.
    expect(notEmpty.code).not.toBe(0);
    expect(notEmpty.stderr).toMatch(/Failure/);
  });

  it('scp (SFTP mode) copies both ways', async () => {
    const source = await randomFile(h.dir, 'scp.bin', 3 * 1024 * 1024 + 7);
    const up = await scp(h, ['scp.bin', `${USER}@127.0.0.1:scp-remote.bin`]);
    expect(up.code, up.stderr).toBe(0);
    expect(sha256(await readFile(join(h.home, 'scp-remote.bin')))).toBe(sha256(source.data));
    const down = await scp(h, [`${USER}@127.0.0.1:scp-remote.bin`, 'scp-back.bin']);
    expect(down.code, down.stderr).toBe(0);
    expect(await sha256File(join(h.dir, 'scp-back.bin'))).toBe(sha256(source.data));
  });

  it('reput / put -a continues a partial upload and publishes the whole file', async () => {
    const source = await randomFile(h.dir, 'resumed.bin', 2 * 1024 * 1024 + 123);
    // What a cut upload leaves: a partial next to where the file will go, nothing under its name.
    const cut = 1024 * 1024 + 17;
    await writeFile(join(h.home, '.resumed.bin.ferry-partial'), source.data.subarray(0, cut));
    const run = await sftpBatch(h, ['reput resumed.bin']);
    expect(run.code, run.stderr).toBe(0);
    expect(sha256(await readFile(join(h.home, 'resumed.bin')))).toBe(sha256(source.data));
    expect(existsSync(join(h.home, '.resumed.bin.ferry-partial'))).toBe(false);
    // History is recorded shortly after the transfer ends.
    await expect
      .poll(async () => (await h.store.history.list({ limit: 5 })).find((r) => r.path === '/resumed.bin'))
      .toMatchObject({ outcome: 'completed', direction: 'upload', bytes: source.data.length });
  });

  it('refuses traversal and symlink escapes', async () => {
    await writeFile(join(h.dir, 'secret.txt'), 'outside the home');
    await symlink(join(h.dir, 'secret.txt'), join(h.home, 'escape'));
    await symlink(h.dir, join(h.home, 'escape-dir'));
    const reads = [
      ['get ../secret.txt stolen1'],
      ['get /../secret.txt stolen2'],
      ['get escape stolen3'],
      ['get escape-dir/secret.txt stolen4'],
      ['cd escape-dir'],
      ['put secret.txt ../planted.txt'],
      ['put secret.txt escape-dir/planted.txt'],
      ['ln -s ../../secret.txt passwd-link'],
    ];
    for (const commands of reads) {
      const run = await sftpBatch(h, commands);
      expect(run.code, commands.join('; ')).not.toBe(0);
    }
    expect(existsSync(join(h.dir, 'planted.txt'))).toBe(false);
    for (const stolen of ['stolen1', 'stolen2', 'stolen3', 'stolen4']) expect(existsSync(join(h.dir, stolen))).toBe(false);
    expect(existsSync(join(h.home, 'passwd-link'))).toBe(false);
    // The link itself may be listed by name; what it points at never is.
    const ls = await sftpBatch(h, ['ls -l escape-dir', 'ls escape-dir/']);
    expect(ls.stdout).not.toContain('secret.txt');
    // "/" is the top: going above it is refused with the reason, the session stays in the home.
    const cd = await sftpBatch(h, ['-cd ..', 'pwd']);
    expect(cd.stderr).toContain('leaves the account home');
    expect(cd.stdout).toContain('Remote working directory: /');
  });

  it('symlinks inside the home work', async () => {
    await writeFile(join(h.home, 'target.txt'), 'linked');
    const run = await sftpBatch(h, ['ln -s /target.txt link.txt', 'get link.txt via-link.txt']);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(h.dir, 'via-link.txt'), 'utf8')).toBe('linked');
  });

  it('leaves nothing behind: no transfer, no session', async () => {
    expect(h.runtime.transfers.size).toBe(0);
    await expect.poll(() => h.runtime.sessions.size).toBe(0);
  });
});
