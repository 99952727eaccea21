import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { posix } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { Client, FileType, FTPError, type FileInfo } from 'basic-ftp';
import { abortable, SiteContext, temporaryName } from './remote-error.js';
import type { SiteConfig } from './site-config.js';
import type { MoveOptions, OutboundClient, RemoteEntry } from './types.js';

/**
 * FTP sites, over basic-ftp (the only file importing it): plain `ftp`, `ftps` (explicit, AUTH TLS
 * on the control port, data protected with PROT P) and `ftps-implicit` (TLS before the greeting).
 * A push goes to a temporary name, then RNFR/RNTO over the final name.
 */

export async function connectFtp(site: SiteConfig, name: string, opts: { signal: AbortSignal }): Promise<OutboundClient> {
  const ctx = new SiteContext(site, name);
  const what = `connect as ${site.user ?? '?'}`;
  const client = new Client(site.timeout);
  const secure = site.protocol === 'ftps' ? true : site.protocol === 'ftps-implicit' ? ('implicit' as const) : false;
  let secureOptions: ConnectionOptions | undefined;
  if (secure !== false) {
    const ca = site.tls.ca === undefined ? undefined : await readFile(site.tls.ca).catch((err: unknown) => {
      throw ctx.error('FERRY_ERR_CONFIG_INVALID', what, `cannot read tls.ca ${site.tls.ca}: ${ctx.reasonOf(err)}`);
    });
    secureOptions = {
      rejectUnauthorized: site.tls.rejectUnauthorized,
      ...(ca !== undefined ? { ca } : {}),
      // SNI carries host names only (RFC 6066).
      ...(site.host !== undefined && isIP(site.host) === 0 ? { servername: site.host } : {}),
    };
  }
  await abortable(ctx, what, opts.signal, () => client.close(), async () => {
    try {
      await client.access({
        host: site.host,
        port: site.port,
        user: site.user,
        password: site.password,
        secure,
        ...(secureOptions ? { secureOptions } : {}),
      });
    } catch (err) {
      client.close();
      if (err instanceof FTPError && (err.code === 530 || err.code === 430)) {
        throw ctx.error('FERRY_ERR_AUTH_FAILED', what, `login refused (${err.code})`, { cause: err });
      }
      throw ctx.wrap(err, what);
    }
    client.ftp.socket.setNoDelay(true);
  });
  return new FtpClient(ctx, client);
}

class FtpClient implements OutboundClient {
  readonly #ctx: SiteContext;
  readonly #client: Client;
  /** basic-ftp runs one task at a time; callers of one client may not know that. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: SiteContext, client: Client) {
    this.#ctx = ctx;
    this.#client = client;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  push(localFile: string, remotePath: string, opts: MoveOptions): Promise<{ bytes: number }> {
    const final = this.#ctx.resolve(remotePath);
    const temporary = temporaryName(final);
    const what = `push ${localFile} to ${final}`;
    return this.#serial(() =>
      abortable(this.#ctx, what, opts.signal, () => this.#client.close(), async () => {
        const { size } = await stat(localFile);
        this.#client.trackProgress((info) => opts.onProgress(info.bytes));
        try {
          try {
            await this.#client.uploadFrom(localFile, temporary);
          } catch (err) {
            if (!(err instanceof FTPError) || err.code !== 550 || this.#client.closed) throw err;
            // Perhaps the remote directory is missing: make it, then once more.
            await this.#mkdirs(posix.dirname(final));
            await this.#client.uploadFrom(localFile, temporary);
          }
        } catch (err) {
          throw this.#error(err, what);
        } finally {
          this.#client.trackProgress();
        }
        opts.onProgress(size);
        try {
          await this.#client.rename(temporary, final);
        } catch (err) {
          if (!(err instanceof FTPError) || this.#client.closed) throw this.#error(err, `${what}: rename ${temporary} to ${final}`);
          // Servers that refuse to rename over an existing file: remove it, then rename.
          await this.#client.remove(final, true);
          await this.#client.rename(temporary, final).catch((again: unknown) => {
            throw this.#error(again, `${what}: rename ${temporary} to ${final}`);
          });
        }
        return { bytes: size };
      }),
    );
  }

  async #mkdirs(dir: string): Promise<void> {
    const parts = dir.split('/').filter((part) => part !== '');
    let current = '';
    for (const part of parts) {
      current += `/${part}`;
      const reply = await this.#client.sendIgnoringError(`MKD ${current}`);
      // 257 made; 550/521 usually "exists": the upload that follows tells the truth.
      void reply;
    }
  }

  pull(remotePath: string, localFile: string, opts: MoveOptions): Promise<{ bytes: number }> {
    const source = this.#ctx.resolve(remotePath);
    const what = `pull ${source} to ${localFile}`;
    return this.#serial(() =>
      abortable(this.#ctx, what, opts.signal, () => this.#client.close(), async () => {
        this.#client.trackProgress((info) => opts.onProgress(info.bytes));
        try {
          await this.#client.downloadTo(localFile, source);
        } catch (err) {
          throw this.#error(err, what, true);
        } finally {
          this.#client.trackProgress();
        }
        const { size } = await stat(localFile);
        opts.onProgress(size);
        return { bytes: size };
      }),
    );
  }

  list(remoteDir: string): Promise<RemoteEntry[]> {
    const dir = this.#ctx.resolve(remoteDir);
    return this.#serial(async () => {
      let infos: FileInfo[];
      try {
        infos = await this.#client.list(dir);
      } catch (err) {
        throw this.#error(err, `list ${dir}`, true);
      }
      return infos
        .filter((info) => info.name !== '.' && info.name !== '..')
        .map((info) => ({
          name: info.name,
          type: info.type === FileType.File ? 'file' : info.type === FileType.Directory ? 'directory' : 'other',
          size: info.size,
          mtime: info.modifiedAt ?? null,
        }));
    });
  }

  remove(remotePath: string): Promise<void> {
    const path = this.#ctx.resolve(remotePath);
    return this.#serial(async () => {
      try {
        await this.#client.remove(path);
      } catch (err) {
        throw this.#error(err, `remove ${path}`, true);
      }
    });
  }

  async close(): Promise<void> {
    if (this.#client.closed) return;
    // QUIT, politely, unless a transfer is running (then close() cuts it).
    await Promise.race([this.#client.send('QUIT').catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000))]);
    this.#client.close();
  }

  /** `missing`: a 550 means "no such file" (pull, list, remove); for a push it is just a refusal. */
  #error(err: unknown, what: string, missing = false) {
    if (missing && err instanceof FTPError && err.code === 550) {
      return this.#ctx.error('FERRY_ERR_NOT_FOUND', what, `refused: ${this.#ctx.reasonOf(err)}`, { cause: err, details: { reply: err.code } });
    }
    if (err instanceof FTPError && (err.code === 530 || err.code === 532)) {
      return this.#ctx.error('FERRY_ERR_PERMISSION_DENIED', what, `refused: ${this.#ctx.reasonOf(err)}`, { cause: err, details: { reply: err.code } });
    }
    return this.#ctx.wrap(err, what);
  }
}
