/**
 * A one-shot cut of the transfer in progress: ABOR, the control connection gone, or the core's
 * abort at a drain deadline. One is made for every file. Not an AbortController: that is an
 * EventTarget, whose listeners cost a few allocations and microseconds each to add and remove
 * (an upload added and removed three), and whose addEventListener V8 kept deoptimizing here.
 */
export class Cut {
  #reason: Error | undefined;
  #listeners: ((reason: Error) => void)[] = [];

  /** Why the transfer was cut; undefined while it was not. */
  get reason(): Error | undefined {
    return this.#reason;
  }

  /** Cuts once (later calls change nothing) and tells every listener. */
  fire(reason: Error): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) listener(reason);
  }

  /**
   * Calls `listener` when the transfer is cut, or at once when it already was; returns what stops
   * listening.
   */
  listen(listener: (reason: Error) => void): () => void {
    if (this.#reason !== undefined) {
      listener(this.#reason);
      return noop;
    }
    this.#listeners.push(listener);
    return () => {
      const at = this.#listeners.indexOf(listener);
      if (at >= 0) this.#listeners.splice(at, 1);
    };
  }
}

function noop(): void {}
