import { mkdir, open, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError, loadConfig } from '@ferry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createFolderMonitor, fileKey, folderMonitorSection, type FolderMonitorConfig } from '../src/folder-monitor/index.js';
import { eventually, intakeHarness, sleep, type IntakeHarness } from './support-intake.js';

const FAST = { stableFor: '600ms', pollInterval: '100ms' };

function config(folders: unknown[]): FolderMonitorConfig {
  return folderMonitorSection.schema.parse({ folders });
}

let harness: IntakeHarness<FolderMonitorConfig> | undefined;
async function setup(): Promise<IntakeHarness<FolderMonitorConfig>> {
  harness = await intakeHarness<FolderMonitorConfig>('folder-monitor');
  return harness;
}
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('folder monitor', () => {
  it('enqueues a file written slowly only once it is stable, exactly once', async () => {
    const h = await setup();
    const dir = join(h.dir, 'in');
    await mkdir(dir);
    // Stable only after 1.5 s: well above the pauses between writes, even on a loaded machine.
    const runtime = h.host(createFolderMonitor(), config([{ name: 'in', path: dir, ...FAST, stableFor: '1500ms' }]));
    await runtime.start();

    const file = join(dir, 'report.csv');
    const handle = await open(file, 'w');
    for (let i = 0; i < 8; i += 1) {
      await handle.write(`line ${i}\n`);
      await sleep(150);
      expect(await h.jobs(), `while writing (${i})`).toEqual([]);
    }
    await handle.close();
    const finishedAt = Date.now();
    const { size, mtime } = await stat(file);
    // The monitor reads the mtime through storage, as a Date: whole milliseconds.
    const mtimeMs = mtime.getTime();

    await eventually(async () => (await h.jobs()).length > 0, 6000);
    const [job] = await h.jobs();
    expect(Date.parse(job?.createdAt ?? '') - finishedAt).toBeGreaterThanOrEqual(1350);
    expect(job?.kind).toBe('route');
    expect(job?.payload).toEqual({ file: { account: null, path: file }, source: 'folder-monitor:in' });
    expect(job?.dedupeKey).toBe(fileKey('in', file, size, mtimeMs));
    expect(job?.dedupeKey).toBe(`folder:in:${file}:${size}:${mtimeMs}`);

    await sleep(800);
    expect(await h.jobs()).toHaveLength(1);

    // A new version of the same file is a new job.
    await writeFile(file, 'rewritten\n');
    await eventually(async () => (await h.jobs()).length === 2, 6000);
    await runtime.gracefulStop();
    expect(runtime.state).toBe('stopped');
  });

  it('ignores partial uploads, dot-files and what the pattern leaves out', async () => {
    const h = await setup();
    const flat = join(h.dir, 'flat');
    const tree = join(h.dir, 'tree');
    for (const d of [flat, join(flat, 'sub'), tree, join(tree, 'sub'), join(tree, '.hidden')]) await mkdir(d, { recursive: true });
    const files = {
      [join(flat, 'b.csv')]: 'b',
      [join(flat, '.b.csv.ferry-partial')]: 'partial',
      [join(flat, '.profile')]: 'dot',
      [join(flat, 'sub', 'deep.csv')]: 'not recursive',
      [join(tree, 'sub', 'c.csv')]: 'c',
      [join(tree, 'd.txt')]: 'not matching',
      [join(tree, 'skip-e.csv')]: 'ignored',
      [join(tree, '.hidden', 'f.csv')]: 'in a dot directory',
      [join(tree, 'sub', '.g.csv.ferry-partial')]: 'partial',
    };
    for (const [path, data] of Object.entries(files)) await writeFile(path, data);

    const runtime = h.host(
      createFolderMonitor(),
      config([
        { name: 'flat', path: flat, ...FAST },
        { name: 'tree', path: tree, pattern: '*.csv', ignore: ['skip-*'], recursive: true, ...FAST },
      ]),
    );
    await runtime.start();
    await eventually(async () => (await h.jobs()).length >= 2, 4000);
    await sleep(900);
    const paths = (await h.jobs()).map((job) => (job.payload['file'] as { path: string }).path).sort();
    expect(paths).toEqual([join(flat, 'b.csv'), join(tree, 'sub', 'c.csv')]);
  });

  it('starts with a folder that does not exist, warns, and picks it up once it appears', async () => {
    const h = await setup();
    const dir = join(h.dir, 'mnt', 'later');
    const runtime = h.host(createFolderMonitor(), config([{ name: 'later', path: dir, job: { kind: 'push', payload: { site: 'bank' } }, ...FAST }]));
    await runtime.start();
    expect(runtime.state).toBe('running');
    await eventually(() => h.lines.some((line) => line.event === 'folder.unavailable' && line['code'] === 'FERRY_ERR_NOT_FOUND'), 2000);
    expect(h.lines.filter((line) => line.event === 'folder.unavailable')).toHaveLength(1);
    expect(h.lines.find((line) => line.event === 'folder.unavailable')?.level).toBe('warn');

    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'x.bin'), 'x');
    await eventually(async () => (await h.jobs()).length === 1, 4000);
    const [job] = await h.jobs();
    expect(job?.kind).toBe('push');
    expect(job?.payload).toEqual({ site: 'bank', file: { account: null, path: join(dir, 'x.bin') } });
    expect(h.lines.some((line) => line.event === 'folder.watching')).toBe(true);
  });

  it('an account folder is a virtual path in the home; a symlink out of the home is refused', async () => {
    const h = await setup();
    const home = join(h.dir, 'homes', 'alice');
    const outside = join(h.dir, 'elsewhere');
    await mkdir(join(home, 'inbox'), { recursive: true });
    await mkdir(outside);
    await symlink(outside, join(home, 'escape'));
    await writeFile(join(outside, 'secret.txt'), 'not alice');
    await writeFile(join(home, 'inbox', 'a.txt'), 'alice');
    await h.store.accounts.create({ name: 'alice', password: 'correct horse battery', home });

    const runtime = h.host(
      createFolderMonitor(),
      config([
        { name: 'alice-in', account: 'alice', path: '/inbox', ...FAST },
        { name: 'alice-escape', account: 'alice', path: 'escape', ...FAST },
      ]),
    );
    await runtime.start();
    await eventually(async () => (await h.jobs()).length === 1, 4000);
    await sleep(800);
    const jobs = await h.jobs();
    expect(jobs.map((job) => job.payload)).toEqual([{ file: { account: 'alice', path: '/inbox/a.txt' }, source: 'folder-monitor:alice-in' }]);
    const refused = h.lines.filter((line) => line.event === 'folder.unavailable' && line['folder'] === 'alice-escape');
    expect(refused.map((line) => [line.level, line['code']])).toEqual([['error', 'FERRY_ERR_PATH_OUTSIDE_HOME']]);
    expect(runtime.state).toBe('running');
  });

  it('stops watching at once on a drain and looks again on resume', async () => {
    const h = await setup();
    const dir = join(h.dir, 'in');
    await mkdir(dir);
    const runtime = h.host(createFolderMonitor(), config([{ name: 'in', path: dir, ...FAST }]));
    await runtime.start();
    await runtime.suspend();
    expect(runtime.state).toBe('drained');
    await writeFile(join(dir, 'while-drained.txt'), 'x');
    await sleep(1000);
    expect(await h.jobs()).toEqual([]);

    runtime.resume();
    await eventually(async () => (await h.jobs()).length === 1, 4000);
    // Stopped and started again (a restart): the version already enqueued is not enqueued twice.
    await runtime.gracefulStop();
    await runtime.start();
    await sleep(1000);
    expect(await h.jobs()).toHaveLength(1);
  });
});

