import type { z } from 'zod';
import { FerryError } from '../errors.js';
import { inputKinds, leafPaths, schemaAt } from './shape.js';

/**
 * Environment overrides. The name of a key's variable is `FERRY_` + its path segments in
 * UPPER_SNAKE joined by `__`: `httpd.port` → `FERRY_HTTPD__PORT`, `dataDir` → `FERRY_DATA_DIR`,
 * `folder-monitor.enabled` → `FERRY_FOLDER_MONITOR__ENABLED`. The names are built from the schema's
 * known keys, so other `FERRY_*` variables (`FERRY_CONFIG`, ...) are never mistaken for config.
 */

export interface EnvOverride {
  name: string;
  path: readonly string[];
  value: unknown;
}

function upperSnake(segment: string): string {
  return segment
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toUpperCase();
}

export function envName(path: readonly string[]): string {
  return `FERRY_${path.map(upperSnake).join('__')}`;
}

/** Every variable name the schema answers to, → its key path. */
export function envNames(schema: z.core.$ZodType): Map<string, readonly string[]> {
  const names = new Map<string, readonly string[]>();
  for (const path of leafPaths(schema)) {
    const name = envName(path);
    const clash = names.get(name);
    if (clash) {
      throw new FerryError('FERRY_ERR_CONFIG_INVALID', `config keys ${clash.join('.')} and ${path.join('.')} would share the variable ${name}`, {
        details: { key: path.join('.') },
      });
    }
    names.set(name, path);
  }
  return names;
}

const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/**
 * Env values are strings; give the schema what it wants where the text is unambiguous. Anything
 * that does not coerce is passed on as the string, so validation reports it with the key and value.
 */
function coerce(text: string, kinds: ReadonlySet<string>): unknown {
  if (kinds.has('string')) return text;
  if (kinds.has('number') && NUMBER_TEXT.test(text.trim())) return Number(text);
  if (kinds.has('boolean')) {
    const word = text.trim().toLowerCase();
    if (word === 'true' || word === '1') return true;
    if (word === 'false' || word === '0') return false;
  }
  if (kinds.has('json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * The overrides present in `env`, coerced. An empty variable counts as unset: shells and compose
 * files export empty values for "not given" more often than anyone means an empty setting.
 */
export function envOverrides(schema: z.core.$ZodType, env: NodeJS.ProcessEnv): EnvOverride[] {
  const overrides: EnvOverride[] = [];
  for (const [name, path] of envNames(schema)) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const leaf = schemaAt(schema, path);
    overrides.push({ name, path, value: leaf ? coerce(text, inputKinds(leaf)) : text });
  }
  return overrides;
}
