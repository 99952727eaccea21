import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  curlArgs,
  eventually,
  expectCode,
  lftp,
  PASSWORD,
  randomFile,
  rawPassive,
  RawControl,
  readAll,
  run,
  sha256,
  sha256File,
  startFtpd,
  USER,
  type Harness,
} from './helpers.js';

let h: Harness;
let client: Client;

beforeAll(async () => {
  h = await startFtpd();
  client = new Client(30_000);
  await client.access({ host: '127.0.0.1', port: h.port, user: USER, password: PASSWORD });
});

afterAll(async () => {
  client?.close();
  await h?.close();
});

describe('directories and files', () => {
  it('mkdir, list, rename, delete and rmdir with basic-ftp (MLSD listings)', async () => {
    await client.ensureDir('/work/inner');
    await client.cd('/');
    expect((await stat(join(h.home, 'work', 'inner'))).isDirectory()).toBe(true);
    await client.uploadFrom(Readable.from([Buffer.from('hello')]), '/work/a.txt');
    const listed = await client.list('/work');
    expect(listed.map((f) => [f.name, f.isDirectory, f.size]).sort()).toEqual([
      ['a.txt', false, 5],
      ['inner', true, 0],
    ]);
    // basic-ftp read these from MLSD: the modification time is exact.
    expect(listed.find((f) => f.name === 'a.txt')?.modifiedAt).toBeInstanceOf(Date);
    await client.rename('/work/a.txt', '/work/b.txt');
    expect(await readFile(join(h.home, 'work', 'b.txt'), 'utf8')).toBe('hello');
    await client.remove('/work/b.txt');
    await client.removeDir('/work/inner');
    expect(await readdir(join(h.home, 'work'))).toEqual([]);
    expect(await client.size('/missing').catch((err: Error) => err.message)).toMatch(/^550/);
  });

  it('CWD, CDUP, PWD, SIZE, MDTM, MLST, NLST, FEAT, OPTS, NOOP, STAT, HELP and QUIT on the wire', async () => {
    await mkdir(join(h.home, 'docs', 'sub'), { recursive: true });
    await writeFile(join(h.home, 'docs', 'note "q".txt'), 'twelve bytes');
    const c = await RawControl.open(h.port);
    try {
      const feat = expectCode(await c.reply(), 220) && expectCode(await c.command('FEAT'), 211);
      for (const feature of ['AUTH TLS', 'PBSZ', 'PROT', 'EPSV', 'MDTM', 'MLST type*;size*;modify*;perm*;', 'REST STREAM', 'SIZE', 'UTF8']) {
        expect(feat).toContain(`\r\n ${feature}\r\n`);
      }
      expect(feat).not.toContain('EPRT'); // active mode is off by default
      expectCode(await c.command('LIST'), 530);
      expectCode(await c.command(`USER ${USER}`), 331);
      expectCode(await c.command(`PASS ${PASSWORD}`), 230);
      expectCode(await c.command('OPTS UTF8 ON'), 200);
      expect(expectCode(await c.command('PWD'), 257)).toContain('"/"');
      expect(expectCode(await c.command('CWD docs/sub'), 250)).toContain('"/docs/sub"');
      expectCode(await c.command('CDUP'), 250);
      expect(expectCode(await c.command('PWD'), 257)).toContain('"/docs"');
      expect(expectCode(await c.command('SIZE note "q".txt'), 213)).toBe('213 12\r\n');
      expect(expectCode(await c.command('MDTM note "q".txt'), 213)).toMatch(/^213 \d{14}\r\n$/);
      expectCode(await c.command('SIZE sub'), 550);
      expectCode(await c.command('CWD note "q".txt'), 550);
      const mlst = expectCode(await c.command('MLST note "q".txt'), 250);
      expect(mlst).toMatch(/^250-Listing \/docs\/note "q".txt\r\n type=file;size=12;modify=\d{14};perm=adfrw; \/docs\/note "q".txt\r\n250 End\r\n$/);
      expect(expectCode(await c.command('OPTS MLST type;size;'), 200)).toContain('MLST OPTS type;size;');
      const data = await rawPassive(c);
      const listing = readAll(data);
      expectCode(await c.command('MLSD'), 150);
      expectCode(await c.reply(), 226);
      expect((await listing).toString().split('\r\n').filter(Boolean).sort()).toEqual(['type=dir; sub', 'type=file;size=12; note "q".txt']);
      const names = await rawPassive(c);
      const nlst = readAll(names);
      expectCode(await c.command('NLST'), 150);
      expectCode(await c.reply(), 226);
      expect((await nlst).toString()).toBe('note "q".txt\r\nsub\r\n');
      const lines = await rawPassive(c);
      const list = readAll(lines);
      expectCode(await c.command('LIST -la'), 150);
      expectCode(await c.reply(), 226);
      const text = (await list).toString();
      expect(text).toMatch(/^-rw\S+ 1 ftp ftp +12 \w{3} [ \d]\d [ \d\d:]{5} note "q".txt\r\n/m);
      expect(text).toMatch(/^d\S+ 1 ftp ftp +\d+ .* sub\r\n/m);
      expectCode(await c.command('NOOP'), 200);
      expectCode(await c.command('TYPE I'), 200);
      expectCode(await c.command('MODE S'), 200);
      expectCode(await c.command('STRU F'), 200);
      expectCode(await c.command('SYST'), 215);
      expect(expectCode(await c.command('STAT'), 211)).toContain('Logged in as alice');
      expect(expectCode(await c.command('STAT sub'), 213)).toContain('213 End of status');
      expect(expectCode(await c.command('HELP'), 214)).toContain('MLSD');
      expect(expectCode(await c.command('HELP mlst'), 214)).toContain('MLST [<path>]');
      expectCode(await c.command('SITE CHMOD 644 x'), 502);
      expectCode(await c.command('XYZZY'), 500);
      expectCode(await c.command('RNTO x'), 503);
      expectCode(await c.command('QUIT'), 221);
      expect(await c.reply()).toBeNull();
    } finally {
      c.close();
    }
  });

  it('lftp: mkdir, cls, mv, rm, rmdir', async () => {
    await writeFile(join(h.dir, 'x.txt'), 'x content');
    const r = await lftp(h, 'plain', ['mkdir -p /lf/deep', `put ${join(h.dir, 'x.txt')} -o /lf/x.txt`, 'cls -l /lf', 'mv /lf/x.txt /lf/y.txt', 'cls /lf', 'rm /lf/y.txt', 'rmdir /lf/deep', 'cls /lf']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('x.txt');
    expect(r.stdout).toContain('y.txt');
    expect(await readdir(join(h.home, 'lf'))).toEqual([]);
  });

  it('lftp mirror -R of 500 small files arrives complete over one control connection, and mirrors back', async () => {
    const local = join(h.dir, 'many');
    await mkdir(local);
    const hashes = new Map<string, string>();
    for (let i = 0; i < 500; i++) {
      const data = randomBytes(100 + (i % 37) * 50);
      const name = `f${String(i).padStart(3, '0')}.bin`;
      hashes.set(name, sha256(data));
      await writeFile(join(local, name), data);
    }
    const started = Date.now();
    const r = await lftp(h, 'plain', ['set mirror:parallel-transfer-count 1', `mirror -R ${local} /many`]);
    expect(r.code, r.stderr).toBe(0);
    const names = (await readdir(join(h.home, 'many'))).sort();
    expect(names).toEqual([...hashes.keys()].sort());
    for (const name of names) expect(sha256(await readFile(join(h.home, 'many', name)))).toBe(hashes.get(name));
    // An event per data connection, no poll: 500 files go in well under a second each.
    expect(Date.now() - started).toBeLessThan(20_000);
    const back = join(h.dir, 'many-back');
    const again = await lftp(h, 'plain', [`mirror /many ${back}`]);
    expect(again.code, again.stderr).toBe(0);
    expect((await readdir(back)).length).toBe(500);
  });
});

describe('resume', () => {
  it('an upload cut by the client stays a hidden partial; curl -C - resumes it (SIZE, APPE)', async () => {
    const src = await randomFile(h.dir, 'resume-me.bin', 3 * 1024 * 1024);
    const child = spawn('curl', [...curlArgs(h, 'plain', '/resume-me.bin'), '--limit-rate', '1M', '-T', src.path], { stdio: 'ignore' });
    // Past the first second: a long upload's end waits for the sign that its client died.
    await eventually(() => h.runtime.transfers.list().some((t) => t.path === '/resume-me.bin' && t.bytes > 1536 * 1024), 10_000);
    child.kill('SIGKILL');
    await eventually(async () => (await h.store.history.list()).some((r) => r.path === '/resume-me.bin' && r.outcome === 'interrupted'));
    expect(await readdir(h.home)).not.toContain('resume-me.bin');
    const partial = (await stat(join(h.home, '.resume-me.bin.ferry-partial'))).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(src.data.length);
    // Listings never show the partial.
    expect((await client.list('/')).map((f) => f.name)).not.toContain('.resume-me.bin.ferry-partial');
    expect(await client.size('/resume-me.bin')).toBe(partial);

    const resumed = await run('curl', [...curlArgs(h, 'plain', '/resume-me.bin'), '-C', '-', '-T', src.path]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await sha256File(join(h.home, 'resume-me.bin'))).toBe(sha256(src.data));
    expect(await readdir(h.home)).not.toContain('.resume-me.bin.ferry-partial');
  });

  it('REST + STOR resumes a partial (lftp put -c), REST + RETR resumes a download (curl -C -)', async () => {
    const src = await randomFile(h.dir, 'rest.bin', 2 * 1024 * 1024);
    // A partial of the first 700000 bytes, as a cut upload leaves it.
    await writeFile(join(h.home, '.rest.bin.ferry-partial'), src.data.subarray(0, 700_000));
    const r = await lftp(h, 'explicit', [`put -c ${src.path} -o /rest.bin`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(join(h.home, 'rest.bin'))).toBe(sha256(src.data));

    const local = join(h.dir, 'rest-down.bin');
    await writeFile(local, src.data.subarray(0, 1_000_000));
    const down = await run('curl', [...curlArgs(h, 'implicit', '/rest.bin'), '-C', '-', '-o', local]);
    expect(down.code, down.stderr).toBe(0);
    expect(await sha256File(local)).toBe(sha256(src.data));
  });

  it('REST past what is stored is refused with 554', async () => {
    const c = await RawControl.open(h.port);
    try {
      await c.login();
      await rawPassive(c);
      expectCode(await c.command('REST 999999999'), 350);
      expectCode(await c.command('STOR nothing-here.bin'), 554);
      expectCode(await c.command('REST x'), 501);
    } finally {
      c.close();
    }
  });
});
