import { readFile } from 'node:fs/promises';
import { FerryError, type Component, type ComponentContext, type StopMode } from '@ferry/core';
import { BasicAuth } from './auth.js';
import type { HttpdConfig } from './config.js';
import { HttpDriver } from './driver.js';
import { FileHandlers } from './files.js';
import type { HttpdServices } from './services.js';
import { TusHandlers } from './tus.js';
import { UploadIds } from './upload-id.js';

async function readPem(file: string, key: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new FerryError('FERRY_ERR_CONFIG_INVALID', `httpd.tls.${key}: cannot read ${file} (${code})`, {
      cause: err,
      details: { key: `httpd.tls.${key}`, value: file },
    });
  }
}

/**
 * The HTTP(S) file service daemon. A thin adapter: the core owns lifecycle, admission, transfers,
 * sessions and drain; this component opens the listener, maps requests onto storage and core
 * decisions onto HTTP replies, and closes what it is told to.
 */
export class Httpd implements Component<HttpdConfig> {
  readonly id = 'httpd';
  #driver: HttpDriver | undefined;

  async start(ctx: ComponentContext<HttpdConfig>): Promise<void> {
    const { config } = ctx;
    const services: HttpdServices = {
      ctx,
      auth: new BasicAuth(ctx.login),
      uploadIds: await UploadIds.load(ctx.dataDir),
    };
    const tls = config.tls ? { cert: await readPem(config.tls.cert, 'cert'), key: await readPem(config.tls.key, 'key') } : undefined;
    const driver = new HttpDriver({
      routes: [...new FileHandlers(services).routes(), ...new TusHandlers(services).routes()],
      sessions: ctx.sessions,
      log: ctx.log,
      ...(tls ? { tls } : {}),
    });
    let bound: { address: string; port: number };
    try {
      bound = await driver.listen(config.port, config.host);
    } catch (err) {
      await driver.close('immediate').catch(() => undefined);
      throw err;
    }
    this.#driver = driver;
    ctx.reportListening({ name: tls ? 'https' : 'http', address: bound.address, port: bound.port });
    ctx.log.info({ event: 'listening', ...bound, tls: Boolean(tls) }, `httpd listening on ${bound.address}:${bound.port}${tls ? ' (https)' : ''}`);
  }

  onDrain(): void {
    if (this.#driver) this.#driver.draining = true;
  }

  onResume(): void {
    if (this.#driver) this.#driver.draining = false;
  }

  async stop(mode: StopMode): Promise<void> {
    const driver = this.#driver;
    this.#driver = undefined;
    await driver?.close(mode);
  }
}

export function createHttpd(): Component<HttpdConfig> {
  return new Httpd();
}
