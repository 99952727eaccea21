import { FerryError } from '../errors.js';

/**
 * Runs one store operation and turns whatever the driver throws into FERRY_ERR_STORE, so that
 * callers only ever see typed errors. FerryErrors raised on purpose pass through unchanged.
 */
export async function storeCall<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw asStoreError(operation, err);
  }
}

export function asStoreError(operation: string, err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new FerryError('FERRY_ERR_STORE', `store: ${operation} failed: ${reason}`, {
    cause: err,
    details: { operation, ...(driverCode(err) === undefined ? {} : { driverCode: driverCode(err) }) },
  });
}

/** A unique or primary-key constraint was hit (SQLite via better-sqlite3, or PostgreSQL 23505). */
export function isUniqueViolation(err: unknown): boolean {
  const code = driverCode(err);
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** Another connection (often another process) holds the SQLite lock. */
export function isSqliteBusy(err: unknown): boolean {
  const code = driverCode(err);
  return code !== undefined && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

function driverCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
