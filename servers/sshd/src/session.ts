import { isFerryError, type AuthenticatedAccount, type ComponentContext, type Session } from '@ferry/core';
import { authenticate } from './auth.js';
import type { SshdConfig } from './config.js';
import type { AuthAttempt, ConnectionHandler, SftpChannel, SshConnection } from './driver.js';
import { disconnectReason } from './error-map.js';
import type { Limits } from './sftp-operations.js';
import { SftpServer } from './sftp-server.js';

/**
 * One SSH connection, registered in the core's SessionTable from its identification to its close.
 * It may carry several SFTP sessions (one per channel). Closing politely means an SSH disconnect
 * with the reason, once no file is open and every reply is out; with a file open it waits, since
 * the core asks again when that file's transfer ends.
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
    private readonly onEnd: (session: SshSession) => void,
  ) {
    this.#entry = ctx.sessions.open({
      protocol: 'ssh',
      remoteAddress: connection.remoteAddress,
      closePolitely: (reason) => this.closePolitely(reason),
    });
  }

  get id(): string {
    return this.#entry.id;
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
      log: this.ctx.log.child({ session: this.#entry.id, account: login.account.name }),
      onClosed: () => this.#sftp.delete(server),
    });
    this.#sftp.add(server);
  }

  /** Called by the core during a drain, and again each time one of this session's transfers ends. */
  closePolitely(reason: string): void {
    this.#closingReason = reason;
    if (this.openFiles > 0) return;
    void Promise.all([...this.#sftp].map((sftp) => sftp.whenQuiet())).then(() => {
      // A resume, or a file opened by a request admitted just before the gate closed, calls it off.
      if (this.#closingReason === undefined || this.openFiles > 0) return;
      this.connection.disconnect('closing', this.#closingReason);
    });
  }

  /** The drain was called off (resume): this session stays. */
  cancelClosing(): void {
    this.#closingReason = undefined;
  }

  /** Component stop: goodbye now, whatever is open (the core has already cut the transfers). */
  disconnect(reason: string): void {
    this.connection.disconnect('closing', reason);
  }

  closed(): void {
    for (const sftp of this.#sftp) sftp.cut('connection lost');
    this.#sftp.clear();
    this.ctx.sessions.close(this.#entry.id);
    this.onEnd(this);
  }
}
