import type { z } from 'zod';
import { FerryError } from '../errors.js';
import { ROOT_ALIASES } from './root.js';
import { acceptsOtherKeys, childSchema, objectShape } from './shape.js';
import { isPlainObject, pathText, valueAt } from './tree.js';

/**
 * Config problems as people read them: the full key path, the value given, and what is allowed.
 * Every problem found in one load is reported together, in one FerryError.
 */

export interface ConfigIssue {
  /** Full key path, e.g. `httpd.gracefulShutdownTimeout`. */
  key: string;
  /** The value given (undefined when missing). */
  value: unknown;
  /** What would be accepted, in words. */
  allowed: string;
  /** What is wrong, when "got X; allowed Y" does not say it alone. */
  problem?: string;
  /** Where the value came from when not the file's own key: `from env FERRY_HTTPD__PORT`, `as Ftpd.GracefulShutdownTimeout`. */
  source?: string;
}

/** Where values that did not come from the file's canonical keys came from, by key path text. */
export type Sources = Map<string, string>;

/** The source of a key or of the nearest enclosing key that has one (an env var may set a whole list). */
function sourceOf(sources: Sources, path: readonly PropertyKey[]): string | undefined {
  for (let length = path.length; length > 0; length -= 1) {
    const source = sources.get(pathText(path.slice(0, length)));
    if (source) return source;
  }
  return undefined;
}

function withSource(issue: ConfigIssue, sources: Sources, path: readonly PropertyKey[]): ConfigIssue {
  const source = sourceOf(sources, path);
  return source ? { ...issue, source } : issue;
}

// ---- unknown keys -------------------------------------------------------------------------------

/** Edits between two keys, a swap of neighbours ("nmae") counting as one (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i += 1) {
    const row = rows[i] ?? [];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  // Up to one edit in four characters, at most three: typos and wrong case, not a different name
  // that shares a long suffix (Pesit.GracefulShutdownTimeout is not a typo of Ftpd.…).
  // And never a full rewrite of a short key ("b" is not a typo of "a").
  if (!best || best.distance >= Math.min(key.length, best.candidate.length)) return undefined;
  return best.distance <= Math.min(3, Math.max(1, Math.floor(key.length / 4))) ? best.candidate : undefined;
}

/**
 * Keys the schema does not know, at any depth zod can tell (objects, list elements, map values).
 * Done here rather than with strict zod objects so the message can list the keys allowed at that
 * level, and so a section written with plain `z.object` gets the same check.
 */
export function unknownKeyIssues(raw: unknown, schema: z.core.$ZodType, rootAliases: readonly string[], sources: Sources): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const walk = (value: unknown, node: z.core.$ZodType, path: (string | number)[]): void => {
    const shape = objectShape(node);
    if (shape && isPlainObject(value)) {
      const known = Object.keys(shape);
      const aliases = path.length === 0 ? rootAliases : [];
      for (const [key, child] of Object.entries(value)) {
        const childNode = shape[key];
        if (childNode) {
          walk(child, childNode, [...path, key]);
          continue;
        }
        if (acceptsOtherKeys(node)) continue;
        const suggestion = closest(key, [...known, ...aliases]);
        const where = path.length === 0 ? 'at the top level' : `in ${pathText(path)}`;
        // A SecureTransport name for a component this node does not load deserves a straight answer.
        const target = path.length === 0 ? ROOT_ALIASES[key] : undefined;
        const problem = target
          ? `unknown key (the alias of ${target}, and this node has no ${target.split('.')[0] ?? ''} component)`
          : `unknown key${suggestion ? ` (did you mean ${suggestion}?)` : ''}`;
        issues.push(
          withSource(
            {
              key: pathText([...path, key]),
              value: child,
              problem,
              allowed: `the keys ${where}: ${known.join(', ')}${aliases.length > 0 ? `, or the aliases ${aliases.join(', ')}` : ''}`,
            },
            sources,
            [...path, key],
          ),
        );
      }
      return;
    }
    if (Array.isArray(value) || isPlainObject(value)) {
      for (const [key, child] of Object.entries(value)) {
        const index = Array.isArray(value) ? Number(key) : key;
        const childNode = childSchema(node, index);
        if (childNode) walk(child, childNode, [...path, index]);
      }
    }
  };
  walk(raw, schema, []);
  return issues;
}

// ---- zod issues ---------------------------------------------------------------------------------

