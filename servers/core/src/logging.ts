import { fstatSync } from 'node:fs';
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values never reach a log line, wherever they appear (up to REDACT_DEPTH levels down). */
const SECRET_KEYS: ReadonlySet<string> = new Set(['password', 'token', 'authorization', 'secret']);
const CENSOR = '[redacted]';
/** Deep enough for `req.headers.authorization` inside a logged object; deeper values are not looked at. */
const REDACT_DEPTH = 4;
/** Arrays longer than this are copied (and redacted) without being scanned first. */
const SCAN_ITEMS = 64;

/*
 * Why not pino's own `redact` option: with a wildcard path (`*.password`) every key of every
 * line goes through a redactor that copies the value first, for a line per transfer on a busy
 * node the largest allocation of its hot path (a 1000-file upload: about a tenth of all it
 * allocated). Here a line is scanned, and copied only when it does hold a secret.
 */

function isScanned(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value);
}

/** Whether `value` holds a secret key, `depth` levels below the line itself. */
function holdsSecret(value: object, depth: number): boolean {
  if (Array.isArray(value)) {
    if (value.length > SCAN_ITEMS) return true;
    return depth < REDACT_DEPTH && value.some((item) => isScanned(item) && holdsSecret(item, depth + 1));
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const child = record[key];
    if (child === undefined) continue;
    if (SECRET_KEYS.has(key)) return true;
    if (depth < REDACT_DEPTH && isScanned(child) && holdsSecret(child, depth + 1)) return true;
  }
  return false;
}

/** A copy of `value` with every secret censored; an Error stays an Error of its class (for pino's err serializer). */
function censored(value: object, depth: number): unknown {
  if (Array.isArray(value)) return value.map((item: unknown) => censoredChild(item, depth));
  const source = value as Record<string, unknown>;
  const isError = value instanceof Error;
  const copy = (isError ? Object.create(Object.getPrototypeOf(value) as object) : {}) as Record<string, unknown>;
  // An error's message and stack are its own but not enumerable.
  for (const key of isError ? Object.getOwnPropertyNames(value) : Object.keys(value)) {
    const child = source[key];
    copy[key] = SECRET_KEYS.has(key) && child !== undefined ? CENSOR : censoredChild(child, depth);
  }
  return copy;
}

function censoredChild(child: unknown, depth: number): unknown {
  return depth < REDACT_DEPTH && isScanned(child) ? censored(child, depth + 1) : child;
}

/** The logged object itself when it holds no secret (the usual case: nothing is copied). */
export function redactSecrets<T extends object>(fields: T): T {
  return holdsSecret(fields, 0) ? (censored(fields, 0) as T) : fields;
}

export interface LoggerOptions {
  component: string;
  level?: string;
  destination?: DestinationStream;
}

/**
 * Whether lines go to `fd` with a plain write() on the event loop, as Node itself writes
 * process.stdout: yes for a regular file or a terminal (or /dev/null), whose writes do not wait
 * on a reader; no for a pipe or a socket, whose reader may fall behind (a sync write would then
 * hold up every session). An asynchronous line costs a thread-pool round trip: a pool thread
 * woken, and the event loop woken again for its completion, per line when lines come one at a
 * time (a transfer's end, many small files).
 */
export function writesWithoutWaiting(fd: number): boolean {
  try {
    const stats = fstatSync(fd);
    return stats.isFile() || stats.isCharacterDevice();
  } catch {
    return false;
  }
}

/** One JSON line per event on stdout, each carrying the component id. */
export function createLogger(options: LoggerOptions): Logger {
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { component: options.component, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), bindings: redactSecrets, log: redactSecrets },
    },
    options.destination ?? pino.destination({ dest: 1, sync: writesWithoutWaiting(1) }),
  );
  // pino formats a child's bindings once, when the child is made, without the bindings formatter;
  // children inherit this method from the root, so theirs are censored too.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, redactSecrets(bindings), childOptions);
  } as typeof logger.child;
  return logger;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return 'unknown';
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
