import { resolve } from 'node:path';
import { BufferPool, type Component, type ComponentContext, type StopMode } from '@ferry/core';
import { DEFAULT_HOST_KEYS_DIR, type SshdConfig } from './config.js';
import { nativeCryptoLoaded, SshDriver, type SshConnection } from './driver.js';
import { loadHostKeys } from './host-keys.js';
import { SshSession } from './session.js';
import type { Limits } from './sftp-operations.js';
import { DATA_HEADER } from './sftp-packets.js';

/** SFTP needs packets a little larger than their data (the WRITE header), and the draft's minimum. */
const PACKET_HEADROOM = 1024;
const MIN_PACKET_LENGTH = 34_000;

/** Packet buffers kept for reuse across sessions: 128 × ~256 KiB at most. */
const POOL_KEEP = 128;

/**
 * The SFTP daemon. A thin adapter: the core owns lifecycle, admission, transfers, sessions and
 * drain; this component opens the listener, serves SFTP over ssh2, maps core decisions onto SFTP
 * replies and SSH disconnects, and closes what it is told to.
 */
export class Sshd implements Component<SshdConfig> {
  readonly id = 'sshd';
  #driver: SshDriver | undefined;
  readonly #sessions = new Set<SshSession>();

  async start(ctx: ComponentContext<SshdConfig>): Promise<void> {
    const { config, log } = ctx;
    const native = nativeCryptoLoaded();
    if (native) log.info({ event: 'sshd.crypto', native }, 'ssh2 native crypto binding loaded (AES-GCM, chacha20-poly1305 in C)');
    else log.warn({ event: 'sshd.crypto', native }, 'ssh2 native crypto binding NOT loaded: ciphers run in JavaScript, expect a fraction of the throughput');

    // Like every other path in ferry.yaml, a relative one is relative to the working directory.
    const hostKeysDir = config.hostKeys === undefined ? resolve(ctx.dataDir, DEFAULT_HOST_KEYS_DIR) : resolve(config.hostKeys);
    const limits: Limits = {
      maxReadSize: config.maxReadSize,
      maxWriteSize: config.maxWriteSize,
      maxPacketLength: Math.max(config.maxWriteSize + PACKET_HEADROOM, MIN_PACKET_LENGTH),
      maxOpenHandles: config.maxOpenHandles,
    };
    const pool = new BufferPool(Math.max(limits.maxPacketLength, DATA_HEADER + limits.maxReadSize), POOL_KEEP);
    const driver = new SshDriver({
      hostKeys: await loadHostKeys(hostKeysDir, log),
      keepaliveIntervalMs: config.keepaliveInterval,
      keepaliveCountMax: config.keepaliveCountMax,
      loginTimeoutMs: config.loginTimeout,
      log,
      admit: (connection) => this.#admit(ctx, connection, limits, pool),
    });
    const bound = await driver.listen(config.port, config.host);
    this.#driver = driver;
    ctx.reportListening({ name: 'sftp', address: bound.address, port: bound.port });
    log.info({ event: 'listening', ...bound }, `sshd listening on ${bound.address}:${bound.port}`);
  }

  onResume(): void {
    for (const session of this.#sessions) session.cancelClosing();
  }

  async stop(mode: StopMode): Promise<void> {
    const driver = this.#driver;
    this.#driver = undefined;
    const reason = mode === 'immediate' ? 'server is stopping' : 'server is shutting down';
    // Graceful: every session ends its channels and lets its client hang up before the sockets go.
    if (mode === 'graceful') for (const session of this.#sessions) session.end(reason);
    await driver?.close(mode, reason);
  }

  /** A new connection: refused with the reason while the gate is closed, else a session. */
  #admit(ctx: ComponentContext<SshdConfig>, connection: SshConnection, limits: Limits, pool: BufferPool): SshSession | undefined {
    if (!ctx.gate.isOpen) {
      connection.disconnect('refused', `${ctx.gate.closedReason ?? 'service not available'}; retry later`);
      ctx.log.info({ event: 'sshd.refused', remoteAddress: connection.remoteAddress, reason: ctx.gate.closedReason }, 'refused a new connection: draining');
      return undefined;
    }
    const session = new SshSession(ctx, connection, limits, pool, (ended) => this.#sessions.delete(ended));
    this.#sessions.add(session);
    return session;
  }
}

export function createSshd(): Component<SshdConfig> {
  return new Sshd();
}
