import type { z } from 'zod';
import { FerryError } from '../errors.js';
import type { ConfigIssue, Sources } from './issues.js';
import { ROOT_ALIASES } from './root.js';
import type { AnySection } from './section.js';
import { schemaAt } from './shape.js';
import { setAt, valueAt } from './tree.js';

/**
 * SecureTransport option names (`Ftpd.GracefulShutdownTimeout: 3600`) written as top-level keys of
 * ferry.yaml. An alias is exactly its canonical key under another name: it sets that key, and so
 * its section counts as present in the file. Setting both to different values is an error, because
 * silently preferring one would hide a config that says two things.
 */

/** Alias name → absolute key path. */
export type AliasTable = ReadonlyMap<string, readonly string[]>;

function tableError(message: string, alias: string): FerryError {
  return new FerryError('FERRY_ERR_CONFIG_INVALID', `config aliases conflict: ${message}`, { details: { key: alias } });
}

/**
 * The root aliases whose section is loaded, plus each section's own. Conflicts between definitions
 * are programming errors and throw at once.
 */
export function aliasTable(sections: readonly AnySection[], topLevelKeys: ReadonlySet<string>): AliasTable {
  const table = new Map<string, readonly string[]>();
  const add = (alias: string, path: readonly string[]): void => {
    if (topLevelKeys.has(alias)) throw tableError(`alias ${alias} is also a top-level key`, alias);
    const existing = table.get(alias);
    if (existing && existing.join('.') !== path.join('.')) {
      throw tableError(`alias ${alias} points at both ${existing.join('.')} and ${path.join('.')}`, alias);
    }
    table.set(alias, path);
  };
  for (const [alias, target] of Object.entries(ROOT_ALIASES)) {
    const path = target.split('.');
    const owner = path[0];
    if (owner !== undefined && (owner === 'gracefulShutdown' || sections.some((section) => section.id === owner))) add(alias, path);
  }
  for (const section of sections) {
    for (const [alias, target] of Object.entries(section.aliases)) add(alias, [section.id, ...target.split('.')]);
  }
  return table;
}

/** Equal as written, or equal once parsed (`3600` and `1h` are the same timeout). */
function sameValue(schema: z.core.$ZodType | undefined, a: unknown, b: unknown): boolean {
  if (JSON.stringify(a) === JSON.stringify(b)) return true;
  if (!schema) return false;
  const [left, right] = [a, b].map((value) => (schema as z.ZodType).safeParse(value));
  return Boolean(left?.success && right?.success && JSON.stringify(left.data) === JSON.stringify(right.data));
}

/**
 * Moves every alias key of `raw` (the parsed file, mutated) to its canonical path. Returns the
 * conflicts; records in `sources` which alias set which key, for error messages.
 */
export function applyAliases(raw: Record<string, unknown>, table: AliasTable, schema: z.core.$ZodType, sources: Sources): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [alias, path] of table) {
    if (!(alias in raw)) continue;
    const value = raw[alias];
    delete raw[alias];
    const key = path.join('.');
    const existing = valueAt(raw, path);
    if (existing !== undefined) {
      if (!sameValue(schemaAt(schema, path), existing, value)) {
        const other = sources.get(key)?.replace(/^as /, '') ?? key;
        issues.push({
          key,
          value: { [other]: existing, [alias]: value },
          problem: `set twice with different values, as ${other} and as ${alias}`,
          allowed: `only one of ${other} and ${alias}, or the same value in both`,
        });
      }
      continue;
    }
    if (setAt(raw, path, value)) sources.set(key, `as ${alias}`);
  }
  return issues;
}
