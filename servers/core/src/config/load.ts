/**
 * Loading ferry.yaml. The rules, in the order they apply:
 *
 * 1. Source. `text` if given, else the file at `file`, else no config file at all. A file that
 *    cannot be read or parsed is FERRY_ERR_CONFIG_FILE, with line and column from the YAML parser.
 *    An empty file is a file (with no sections); its top level must otherwise be a mapping.
 * 2. Shape. One schema: the root keys (root.ts: dataDir, store.url, gracefulShutdown.loggingInterval,
 *    log.level) plus one top-level key per section, equal to its id. A key written with no value
 *    (`httpd:`) is an empty section, not an error.
 * 3. Aliases. SecureTransport names (`Ftpd.GracefulShutdownTimeout: 3600`,
 *    `GracefulShutdown.Logging.Interval: 30s`, a section's own such as `uploadChunkSize`) are
 *    top-level keys that set their canonical key, exactly as if it had been written. Alias and
 *    canonical key both set to different values (after parsing: `3600` equals `1h`) is an error
 *    naming both.
 * 4. Environment. `FERRY_<PATH>` overrides the file: segments in UPPER_SNAKE joined by `__`
 *    (`FERRY_HTTPD__PORT=8081`, `FERRY_GRACEFUL_SHUTDOWN__LOGGING_INTERVAL=5s`, `FERRY_DATA_DIR`).
 *    Only known keys have a variable; strings are coerced to numbers, booleans (true/false/1/0) or
 *    JSON (lists, maps) where the key wants one. An empty variable counts as unset.
 * 5. Components. With no config file every component section is enabled. With a file, a component
 *    runs when its section is present in the file (directly or through an alias) unless it says
 *    `enabled: false`; an env override alone does not enable one, except `FERRY_<ID>__ENABLED`.
 *    Every component section has `enabled`, `gracefulShutdownTimeout` (its own default) and
 *    `ackTimeout` (10s).
 * 6. Validation, once, against the assembled schema. Unknown keys are errors listing the keys
 *    allowed at that level (and a likely meant one). Every problem is collected into one
 *    FERRY_ERR_CONFIG_INVALID whose message has one line per problem:
 *      `<key path>[ (<source>)]: [<problem>, ]got <value as JSON>; allowed: <what is allowed>`
 *    and whose `details.issues` lists them ({ key, value, allowed, problem?, source? }).
 * 7. Result. `store.url` defaults to `sqlite:<dataDir>/ferry.db`, after env has had its say on
 *    dataDir. Durations are milliseconds, sizes bytes, port ranges `{ from, to }`. Sections'
 *    warnings go to `onWarning`. The result is deep-frozen; it is the parsed form, so pass it on
 *    (e.g. over IPC) as is and never validate it again: a duration in ms would be read as seconds.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { FerryError } from '../errors.js';
import { aliasTable, applyAliases } from './aliases.js';
import { envOverrides } from './env.js';
import { type ConfigIssue, type Sources, configInvalid, fromZodIssue, unknownKeyIssues } from './issues.js';
import { defaultStoreUrl, rootSchema } from './root.js';
import type { AnySection, FerryConfig } from './section.js';
import { objectShape } from './shape.js';
import { deepFreeze, isPlainObject, pathText, setAt } from './tree.js';

export interface LoadConfigOptions<S extends readonly AnySection[]> {
  /** Path of ferry.yaml: read unless `text` is given, and named in messages. */
  file?: string;
  /** The YAML itself (tests, stdin); `file`, if also given, only names it. */
  text?: string;
  /** Overrides; defaults to `process.env`. Tests pass `{}`. */
  env?: NodeJS.ProcessEnv;
  /** Every section this node knows; the root keys are always included. */
  sections: S;
  /** Legal but doubtful values (e.g. a tm timeout under 30 s). Default: `process.emitWarning`. */
  onWarning?: (message: string) => void;
}

function fileError(file: string, message: string, details: Record<string, unknown>, cause?: unknown): FerryError {
  return new FerryError('FERRY_ERR_CONFIG_FILE', `${file}: ${message}`, { details: { file, ...details }, cause });
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fileError(file, `cannot read the config file (${code ?? String(err)})`, { reason: code }, err);
  }
}

