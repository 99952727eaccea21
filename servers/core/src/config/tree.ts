/** Small helpers for the plain data tree parsed from YAML, before and after validation. */

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `httpd.gracefulShutdownTimeout`, `ftpd.users[2].name`. */
export function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    return text === '' ? String(key) : `${text}.${String(key)}`;
  }, '');
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * Sets a value, creating missing mappings on the way. Returns false when something on the way is
 * not a mapping (`httpd: 8080`): validation then reports that key, so nothing is lost silently.
 */
export function setAt(root: Record<string, unknown>, path: readonly string[], value: unknown): boolean {
  let parent = root;
  for (const segment of path.slice(0, -1)) {
    const child = parent[segment] ?? (parent[segment] = {});
    if (!isPlainObject(child)) return false;
    parent = child;
  }
  const last = path[path.length - 1];
  if (last === undefined) return false;
  parent[last] = value;
  return true;
}

/** Freezes every object and array reachable from `value`; returns it, typed as given. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
