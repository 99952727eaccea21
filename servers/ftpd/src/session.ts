import type { SecureContext } from 'node:tls';
import type { ComponentContext, FileOperation, Logger, Session, Storage } from '@ferry/core';
import { COMMANDS } from './commands/index.js';
import type { FtpdConfig } from './config.js';
import type { ControlConnection } from './control.js';
import { ControlLineReader } from './control-lines.js';
import { Cut } from './cut.js';
import { PassiveListener, plainAddress, type DataChannel, type PassivePorts } from './data-channel.js';
import { closingReply, errorReply, refused } from './error-map.js';
import { MLST_FACTS, type MlstFact } from './listing.js';
import { resolveClientPath } from './paths.js';

/** What every session of one daemon shares. */
export interface FtpServices {
  readonly ctx: ComponentContext<FtpdConfig>;
  /** The certificate, loaded once; undefined when TLS is not configured. */
  readonly tls: SecureContext | undefined;
  readonly passivePorts: PassivePorts;
}

/** Longest command line: a verb and a path of PATH_MAX (4096) bytes fit with room to spare. */
const MAX_LINE = 8192;
/** Commands a client may queue behind a running one before its connection stops being read. */
const MAX_QUEUED = 32;
/** Unknown verbs are echoed back at most this long (a client sending garbage gets no megabyte back). */
const ECHO_LIMIT = 32;
/** Stands in the command queue for a line that was too long (and already dropped). */
const OVERLONG = Symbol('overlong line');
type QueuedLine = string | typeof OVERLONG;

/**
 * One FTP control connection: its state (login, working directory, TLS protection, data
 * channel, REST and RNFR) and a command loop that runs one command at a time, in order. It is
 * registered in the core's SessionTable, so that a drain can close it politely: at once when it is
 * idle, right after the reply of the command in progress otherwise (a transfer's 226 or 426,
 * then 421).
 */
export class FtpSession {
  readonly log: Logger;
  /** USER given, PASS not yet. */
  user: string | undefined;
  cwd = '/';
  /** Data channel protection: C(lear) or P(rivate). */
  protection: 'C' | 'P';
  /** REST: where the next STOR/RETR starts. */
  restOffset = 0;
  /** RNFR: the path RNTO renames. */
  renameFrom: string | undefined;
  /** OPTS MLST: the facts MLSD and MLST give. */
  facts: MlstFact[] = [...MLST_FACTS];
  /** EPSV ALL: from now on only EPSV may set up data connections (RFC 2428 §4). */
  epsvAll = false;
  readonly #entry: Session;
  readonly #reader: ControlLineReader;
  readonly #queue: QueuedLine[] = [];
  readonly #idle: NodeJS.Timeout;
  #storage: Storage | undefined;
  #account: string | undefined;
  #data: DataChannel | undefined;
  #passive: PassiveListener | undefined;
  #busy = false;
  #closeReason: string | undefined;
  #closed = false;
  /** The transfer in progress, so that ABOR can cut it. */
  #transfer: Cut | undefined;
  /** ABOR cut a transfer: its own reply says 226 rather than 225. */
  #aborted = false;

