import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import { FerryError, socketOptionsAvailable, type Component, type ComponentContext, type StopMode } from '@ferry/core';
import type { FtpdConfig } from './config.js';
import { PassivePorts } from './data-channel.js';
import { FtpDriver } from './driver.js';
import { errorReply } from './error-map.js';
import { FtpSession, type FtpServices } from './session.js';

/** How long a stop leaves sessions to send their last reply (426, 421) before cutting them. */
const STOP_GRACE_MS = { graceful: 2000, immediate: 1000 } as const;

async function readPem(file: string, key: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new FerryError('FERRY_ERR_CONFIG_INVALID', `ftpd.tls.${key}: cannot read ${file} (${code})`, {
      cause: err,
      details: { key: `ftpd.tls.${key}`, value: file },
    });
  }
}

async function loadTls(config: FtpdConfig): Promise<SecureContext | undefined> {
  if (!config.tls) return undefined;
  const [cert, key] = await Promise.all([readPem(config.tls.cert, 'cert'), readPem(config.tls.key, 'key')]);
  try {
    return createSecureContext({ cert, key });
  } catch (err) {
    throw new FerryError('FERRY_ERR_CONFIG_INVALID', `ftpd.tls: the certificate and key do not load (${(err as Error).message})`, {
      cause: err,
      details: { key: 'ftpd.tls' },
    });
  }
}

/**
 * The FTP/FTPS daemon. A thin adapter: the core owns lifecycle, admission, transfers, sessions and
 * drain; this component opens the listeners, serves FTP over ftp-srv's connections, maps core
 * decisions onto FTP replies (421 while draining) and closes what it is told to.
 */
export class Ftpd implements Component<FtpdConfig> {
  readonly id = 'ftpd';
  #driver: FtpDriver | undefined;
  readonly #sessions = new Set<FtpSession>();

  async start(ctx: ComponentContext<FtpdConfig>): Promise<void> {
    const { config, log } = ctx;
    if (socketOptionsAvailable) log.info({ event: 'ftpd.socket-options', native: true }, 'native socket options loaded (fast uploads wake the daemon per 256 KiB)');
    else log.warn({ event: 'ftpd.socket-options', native: false }, 'native socket options NOT loaded (no compiler at build?): fast uploads wake the daemon per segment');
    const tls = await loadTls(config);
    const services: FtpServices = { ctx, tls, passivePorts: new PassivePorts(config.passivePorts) };
    const driver = new FtpDriver({
      host: config.host,
      port: config.port,
      implicitTlsPort: config.implicitTls?.port,
      tls,
      log,
      refusal: () => this.#refusal(ctx),
      connected: (control) => {
        this.#sessions.add(new FtpSession(services, control, (ended) => this.#sessions.delete(ended)));
      },
    });
    let bound;
    try {
      bound = await driver.listen();
    } catch (err) {
      await driver.close(0);
      throw err;
    }
    this.#driver = driver;
    ctx.reportListening({ name: 'ftp', address: bound.ftp.address, port: bound.ftp.port });
    if (bound.ftps) ctx.reportListening({ name: 'ftps', address: bound.ftps.address, port: bound.ftps.port });
    const { from, to } = config.passivePorts;
    log.info(
      { event: 'listening', address: bound.ftp.address, port: bound.ftp.port, implicitTlsPort: bound.ftps?.port, explicitTls: Boolean(tls), passivePorts: `${from}-${to}` },
      `ftpd listening on ${bound.ftp.address}:${bound.ftp.port}${tls ? ' (AUTH TLS)' : ''}${bound.ftps ? `, implicit FTPS on ${bound.ftps.port}` : ''}; passive ports ${from}-${to}`,
    );
  }

  onResume(): void {
    for (const session of this.#sessions) session.cancelClosing();
  }

  async stop(mode: StopMode): Promise<void> {
    const driver = this.#driver;
    this.#driver = undefined;
    const reason = mode === 'immediate' ? 'server is stopping' : 'server is shutting down';
    // A session still in a command (a transfer the core has just cut) answers it first, then 421.
    for (const session of [...this.#sessions]) session.closePolitely(reason);
    await driver?.close(STOP_GRACE_MS[mode]);
  }

  /** A new connection while the gate is closed: 421 with the reason, before any greeting. */
  #refusal(ctx: ComponentContext<FtpdConfig>): { code: number; text: string } | undefined {
    if (ctx.gate.isOpen) return undefined;
    try {
      ctx.gate.check('login');
      return undefined;
    } catch (err) {
      const { code, text } = errorReply(err);
      ctx.log.info({ event: 'ftpd.refused', reason: ctx.gate.closedReason }, `refused a new connection: ${text}`);
      return { code, text };
    }
  }
}

export function createFtpd(): Component<FtpdConfig> {
  return new Ftpd();
}
