import { isFerryError, type AuthenticatedAccount, type BufferPool, type ComponentContext, type Session } from '@ferry/core';
import { authenticate } from './auth.js';
import type { SshdConfig } from './config.js';
import type { AuthAttempt, ConnectionHandler, SftpChannel, SshConnection } from './driver.js';
import { disconnectReason } from './error-map.js';
import type { Limits } from './sftp-operations.js';
import { SftpServer } from './sftp-server.js';

/** After its SFTP channels are closed, how long a client gets to hang up before it is disconnected. */
const HANG_UP_GRACE_MS = 2000;

/**
 * One SSH connection, registered in the core's SessionTable from its identification to its close.
 * It may carry several SFTP sessions (one per channel). Closing politely waits until no file is
 * open (the core asks again when the last transfer ends) and every reply is out; then each SFTP
 * channel gets the reason on its stderr and is ended, and the client, which hangs up on its own
 * once its channels are gone, is disconnected with the reason only if it does not.
 */
export class SshSession implements ConnectionHandler {
  readonly #entry: Session;
  readonly #sftp = new Set<SftpServer>();
  #login: AuthenticatedAccount | undefined;
  #failures = 0;
  #closingReason: string | undefined;

  constructor(
    private readonly ctx: ComponentContext<SshdConfig>,
    private readonly connection: SshConnection,
    private readonly limits: Limits,
    private readonly pool: BufferPool,
    private readonly onEnd: (session: SshSession) => void,
  ) {
    this.#entry = ctx.sessions.open({
      protocol: 'ssh',
      remoteAddress: connection.remoteAddress,
      closePolitely: (reason) => this.closePolitely(reason),
    });
  }

  get openFiles(): number {
    let n = 0;
    for (const sftp of this.#sftp) n += sftp.openFiles;
    return n;
  }

  async authenticate(attempt: AuthAttempt): Promise<boolean> {
    if (this.#login !== undefined || this.#closingReason !== undefined) return false;
    const meta = { protocol: 'sftp', remoteAddress: this.connection.remoteAddress };
    try {
      const result = await authenticate(this.ctx, attempt, meta);
      if (result.kind === 'key-acceptable') return true;
      if (result.kind === 'in') {
        this.#login = result.login;
        this.#entry.account = result.login.account.name;
        return true;
      }
    } catch (err) {
      if (!isFerryError(err, 'FERRY_ERR_DRAINING')) throw err;
      this.connection.disconnect('refused', disconnectReason(err));
      return false;
    }
    if (++this.#failures >= this.ctx.config.maxAuthTries) {
      this.connection.disconnect('too-many-failures', 'too many authentication failures');
    }
    return false;
  }

  sftp(channel: SftpChannel): void {
    const login = this.#login;
    if (login === undefined) return channel.close();
    const server = new SftpServer({
      context: {
        ctx: this.ctx,
        storage: login.storage,
        account: login.account.name,
        sessionId: this.#entry.id,
        remoteAddress: this.connection.remoteAddress,
      },
      channel,
      limits: this.limits,
      pool: this.pool,
      log: this.ctx.log.child({ session: this.#entry.id, account: login.account.name, client: this.connection.clientIdent }),
      onClosed: () => this.#sftp.delete(server),
    });
    this.#sftp.add(server);
  }

  /** Called by the core during a drain, and again each time one of this session's transfers ends. */
  closePolitely(reason: string): void {
    this.#closingReason = reason;
    if (this.openFiles === 0) this.#goodbye(reason);
  }

  /** A drain that was called off (resume) keeps this session, unless its goodbye has begun. */
  cancelClosing(): void {
    this.#closingReason = undefined;
  }

  /** Component stop: the same goodbye, whatever is still open (the core has cut the transfers). */
  end(reason: string): void {
    this.#closingReason = reason;
    this.#goodbye(reason);
  }

  #goodbye(reason: string): void {
    if (this.#sftp.size === 0) return this.connection.disconnect('closing', reason);
    // At once, so that a stop following right behind does not disconnect under the last replies.
    this.connection.hangUp(reason, HANG_UP_GRACE_MS);
    void Promise.all([...this.#sftp].map((sftp) => sftp.whenQuiet())).then(() => {
      for (const sftp of this.#sftp) sftp.end(reason);
    });
  }

  closed(): void {
    for (const sftp of this.#sftp) sftp.cut('connection lost');
    this.#sftp.clear();
    this.ctx.sessions.close(this.#entry.id);
    this.onEnd(this);
  }
}
