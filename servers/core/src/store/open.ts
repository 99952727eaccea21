import { isAbsolute, resolve } from 'node:path';
import type { Kysely } from 'kysely';
import { FerryError } from '../errors.js';
import { accountStore } from './accounts.js';
import { adminTokenStore, adminUserStore } from './admin.js';
import { as2Store } from './as2.js';
import { as2PartnerStore } from './as2-partners.js';
import { jobStore } from './jobs.js';
import { scheduleStore } from './schedules.js';
import { shutdownReportStore } from './shutdown-reports.js';
import { eventStore } from './events.js';
import { historyStore } from './history.js';
import { openPostgres } from './postgres.js';
import type { Database } from './schema.js';
import { MEMORY, openSqlite } from './sqlite.js';
import type { Store, StoreEngine, StoreOptions } from './types.js';

/** Where the store lives, decoded from `store.url`. */
export type StoreLocation = { engine: 'sqlite'; file: string } | { engine: 'postgres'; url: string; shownUrl: string };

export const DEFAULT_SQLITE_FILE = 'ferry.db';
const ALLOWED = ['sqlite:<path>', 'sqlite::memory:', 'postgres://user@host[:port]/database', 'postgresql://…'];

/** Opens the store and brings its schema up to date; every process of a node may do so at once. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const location = parseStoreUrl(options.url, options.dataDir);
  const db = location.engine === 'sqlite' ? await openSqlite(location.file) : await openPostgres(location.url, location.shownUrl);
  return storeOver(db, location.engine);
}

function storeOver(db: Kysely<Database>, engine: StoreEngine): Store {
  let closing: Promise<void> | undefined;
  return {
    engine,
    accounts: accountStore(db),
    adminTokens: adminTokenStore(db),
    adminUsers: adminUserStore(db),
    history: historyStore(db),
    events: eventStore(db),
    as2: as2Store(db),
    as2Partners: as2PartnerStore(db),
    jobs: jobStore(db, engine),
    schedules: scheduleStore(db),
    shutdownReports: shutdownReportStore(db),
    close: () => (closing ??= db.destroy()),
  };
}

export function parseStoreUrl(url: string, dataDir: string): StoreLocation {
  const trimmed = url.trim();
  if (trimmed === '') return { engine: 'sqlite', file: resolve(dataDir, DEFAULT_SQLITE_FILE) };
  if (trimmed === `sqlite:${MEMORY}`) return { engine: 'sqlite', file: MEMORY };
  if (trimmed.startsWith('sqlite:')) {
    const path = trimmed.slice('sqlite:'.length);
    // `sqlite://x` means a relative path to some tools and a host to others: refuse to guess.
    if (path === '' || path.startsWith('//')) throw invalidUrl(url, 'an SQLite url is sqlite: followed by a file path');
    return { engine: 'sqlite', file: isAbsolute(path) ? path : resolve(process.cwd(), path) };
  }
  if (/^postgres(ql)?:\/\//.test(trimmed)) {
    let parsed: URL;
    try {
      parsed = new URL(trimmed);
    } catch {
      throw invalidUrl(url, 'the PostgreSQL url does not parse');
    }
    if (parsed.hostname === '' && !parsed.searchParams.has('host')) throw invalidUrl(url, 'the PostgreSQL url names no host');
    return { engine: 'postgres', url: trimmed, shownUrl: redact(trimmed) };
  }
  throw invalidUrl(url, 'unknown scheme');
}

function invalidUrl(url: string, why: string): FerryError {
  const shown = redact(url);
  return new FerryError('FERRY_ERR_CONFIG_INVALID', `store.url "${shown}" is not allowed (${why}); allowed: ${ALLOWED.join(', ')}`, {
    details: { key: 'store.url', value: shown, allowed: ALLOWED },
  });
}

/** Store urls may carry a password; messages and logs get the url without it. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
