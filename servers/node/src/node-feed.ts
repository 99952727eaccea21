import type { NodePlanMessage } from '@ferry/core';

export type FeedListener = (message: NodePlanMessage) => void;

/**
 * The in-memory event feed of node plans, served as `GET /api/v1/node/events`. It keeps the
 * messages of the current (or last) plan so that a subscriber arriving mid-plan (the CLI, a web
 * page opened late) sees what already happened before what comes next.
 */
export class NodeFeed {
  #seq = 0;
  #replay: NodePlanMessage[] = [];
  readonly #listeners = new Set<FeedListener>();

  /** A new plan: later subscribers replay from here. */
  beginPlan(): void {
    this.#replay = [];
  }

  publish(message: Omit<NodePlanMessage, 'seq' | 'at'>): NodePlanMessage {
    const full: NodePlanMessage = { seq: ++this.#seq, at: new Date().toISOString(), ...message };
    this.#replay.push(full);
    for (const listener of [...this.#listeners]) {
      try {
        listener(full);
      } catch {
        // A subscriber that fails (a socket gone) must not stop the plan or the other subscribers.
        this.#listeners.delete(listener);
      }
    }
    return full;
  }

  watch(listener: FeedListener): { replay: NodePlanMessage[]; close(): void } {
    this.#listeners.add(listener);
    return { replay: [...this.#replay], close: () => void this.#listeners.delete(listener) };
  }
}
