import { posix } from 'node:path';

/**
 * Name patterns of rename, copy, move and push: text with placeholders filled in from the file and
 * the job. A pattern ending in `/` is a directory: the file keeps its name there. A relative result
 * is relative to the file's own directory.
 */
export const NAME_PLACEHOLDERS = ['name', 'base', 'ext', 'dir', 'account', 'date', 'time', 'timestamp', 'job'] as const;
type Placeholder = (typeof NAME_PLACEHOLDERS)[number];

const PLACEHOLDER = /\{([^{}]*)\}/g;

export function unknownPlaceholders(pattern: string): string[] {
  return [...pattern.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '').filter((name) => !(NAME_PLACEHOLDERS as readonly string[]).includes(name));
}

export interface NamingInput {
  /** Virtual path of the file, e.g. `/in/a.csv`. */
  path: string;
  account: string | null;
  /** The root job of this routing, so a name made twice by a re-run is the same name. */
  jobId: number;
  /** When the routing began (not when this step runs, for the same reason). */
  at: Date;
}

export function placeholderValues(input: NamingInput): Record<Placeholder, string> {
  const name = posix.basename(input.path);
  const ext = posix.extname(name);
  const iso = input.at.toISOString();
  return {
    name,
    base: ext === '' ? name : name.slice(0, -ext.length),
    ext,
    dir: posix.dirname(input.path),
    account: input.account ?? '',
    date: iso.slice(0, 10).replaceAll('-', ''),
    time: iso.slice(11, 19).replaceAll(':', ''),
    timestamp: iso.replaceAll(/[-:]/g, '').replace(/\.\d+Z$/, 'Z'),
    job: String(input.jobId),
  };
}

/**
 * Fills the placeholders of `text`. One that is not a placeholder name stays as written (a command
 * argument may hold braces of its own); name patterns never have one, the config refuses them.
 */
export function fillPlaceholders(text: string, input: NamingInput): string {
  const values: Readonly<Record<string, string>> = placeholderValues(input);
  return text.replace(PLACEHOLDER, (whole, key: string) => values[key] ?? whole);
}

/** The target path a pattern names for this file (normalized, absolute). */
export function applyPattern(pattern: string, input: NamingInput): string {
  let filled = fillPlaceholders(pattern, input);
  if (filled.endsWith('/')) filled += posix.basename(input.path);
  const absolute = filled.startsWith('/') ? filled : posix.join(posix.dirname(input.path), filled);
  return posix.normalize(absolute);
}
