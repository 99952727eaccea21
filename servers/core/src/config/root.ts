import { z } from 'zod';
import { duration } from './schema.js';

/**
 * The node-wide keys of ferry.yaml, owned by core because every process reads them: the data
 * directory, the store, the drain logging interval and the log level.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const STORE_URL = /^(?:sqlite:.+|postgres(?:ql)?:\/\/.+)$/;

export const rootSchema = z.object({
  dataDir: z.string().refine((dir) => dir.trim() !== '', { message: 'empty', params: { allowed: 'a directory path, like ./data or /srv/ferry' } }).default('./data'),
  store: z
    .object({
      // Optional here only because its default depends on dataDir; the loader fills it in.
      url: z
        .string()
        .refine((url) => STORE_URL.test(url), { message: 'not a store URL', params: { allowed: 'sqlite:<file path> or postgres://user@host/db' } })
        .optional(),
    })
    .prefault({}),
  gracefulShutdown: z
    .object({
      // An interval of 0 would log in a busy loop.
      loggingInterval: duration()
        .refine((ms) => ms > 0, { message: 'must be longer than 0', params: { allowed: 'a duration above zero, like 60s' } })
        .default(60_000),
    })
    .prefault({}),
  log: z.object({ level: z.enum(LOG_LEVELS).default('info') }).prefault({}),
});

/** The root keys as code sees them: store.url is always set once loaded. */
export type RootConfig = Omit<z.output<typeof rootSchema>, 'store'> & { store: { url: string } };

export function defaultStoreUrl(dataDir: string): string {
  return `sqlite:${dataDir.replace(/\/+$/, '')}/ferry.db`;
}

/**
 * SecureTransport option names accepted as top-level keys of ferry.yaml, each mapped to its Ferry
 * key path. A component alias only applies when that component's section is loaded, so on a node
 * without PeSIT `Pesit.GracefulShutdownTimeout` is an unknown key, not a silent no-op.
 */
export const ROOT_ALIASES: Readonly<Record<string, string>> = {
  'GracefulShutdown.Logging.Interval': 'gracefulShutdown.loggingInterval',
  'Ftpd.GracefulShutdownTimeout': 'ftpd.gracefulShutdownTimeout',
  'Http.GracefulShutdownTimeout': 'httpd.gracefulShutdownTimeout',
  'As2.GracefulShutdownTimeout': 'as2d.gracefulShutdownTimeout',
  'Ssh.GracefulShutdownTimeout': 'sshd.gracefulShutdownTimeout',
  'Pesit.GracefulShutdownTimeout': 'pesitd.gracefulShutdownTimeout',
  'TransactionManager.GracefulShutdownTimeout': 'tm.gracefulShutdownTimeout',
};