const TYPE_WORDS: Readonly<Record<string, string>> = {
  number: 'a number',
  int: 'a whole number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping (key: value lines)',
  array: 'a list',
  record: 'a mapping (key: value lines)',
};

function listValues(values: readonly unknown[]): string {
  return values.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))).join(', ');
}

function bound(issue: { origin: string; inclusive?: boolean }, limit: unknown, above: boolean): string {
  const inclusive = issue.inclusive !== false;
  if (issue.origin === 'string') return `text of ${above ? 'at most' : 'at least'} ${String(limit)} characters`;
  if (issue.origin === 'array' || issue.origin === 'set') return `a list of ${above ? 'at most' : 'at least'} ${String(limit)} items`;
  const word = above ? (inclusive ? 'at most' : 'below') : inclusive ? 'at least' : 'above';
  return `a number ${word} ${String(limit)}`;
}

/** "What is allowed", in words, for one zod issue. */
function allowedFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'custom': {
      const allowed = issue.params?.['allowed'];
      return typeof allowed === 'string' ? allowed : issue.message;
    }
    case 'invalid_type':
      return TYPE_WORDS[issue.expected] ?? `a ${issue.expected}`;
    case 'invalid_value':
      return issue.values.length === 1 ? listValues(issue.values) : `one of: ${listValues(issue.values)}`;
    case 'too_big':
      return bound(issue, issue.maximum, true);
    case 'too_small':
      return bound(issue, issue.minimum, false);
    case 'not_multiple_of':
      return `a multiple of ${String(issue.divisor)}`;
    case 'invalid_format':
      return issue.format === 'regex' && 'pattern' in issue ? `text matching ${String(issue.pattern)}` : `a valid ${issue.format}`;
    case 'invalid_union': {
      const branches = [...new Set(issue.errors.flatMap((branch) => (branch[0] ? [allowedFor(branch[0])] : [])))];
      return branches.length > 0 ? branches.join(' or ') : issue.message;
    }
    default:
      return issue.message;
  }
}

/** One zod issue in our terms; the value is read from the raw input the loader validated. */
export function fromZodIssue(issue: z.core.$ZodIssue, raw: unknown, sources: Sources): ConfigIssue {
  const value = valueAt(raw, issue.path);
  const allowed = allowedFor(issue);
  const problem = value === undefined ? 'missing' : issue.code === 'custom' && issue.message !== allowed ? issue.message : undefined;
  return withSource({ key: pathText(issue.path), value, allowed, ...(problem ? { problem } : {}) }, sources, issue.path);
}

// ---- the error ----------------------------------------------------------------------------------

/** Never echo a password: `postgres://user:secret@host` → `postgres://user:***@host`. */
function redact(text: string): string {
  return text.replace(/(\/\/[^/:@\s]*:)[^@/\s]*@/g, '$1***@');
}

function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = redact(JSON.stringify(value) ?? String(value));
  return json.length > 120 ? `${json.slice(0, 117)}...` : json;
}

/** One line per issue: `<key>[ (<source>)]: [<problem>, ]got <value as JSON>; allowed: <allowed>`. */
export function issueLine(issue: ConfigIssue): string {
  const source = issue.source ? ` (${issue.source})` : '';
  const problem = issue.problem ? `${issue.problem}, ` : '';
  return `${issue.key}${source}: ${problem}got ${shown(issue.value)}; allowed: ${issue.allowed}`;
}

/**
 * The one error for an invalid config. `details.issues` lists every problem; `details.key`, `value`
 * and `allowed` repeat the first, for callers that only show one.
 */
export function configInvalid(issues: readonly ConfigIssue[], file: string | undefined): FerryError {
  const where = file ? ` in ${file}` : '';
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const message = [`invalid configuration${where} (${count}):`, ...issues.map((issue) => `  - ${issueLine(issue)}`)].join('\n');
  const safeIssues = issues.map((issue) => ({ ...issue, value: redactValue(issue.value) }));
  const first = safeIssues[0];
  return new FerryError('FERRY_ERR_CONFIG_INVALID', message, {
    details: { ...(file ? { file } : {}), ...(first ? { key: first.key, value: first.value, allowed: first.allowed } : {}), issues: safeIssues },
  });
}

function redactValue(value: unknown): unknown {
  return typeof value === 'string' ? redact(value) : value;
}
