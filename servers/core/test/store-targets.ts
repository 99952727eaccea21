import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { describe, it } from 'vitest';

/**
 * The two engines a store suite runs against: SQLite (a temp dir) and PostgreSQL (throw-away
 * databases named ferry_test_<random>, dropped afterwards). Without a reachable PostgreSQL the
 * PostgreSQL half is skipped with its reason in the suite name, except under CI=true, where that
 * is a failure.
 */

export const PG_ADMIN_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface Target {
  /** A new, empty database for this engine. */
  fresh(): Promise<{ url: string; dataDir: string }>;
  /** Reads the database behind the store directly, to check what the API must not show. */
  rows(url: string, query: string): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

export async function sqliteTarget(): Promise<Target> {
  const root = await mkdtemp(join(tmpdir(), 'ferry-store-'));
  let n = 0;
  return {
    fresh: async () => {
      n += 1;
      return { url: `sqlite:${join(root, `db-${n}`, 'ferry.db')}`, dataDir: join(root, `data-${n}`) };
    },
    rows: async (url, query) => {
      const raw = new SqliteDatabase(url.slice('sqlite:'.length), { readonly: true });
      try {
        return raw.prepare(query).all() as Record<string, unknown>[];
      } finally {
        raw.close();
      }
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export async function postgresTarget(): Promise<Target> {
  const runId = `ferry_test_${randomBytes(5).toString('hex')}`;
  const created: string[] = [];
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  return {
    fresh: async () => {
      const name = created.length === 0 ? runId : `${runId}_${created.length + 1}`;
      await admin.query(`CREATE DATABASE "${name}"`);
      created.push(name);
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${name}`;
      return { url: url.toString(), dataDir: tmpdir() };
    },
    rows: async (url, query) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(query)).rows as Record<string, unknown>[];
      } finally {
        await client.end();
      }
    },
    cleanup: async () => {
      try {
        for (const name of created) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** Undefined when PostgreSQL answers, else why not. */
export async function postgresUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL unreachable at ${PG_ADMIN_URL}: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `suite` once per engine. */
export async function forEachEngine(name: string, suite: (engine: string, target: () => Promise<Target>) => void): Promise<void> {
  suite('sqlite', sqliteTarget);
  const postgresMissing = await postgresUnavailable();
  if (postgresMissing === undefined) {
    suite('postgres', postgresTarget);
  } else if (process.env.CI === 'true') {
    describe(`${name} on postgres`, () => {
      it('needs a reachable PostgreSQL in CI', () => {
        throw new Error(postgresMissing);
      });
    });
  } else {
    console.warn(`[${name}] skipping the PostgreSQL suite: ${postgresMissing}`);
    describe.skip(`${name} on postgres — skipped: ${postgresMissing}`, () => {
      it('runs the suite against PostgreSQL', () => undefined);
    });
  }
}