function parseYaml(text: string, label: string): Record<string, unknown> {
  const doc = parseDocument(text, { prettyErrors: true });
  const [error] = doc.errors;
  if (error) {
    const position = error.linePos?.[0];
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more YAML error${doc.errors.length > 2 ? 's' : ''})` : '';
    throw fileError(label, `${error.message.trimEnd()}${more}`, { line: position?.line, column: position?.col, reason: error.code }, error);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    // Unresolvable or excessive aliases (`*anchor`) fail only when the document is turned to data.
    throw fileError(label, err instanceof Error ? err.message : String(err), {}, err);
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) throw fileError(label, 'the top level must be a mapping of keys (key: value lines)', {});
  return value;
}

function assemble(sections: readonly AnySection[]) {
  const rootKeys = new Set(Object.keys(rootSchema.shape));
  const seen = new Set<string>();
  for (const { id } of sections) {
    if (rootKeys.has(id) || seen.has(id)) {
      throw new FerryError('FERRY_ERR_CONFIG_INVALID', `config section "${id}" is given twice or clashes with a root key`, { details: { key: id } });
    }
    seen.add(id);
  }
  const schema = rootSchema.extend(Object.fromEntries(sections.map((section) => [section.id, section.schema.prefault({})])));
  return { schema, topLevelKeys: new Set([...rootKeys, ...seen]) };
}

export function loadConfig<const S extends readonly AnySection[]>(options: LoadConfigOptions<S>): FerryConfig<S> {
  const { sections, file } = options;
  const env = options.env ?? process.env;
  const text = options.text ?? (file === undefined ? undefined : readText(file));
  const hasFile = text !== undefined;
  const label = file ?? (hasFile ? 'the config text' : undefined);

  const { schema, topLevelKeys } = assemble(sections);
  const raw = hasFile ? parseYaml(text, label ?? 'the config text') : {};
  const sources: Sources = new Map();
  const issues: ConfigIssue[] = [];

  // `httpd:` with nothing under it parses as null: the author meant "this section, defaults".
  for (const [key, child] of Object.entries(schema.shape)) {
    if (raw[key] === null && objectShape(child)) raw[key] = {};
  }

  const aliases = aliasTable(sections, topLevelKeys);
  issues.push(...applyAliases(raw, aliases, schema, sources));
  const present = new Set(Object.keys(raw));

  for (const override of envOverrides(schema, env)) {
    if (setAt(raw, override.path, override.value)) sources.set(pathText(override.path), `from env ${override.name}`);
  }

  for (const section of sections) {
    if (section.kind !== 'component') continue;
    const value = raw[section.id] ?? (raw[section.id] = {});
    if (isPlainObject(value) && value['enabled'] === undefined) value['enabled'] = !hasFile || present.has(section.id);
  }

  const unknown = unknownKeyIssues(raw, schema, [...aliases.keys()], sources);
  issues.push(...unknown);
  const result = schema.safeParse(raw);
  if (!result.success) {
    // A strict section repeats unknown keys reported above (with the allowed keys): keep one of each.
    const reported = new Set(unknown.map((issue) => issue.key));
    const repeated = (issue: z.core.$ZodIssue): boolean =>
      issue.code === 'unrecognized_keys' && issue.keys.every((key) => reported.has(pathText([...issue.path, key])));
    issues.push(...result.error.issues.filter((issue) => !repeated(issue)).map((issue) => fromZodIssue(issue, raw, sources)));
  }
  if (!result.success || issues.length > 0) throw configInvalid(issues, label);

  const config = result.data as Record<string, unknown> & { dataDir: string; store: { url?: string } };
  config.store.url ??= defaultStoreUrl(config.dataDir);

  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, 'FerryConfigWarning'));
  for (const section of sections) {
    const value = config[section.id] as { enabled?: boolean };
    if (section.kind === 'component' && value.enabled !== true) continue;
    for (const message of section.warnings?.(value) ?? []) warn(message);
  }
  return deepFreeze(config) as unknown as FerryConfig<S>;
}