describe('folder monitor config', () => {
  const refusal = (yaml: string): FerryError => {
    try {
      loadConfig({ env: {}, text: yaml, sections: [folderMonitorSection] });
    } catch (err) {
      if (err instanceof FerryError) return err;
      throw err;
    }
    throw new Error('the config was accepted');
  };

  it('has defaults', () => {
    const loaded = loadConfig({ env: {}, text: 'folder-monitor:\n  folders:\n    - {name: in, path: /srv/in}\n', sections: [folderMonitorSection] });
    expect(loaded['folder-monitor'].folders).toEqual([
      { name: 'in', path: '/srv/in', pattern: '*', ignore: [], recursive: false, stableFor: 5000, pollInterval: 2000 },
    ]);
    expect(loaded['folder-monitor'].gracefulShutdownTimeout).toBe(30_000);
  });

  it('refuses an account folder that climbs out of the home, naming the key', () => {
    const err = refusal('folder-monitor:\n  folders:\n    - {name: in, account: alice, path: inbox/../../bob}\n');
    expect(err.details['key']).toBe('folder-monitor.folders[0].path');
    expect(err.message).toContain('folder-monitor.folders[0].path: leaves the home of account alice, got "inbox/../../bob"');
  });

  it('refuses a relative host folder and a bad job or duration, naming each key', () => {
    const err = refusal('folder-monitor:\n  folders:\n    - {name: in, path: relative/in}\n    - {name: out, path: /srv/in, job: {kind: teleport}, stableFor: soon}\n');
    const keys = (err.details['issues'] as { key: string }[]).map((issue) => issue.key).sort();
    expect(keys).toEqual(['folder-monitor.folders[0].path', 'folder-monitor.folders[1].job.kind', 'folder-monitor.folders[1].stableFor']);
  });

  it('refuses a folder name given twice', () => {
    const err = refusal('folder-monitor:\n  folders:\n    - {name: in, path: /srv/a}\n    - {name: in, path: /srv/b}\n');
    expect(err.details['key']).toBe('folder-monitor.folders[1].name');
    expect(err.message).toContain('the folder name "in" is already used by entry [0]');
  });
});
