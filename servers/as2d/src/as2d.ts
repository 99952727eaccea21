import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FerryError, type Component, type ComponentContext, type StopMode } from '@ferry/core';
import type { As2dConfig } from './config.js';
import { As2Driver } from './driver.js';
import { Inboxes } from './inbox.js';
import { MdnOutbox } from './mdn-outbox.js';
import { loadTradingSetup, type TradingPartner } from './partners.js';
import { MessageReceiver } from './receive.js';

async function readPem(file: string, key: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new FerryError('FERRY_ERR_CONFIG_INVALID', `as2d.tls.${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, {
      cause: err,
      details: { key: `as2d.tls.${key}`, value: file },
    });
  }
}

/**
 * The AS2 daemon (RFC 4130). A thin adapter: the core owns lifecycle, admission, transfers,
 * sessions and drain; this component opens the listener, turns messages into stored payloads and
 * MDNs, and delivers asynchronous MDNs (before a stop, or after the restart).
 */
export class As2d implements Component<As2dConfig> {
  readonly id = 'as2d';
  #driver: As2Driver | undefined;
  #outbox: MdnOutbox | undefined;

  async start(ctx: ComponentContext<As2dConfig>): Promise<void> {
    const { config } = ctx;
    const trading = await loadTradingSetup(config, ctx.store.as2Partners);
    const partners = await describePartners(ctx, trading.configured);
    const tls = config.tls ? { cert: await readPem(config.tls.cert, 'cert'), key: await readPem(config.tls.key, 'key') } : undefined;
    const outbox = new MdnOutbox({ store: ctx.store.as2, log: ctx.log, retryIntervalMs: config.asyncMdn.retryInterval, expireAfterMs: config.asyncMdn.expireAfter });
    const receiver = new MessageReceiver({ ctx, trading, inboxes: new Inboxes(), outbox });
    const driver = new As2Driver({ handler: (exchange) => receiver.receive(exchange), sessions: ctx.sessions, log: ctx.log, ...(tls ? { tls } : {}) });
    let bound: { address: string; port: number };
    try {
      bound = await driver.listen(config.port, config.host);
    } catch (err) {
      await driver.close('immediate').catch(() => undefined);
      throw err;
    }
    this.#driver = driver;
    this.#outbox = outbox;
    outbox.start();
    ctx.reportListening({ name: tls ? 'https' : 'http', address: bound.address, port: bound.port });
    if (!trading.identity) ctx.log.warn('as2d has no certificate/privateKey: it can receive neither encrypted messages nor send signed MDNs');
    ctx.log.info(
      { event: 'listening', ...bound, tls: Boolean(tls), as2Id: trading.as2Id, partners },
      `as2d ${trading.as2Id} listening on ${bound.address}:${bound.port}${tls ? ' (https)' : ''}, ${partners.length} partner(s)`,
    );
  }

  onDrain(): void {
    if (this.#driver) this.#driver.draining = true;
    // Asynchronous MDNs waiting for a retry get one more try now, before the stop.
    this.#outbox?.flush();
  }

  onResume(): void {
    if (this.#driver) this.#driver.draining = false;
  }

  async stop(mode: StopMode): Promise<void> {
    const driver = this.#driver;
    const outbox = this.#outbox;
    this.#driver = undefined;
    this.#outbox = undefined;
    await outbox?.stop(mode);
    await driver?.close(mode);
  }
}

/**
 * The partners known at start, for the log: those of ferry.yaml and of the store, with a warning for
 * each ferry.yaml entry a store partner overrides and each expired certificate. Later API changes
 * need no restart (partners.ts); this is only what an operator reads when as2d starts.
 */
async function describePartners(ctx: ComponentContext<As2dConfig>, configured: readonly TradingPartner[]): Promise<string[]> {
  const stored = await ctx.store.as2Partners.list();
  const storedIds = new Set(stored.map((p) => p.id));
  const expiries = [
    ...configured.filter((p) => !storedIds.has(p.id)).map((p) => ({ id: p.id, notAfter: p.certificate.notAfter })),
    ...stored.map((p) => ({ id: p.id, notAfter: new Date(new X509Certificate(p.certificate).validTo) })),
  ];
  for (const partner of configured) {
    if (storedIds.has(partner.id)) ctx.log.warn({ partner: partner.id }, `partner ${partner.id} is in ferry.yaml and in the store: the store's entry (admin API) is used`);
  }
  for (const { id, notAfter } of expiries) {
    if (notAfter.getTime() < Date.now()) ctx.log.warn({ partner: id }, `the certificate of partner ${id} expired on ${notAfter.toISOString()}`);
  }
  if (expiries.length === 0) ctx.log.warn('as2d has no partners: every message is refused until one is configured in ferry.yaml or added through the admin API');
  return expiries.map((p) => p.id).sort();
}

export function createAs2d(): Component<As2dConfig> {
  return new As2d();
}