  constructor(
    readonly services: FtpServices,
    readonly control: ControlConnection,
    private readonly onClosed: (session: FtpSession) => void,
  ) {
    const { ctx } = services;
    this.protection = control.implicitTls ? 'P' : 'C';
    this.#entry = ctx.sessions.open({
      protocol: control.implicitTls ? 'ftps' : 'ftp',
      remoteAddress: control.remoteAddress,
      closePolitely: (reason) => this.closePolitely(reason),
    });
    this.log = ctx.log.child({ session: this.#entry.id, remoteAddress: control.remoteAddress });
    this.#reader = new ControlLineReader(MAX_LINE, {
      line: (text) => this.#onLine(text),
      overlong: () => this.#onLine(OVERLONG),
    });
    this.#idle = setTimeout(() => this.#onIdle(), ctx.config.idleTimeout);
    this.#idle.unref();
    control.onData((chunk) => this.#reader.push(chunk));
    control.onClose(() => this.#onClose());
  }

  get id(): string {
    return this.#entry.id;
  }

  get account(): string | undefined {
    return this.#account;
  }

  get loggedIn(): boolean {
    return this.#storage !== undefined;
  }

  /** `ftps` once the control connection is encrypted: what the transfer registry shows. */
  get protocol(): string {
    return this.control.secure ? 'ftps' : 'ftp';
  }

  get storage(): Storage {
    if (this.#storage === undefined) throw refused('not-logged-in', 'Please log in with USER and PASS first');
    return this.#storage;
  }

  get config(): FtpdConfig {
    return this.services.ctx.config;
  }

  reply(code: number, text: string): void {
    this.control.write(`${code} ${oneLine(text)}\r\n`);
  }

  /** A multi-line reply (RFC 959 §4.2): `code-first`, inner lines indented by a space, `code last`. */
  replyLines(code: number, first: string, lines: readonly string[], last: string): void {
    let out = `${code}-${oneLine(first)}\r\n`;
    for (const line of lines) out += ` ${oneLine(line)}\r\n`;
    this.control.write(`${out}${code} ${oneLine(last)}\r\n`);
  }

  loginSucceeded(account: string, storage: Storage): void {
    this.#account = account;
    this.#storage = storage;
    this.#entry.account = account;
    this.user = undefined;
    this.control.loggedIn();
  }

  /** The path a client argument names, relative to the working directory. */
  path(arg: string): string {
    return resolveClientPath(this.cwd, arg);
  }

  /** Admits a short file operation through the gate (refused with 421 during a drain). */
  admit<T>(operation: FileOperation, work: () => Promise<T>): Promise<T> {
    return this.services.ctx.gate.run(operation, work);
  }

  /** This session's passive listener; it sits on the address the client already reaches. */
  passiveListener(): PassiveListener {
    this.#passive ??= new PassiveListener(this.services.passivePorts, plainAddress(this.control.localAddress), plainAddress(this.control.remoteAddress));
    return this.#passive;
  }

  setDataChannel(channel: DataChannel | undefined): void {
    this.#data?.close();
    this.#data = channel;
  }

  /** The data channel a data command uses (once); refused when none was set up or TLS policy says no. */
  takeDataChannel(): { channel: DataChannel; tls: SecureContext | undefined } {
    if (this.config.requireTls && this.protection !== 'P') {
      throw refused('data-protection-required', 'Data connections must be protected: send PBSZ 0 and PROT P first');
    }
    const channel = this.#data;
    if (channel === undefined) throw refused('no-data-connection', 'Use PASV or EPSV first');
    this.#data = undefined;
    return { channel, tls: this.protection === 'P' ? this.services.tls : undefined };
  }

  /** The REST offset for this transfer command; REST applies to one command only. */
  takeRestOffset(): number {
    const offset = this.restOffset;
    this.restOffset = 0;
    return offset;
  }

  /** A transfer starts: ABOR can cut it through the returned Cut until `transferEnded`. */
  transferStarted(): Cut {
    this.#transfer = new Cut();
    return this.#transfer;
  }

  transferEnded(): void {
    this.#transfer = undefined;
  }

  /** Did an ABOR cut the last transfer? Answered once. */
  takeAborted(): boolean {
    const aborted = this.#aborted;
    this.#aborted = false;
    return aborted;
  }

  /**
   * Called by the core during a drain once this session carries no transfer, and by stop. An
   * idle session gets 421 at once; a busy one right after the reply of its command in progress.
   */
  closePolitely(reason: string): void {
    if (this.#closed || this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    if (!this.#busy) this.#goodbye();
  }

  /** A resume arrived before the deferred close: the session goes on. */
  cancelClosing(): void {
    if (this.#closed || this.#closeReason === undefined) return;
    this.#closeReason = undefined;
    this.control.resume();
  }

  /** QUIT: 221 once the command in progress is over, then close. */
  quit(): void {
    this.reply(221, 'Goodbye');
    this.#shutdown();
    this.control.end();
  }

  /** A refusal that ends the session (a 421): reply, then close after it is flushed. */
  closeWith(code: number, text: string): void {
    this.reply(code, text);
    this.#shutdown();
    this.control.end();
  }

  /**
   * AUTH TLS, after its 234: whatever the client sent behind the command in plaintext is dropped
   * (a man in the middle could have put it there; the STARTTLS command injection).
   */
  startTls(context: SecureContext): void {
    this.#queue.length = 0;
    this.#reader.reset();
    this.control.startTls(context);
  }

  #onLine(line: QueuedLine): void {
    if (this.#closed) return;
    this.#idle.refresh();
    // ABOR is the one command that acts while another runs: it cuts the transfer, whose own
    // reply (426) comes first, then ABOR's (226).
    if (line !== OVERLONG && this.#transfer !== undefined && /^\s*abor\s*$/i.test(line)) {
      this.#transfer.fire(new Error('aborted by the client (ABOR)'));
      this.#transfer = undefined;
      this.#aborted = true;
      this.#queue.unshift('ABOR');
      return;
    }
    this.#queue.push(line);
    if (this.#queue.length >= MAX_QUEUED) this.control.pause();
    if (this.#busy) return;
    this.#busy = true;
    // Not synchronously: the rest of this read is split into lines first, so that AUTH TLS finds
    // everything sent behind it already queued (and drops it).
    queueMicrotask(() => void this.#runQueue());
  }

  async #runQueue(): Promise<void> {
    while (this.#queue.length > 0 && this.#closeReason === undefined && !this.#closed) {
      const line = this.#queue.shift() as QueuedLine;
      await this.#execute(line);
    }
    this.#busy = false;
    if (this.#closed) return;
    if (this.#closeReason !== undefined) {
      this.#goodbye();
      return;
    }
    this.control.resume();
    this.#idle.refresh();
  }

  async #execute(line: QueuedLine): Promise<void> {
    if (line === OVERLONG) {
      this.reply(500, `Command line too long (over ${MAX_LINE} bytes)`);
      return;
    }
    const space = line.indexOf(' ');
    const verb = (space === -1 ? line : line.slice(0, space)).trim().toUpperCase();
    const arg = space === -1 ? '' : line.slice(space + 1);
    if (verb === '') return; // an empty line is no command; RFC 959 clients never send one
    const command = Object.hasOwn(COMMANDS, verb) ? COMMANDS[verb] : undefined;
    if (command === undefined) {
      this.reply(500, `Unknown command ${verb.length > ECHO_LIMIT ? `${verb.slice(0, ECHO_LIMIT)}…` : verb}`);
      return;
    }
    // RNTO must follow its RNFR directly (RFC 959 §4.1.3).
    if (verb !== 'RNTO') this.renameFrom = undefined;
    try {
      if (!command.beforeLogin && !this.loggedIn) throw refused('not-logged-in', 'Please log in with USER and PASS first');
      if (command.run === undefined) await this.control.library(line);
      else await command.run(this, arg);
    } catch (err) {
      this.fail(err, verb);
    }
  }

  /** Answers a failed command through the error map; a 421 (drain) also closes the session. */
  fail(err: unknown, verb: string): void {
    const answer = errorReply(err);
    if (answer.internal) this.log.error({ err, verb }, `${verb} failed: ${answer.text}`);
    else this.log.debug({ code: answer.code, verb }, answer.text);
    if (answer.close) this.closeWith(answer.code, answer.text);
    else this.reply(answer.code, answer.text);
  }

  #goodbye(): void {
    if (this.#closed) return;
    const { code, text } = closingReply(this.#closeReason ?? 'service not available');
    this.closeWith(code, text);
  }

  #onIdle(): void {
    if (this.#closed) return;
    if (this.#busy) {
      this.#idle.refresh();
      return;
    }
    this.closeWith(421, `Idle for ${Math.round(this.config.idleTimeout / 1000)} s: closing the control connection`);
  }

  /** The session takes no more commands: the core forgets it, the data channel closes. */
  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    clearTimeout(this.#idle);
    this.setDataChannel(undefined);
    this.#passive?.close();
    this.services.ctx.sessions.close(this.#entry.id);
  }

  #onClose(): void {
    // Without its control connection a transfer has no one to report to: an upload is kept as a
    // resumable partial, never published.
    this.#transfer?.fire(new Error('the control connection closed'));
    this.#shutdown();
    this.onClosed(this);
  }
}

/** A reply line carries no line break a client could take for the start of another reply. */
function oneLine(text: string): string {
  return /[\r\n]/.test(text) ? text.replace(/[\r\n]+/g, ' ') : text;
}
