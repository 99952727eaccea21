import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import ssh2 from 'ssh2';
import type { ConnectConfig, FileEntryWithStats, SFTPWrapper, Stats } from 'ssh2';
import { abortable, SiteContext, temporaryName } from './remote-error.js';
import type { SiteConfig } from './site-config.js';
import type { MoveOptions, OutboundClient, RemoteEntry } from './types.js';

/**
 * SFTP sites, over ssh2 (the only file importing it). Transfers are pipelined: many READ/WRITE
 * requests in flight (ssh2's fastPut/fastGet), sized by what the server advertises through
 * limits@openssh.com, on a socket with Nagle off. The server's host key must match the site's
 * `hostKey` fingerprint unless the site says `hostKey: any`.
 */

/** Requests in flight; with 255 KiB requests that is 8 MiB, enough for a fast LAN at a few ms of RTT. */
const CONCURRENCY = 32;
/** Below limits@openssh.com, what every server accepts. */
const FALLBACK_IO_SIZE = 32 * 1024;
const MAX_IO_SIZE = 255 * 1024;

const SSH_FX_NO_SUCH_FILE = 2;
const SSH_FX_PERMISSION_DENIED = 3;

/** `SHA256:…` of a raw host key, as OpenSSH prints it. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

interface SftpInternals {
  _maxWriteLen?: number;
  _maxReadLen?: number;
  _extensions?: Record<string, string>;
}

export async function connectSftp(site: SiteConfig, name: string, opts: { signal: AbortSignal }): Promise<OutboundClient> {
  const ctx = new SiteContext(site, name);
  const what = `connect as ${site.user ?? '?'}`;
  const privateKey = site.privateKey === undefined ? undefined : await readFile(site.privateKey).catch((err: unknown) => {
    throw ctx.error('FERRY_ERR_CONFIG_INVALID', what, `cannot read privateKey ${site.privateKey}: ${ctx.reasonOf(err)}`);
  });
  const client = new ssh2.Client();
  let offered: string | undefined;
  const config: ConnectConfig = {
    host: site.host,
    port: site.port,
    username: site.user,
    ...(site.password !== undefined ? { password: site.password } : {}),
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(site.passphrase !== undefined ? { passphrase: site.passphrase } : {}),
    readyTimeout: site.timeout,
    keepaliveInterval: Math.max(1000, Math.floor(site.timeout / 3)),
    keepaliveCountMax: 3,
    tryKeyboard: false,
    hostVerifier: (key: Buffer) => {
      offered = hostKeyFingerprint(key);
      return site.hostKey === 'any' || offered === site.hostKey;
    },
  };
  const sftp = await abortable(ctx, what, opts.signal, () => client.destroy(), () =>
    new Promise<SFTPWrapper>((resolve, reject) => {
      const fail = (err: Error & { level?: string }): void => {
        client.destroy();
        if (offered !== undefined && site.hostKey !== 'any' && offered !== site.hostKey) {
          reject(ctx.error('FERRY_ERR_AUTH_FAILED', what, `the server's host key ${offered} is not the configured hostKey ${site.hostKey ?? '(none)'}; refused`, { details: { hostKey: offered } }));
        } else if (err.level === 'client-authentication') {
          reject(ctx.error('FERRY_ERR_AUTH_FAILED', what, `authentication refused (${site.password !== undefined ? 'password' : 'key'})`, { cause: err }));
        } else if (err.level === 'client-timeout') {
          reject(ctx.error('FERRY_ERR_REMOTE', what, `no SSH handshake within ${site.timeout} ms`, { cause: err }));
        } else {
          reject(ctx.wrap(err, what));
        }
      };
      client.once('error', fail);
      client.once('ready', () => {
        client.sftp((err, wrapper) => {
          client.off('error', fail);
          // Later errors (a cut connection) surface through the pending request they fail.
          client.on('error', () => undefined);
          if (err) {
            client.destroy();
            reject(ctx.wrap(err, 'open the SFTP subsystem'));
          } else resolve(wrapper);
        });
      });
      client.connect(config);
      client.setNoDelay(true);
    }),
  );
  return new SftpClient(ctx, client, sftp);
}

class SftpClient implements OutboundClient {
  readonly #ctx: SiteContext;
  readonly #client: InstanceType<typeof ssh2.Client>;
  readonly #sftp: SFTPWrapper;
  #closed = false;

  constructor(ctx: SiteContext, client: InstanceType<typeof ssh2.Client>, sftp: SFTPWrapper) {
    this.#ctx = ctx;
    this.#client = client;
    this.#sftp = sftp;
  }

  get #internals(): SftpInternals {
    return this.#sftp as unknown as SftpInternals;
  }

  #ioSize(which: '_maxWriteLen' | '_maxReadLen'): number {
    const advertised = this.#internals[which];
    return Math.min(MAX_IO_SIZE, advertised !== undefined && advertised > 0 ? advertised : FALLBACK_IO_SIZE);
  }

  #cut(): void {
    this.#closed = true;
    this.#client.destroy();
  }

  async push(localFile: string, remotePath: string, opts: MoveOptions): Promise<{ bytes: number }> {
    const final = this.#ctx.resolve(remotePath);
    const temporary = temporaryName(final);
    const what = `push ${localFile} to ${final}`;
    return abortable(this.#ctx, what, opts.signal, () => this.#cut(), async () => {
      const { size } = await stat(localFile);
      const put = (): Promise<void> =>
        new Promise((resolve, reject) => {
          this.#sftp.fastPut(
            localFile,
            temporary,
            { concurrency: CONCURRENCY, chunkSize: this.#ioSize('_maxWriteLen'), step: (total) => opts.onProgress(total) },
            (err) => (err ? reject(err) : resolve()),
          );
        });
      try {
        await put();
      } catch (err) {
        if (sftpCode(err) !== SSH_FX_NO_SUCH_FILE) throw this.#error(err, what);
        // The remote directory is missing: make it, then once more.
        await this.#mkdirs(posix.dirname(final));
        await put().catch((again: unknown) => {
          throw this.#error(again, what);
        });
      }
      opts.onProgress(size);
      await this.#replace(temporary, final, what);
      return { bytes: size };
    });
  }

  /** Renames over the final name: posix-rename@openssh.com when offered, else remove + rename. */
  async #replace(from: string, to: string, what: string): Promise<void> {
    if (this.#internals._extensions?.['posix-rename@openssh.com'] !== undefined) {
      await call<void>((cb) => this.#sftp.ext_openssh_rename(from, to, cb)).catch((err: unknown) => {
        throw this.#error(err, `${what}: rename ${from} to ${to}`);
      });
      return;
    }
    await call<void>((cb) => this.#sftp.unlink(to, cb)).catch((err: unknown) => {
      if (sftpCode(err) !== SSH_FX_NO_SUCH_FILE) throw this.#error(err, `${what}: remove the previous ${to}`);
    });
    await call<void>((cb) => this.#sftp.rename(from, to, cb)).catch((err: unknown) => {
      throw this.#error(err, `${what}: rename ${from} to ${to}`);
    });
  }

  async #mkdirs(dir: string): Promise<void> {
    if (dir === '/' || dir === '.' || dir === '') return;
    const exists = await call<Stats>((cb) => this.#sftp.stat(dir, cb)).then(
      () => true,
      () => false,
    );
    if (exists) return;
    await this.#mkdirs(posix.dirname(dir));
    await call<void>((cb) => this.#sftp.mkdir(dir, cb)).catch(async (err: unknown) => {
      // Made meanwhile by someone else is fine.
      const now = await call<Stats>((cb) => this.#sftp.stat(dir, cb)).catch(() => undefined);
      if (!now?.isDirectory()) throw this.#error(err, `make the directory ${dir}`);
    });
  }

  async pull(remotePath: string, localFile: string, opts: MoveOptions): Promise<{ bytes: number }> {
    const source = this.#ctx.resolve(remotePath);
    const what = `pull ${source} to ${localFile}`;
    return abortable(this.#ctx, what, opts.signal, () => this.#cut(), async () => {
      await new Promise<void>((resolve, reject) => {
        this.#sftp.fastGet(
          source,
          localFile,
          { concurrency: CONCURRENCY, chunkSize: this.#ioSize('_maxReadLen'), step: (total) => opts.onProgress(total) },
          (err) => (err ? reject(this.#error(err, what)) : resolve()),
        );
      });
      const { size } = await stat(localFile);
      opts.onProgress(size);
      return { bytes: size };
    });
  }

  async list(remoteDir: string): Promise<RemoteEntry[]> {
    const dir = this.#ctx.resolve(remoteDir);
    const entries = await call<FileEntryWithStats[]>((cb) => this.#sftp.readdir(dir, cb)).catch((err: unknown) => {
      throw this.#error(err, `list ${dir}`);
    });
    return entries
      .filter((e) => e.filename !== '.' && e.filename !== '..')
      .map((e) => ({
        name: e.filename,
        type: e.attrs.isDirectory() ? 'directory' : e.attrs.isFile() ? 'file' : 'other',
        size: e.attrs.size ?? 0,
        mtime: typeof e.attrs.mtime === 'number' ? new Date(e.attrs.mtime * 1000) : null,
      }));
  }

  async remove(remotePath: string): Promise<void> {
    const path = this.#ctx.resolve(remotePath);
    await call<void>((cb) => this.#sftp.unlink(path, cb)).catch((err: unknown) => {
      throw this.#error(err, `remove ${path}`);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#client.destroy();
        resolve();
      }, 2000);
      this.#client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#client.end();
    });
  }

  #error(err: unknown, what: string) {
    const code = sftpCode(err);
    if (code === SSH_FX_NO_SUCH_FILE) return this.#ctx.error('FERRY_ERR_NOT_FOUND', what, `no such file or directory (${this.#ctx.reasonOf(err)})`, { cause: err });
    if (code === SSH_FX_PERMISSION_DENIED) return this.#ctx.error('FERRY_ERR_PERMISSION_DENIED', what, `permission denied (${this.#ctx.reasonOf(err)})`, { cause: err });
    return this.#ctx.wrap(err, what);
  }
}

function sftpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function call<T>(start: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    try {
      start((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
