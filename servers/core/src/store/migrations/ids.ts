import type { CreateTableBuilder } from 'kysely';
import type { StoreEngine } from '../types.js';

/** Adds an auto-increment primary key, spelled the way the engine wants it. */
export type WithId = <T extends string>(table: CreateTableBuilder<T, never>, column?: string, wide?: boolean) => CreateTableBuilder<T, never>;

/**
 * The only engine difference in the migrations is how an auto-increment key is spelled (SQLite
 * `integer primary key autoincrement`, PostgreSQL `serial`/`bigserial`). AUTOINCREMENT is there so
 * that SQLite, like PostgreSQL, never hands a deleted id (say, a revoked admin token's) to a new row.
 */
export function withIdFor(engine: StoreEngine): WithId {
  return (table, column = 'id', wide = false) =>
    (engine === 'postgres'
      ? table.addColumn(column, wide ? 'bigserial' : 'serial', (col) => col.primaryKey())
      : table.addColumn(column, 'integer', (col) => col.primaryKey().autoIncrement())) as never;
}
