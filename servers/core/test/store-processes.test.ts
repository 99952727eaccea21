import { fork } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/index.js';

/**
 * The supervisor and every forked daemon open the same SQLite file, usually at the same moment. This
 * starts real processes on one new file: each opens the store (so each may try to switch it to WAL
 * and to migrate it), then writes. The children run the store compiled from the sources with the
 * TypeScript compiler, since a plain `node` child cannot load .ts files.
 */

const here = dirname(fileURLToPath(import.meta.url));
const coreSrc = join(here, '..', 'src');
const repoModules = join(here, '..', '..', '..', 'node_modules');

const CHILDREN = 5;
const RECORDS_PER_CHILD = 40;

let work: string;

async function compileStore(into: string): Promise<void> {
  const store = await readdir(join(coreSrc, 'store'), { recursive: true });
  const sources = ['errors.ts', ...store.filter((f) => f.endsWith('.ts')).map((f) => join('store', f))];
  for (const source of sources) {
    const { outputText } = ts.transpileModule(await readFile(join(coreSrc, source), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: source,
    });
    const out = join(into, source.replace(/\.ts$/, '.js'));
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, outputText);
  }
}

const CHILD = `
import { openStore } from './src/store/index.js';
const [url, index, startAt, records] = process.argv.slice(2);
// Line the children up so that they open the file in the same few milliseconds.
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const store = await openStore({ url, dataDir: '.' });
await store.accounts.create({ name: 'proc' + index, password: 'pw' + index, home: '/h/' + index });
for (let i = 0; i < Number(records); i++) {
  await store.history.record({
    id: 'p' + index + '-' + i, component: 'proc' + index, protocol: 'ftp', account: 'proc' + index,
    remoteAddress: null, path: '/f' + i, direction: 'upload', bytes: i, size: i, outcome: 'completed',
    reason: null, startedAt: new Date().toISOString(), endedAt: new Date().toISOString(),
  });
}
await store.events.record({ component: 'proc' + index, event: 'state:running' });
await store.close();
`;

function runChild(script: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = fork(script, args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('SQLite store shared by several processes', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ferry-store-procs-'));
    await compileStore(join(work, 'src'));
    await writeFile(join(work, 'package.json'), JSON.stringify({ type: 'module' }));
    await writeFile(join(work, 'child.mjs'), CHILD);
    // The compiled store resolves kysely, better-sqlite3 and pg from the repository's install.
    await symlink(repoModules, join(work, 'node_modules'), 'dir');
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('opens, migrates and writes a new file from several processes at once', async () => {
    const url = `sqlite:${join(work, 'data', 'ferry.db')}`;
    const startAt = String(Date.now() + 1500);
    const results = await Promise.all(
      Array.from({ length: CHILDREN }, (_, i) => runChild(join(work, 'child.mjs'), [url, String(i), startAt, String(RECORDS_PER_CHILD)])),
    );
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0 });

    const store = await openStore({ url, dataDir: work });
    try {
      expect((await store.accounts.list()).map((a) => a.name)).toEqual(Array.from({ length: CHILDREN }, (_, i) => `proc${i}`));
      for (let i = 0; i < CHILDREN; i++) {
        expect((await store.accounts.verifyPassword(`proc${i}`, `pw${i}`))?.name).toBe(`proc${i}`);
        expect(await store.history.list({ component: `proc${i}`, limit: 1000 })).toHaveLength(RECORDS_PER_CHILD);
      }
      expect(await store.events.list({ limit: 1000 })).toHaveLength(CHILDREN);
    } finally {
      await store.close();
    }
  });
});
