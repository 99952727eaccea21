import { randomUUID } from 'node:crypto';

export interface SessionInit {
  protocol: string;
  remoteAddress: string | null;
  /**
   * Close the session politely (FTP 421, SSH disconnect, HTTP Connection: close). Called by the
   * core during a drain once the session carries no transfer. The daemon decides how "politely".
   */
  closePolitely(reason: string): void;
}

export interface Session {
  readonly id: string;
  readonly protocol: string;
  readonly remoteAddress: string | null;
  account: string | null;
  readonly openedAt: number;
}

interface Entry extends Session {
  init: SessionInit;
}

/** Open protocol sessions of one component, so the core can close the idle ones during a drain. */
export class SessionTable {
  readonly #sessions = new Map<string, Entry>();

  open(init: SessionInit): Session {
    const entry: Entry = {
      id: randomUUID(),
      protocol: init.protocol,
      remoteAddress: init.remoteAddress,
      account: null,
      openedAt: Date.now(),
      init,
    };
    this.#sessions.set(entry.id, entry);
    return entry;
  }

  close(id: string): void {
    this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  list(): Session[] {
    return [...this.#sessions.values()].map(({ init: _init, ...session }) => session);
  }

  /** Asks one session to close, if it is still open. */
  closeOne(id: string, reason: string): void {
    this.#sessions.get(id)?.init.closePolitely(reason);
  }

  /** Asks every session for which `isBusy` is false to close. */
  closeIdle(reason: string, isBusy: (id: string) => boolean): void {
    for (const entry of [...this.#sessions.values()]) {
      if (!isBusy(entry.id)) entry.init.closePolitely(reason);
    }
  }
}
