/**
 * Fan-out of a browser session's events (transfers, the command log, the
 * connection) to every open event stream of that session.
 *
 * @module
 */

/** One event: a name and JSON-able data. */
export interface UiEvent {
  type: string;
  data: unknown;
}

/**
 * Subscribers receive every event published after they subscribed.
 *
 * @example
 * ```ts
 * const hub = new EventHub();
 * const stop = hub.subscribe((event) => console.log(event.type));
 * hub.publish("log", { text: "< 220 ready" });
 * stop();
 * ```
 */
export class EventHub {
  readonly #subscribers = new Set<(event: UiEvent) => void>();

  /** Adds a subscriber; returns the function that removes it. */
  subscribe(subscriber: (event: UiEvent) => void): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  /** Sends an event to every subscriber. */
  publish(type: string, data: unknown): void {
    for (const subscriber of [...this.#subscribers]) {
      try {
        subscriber({ type, data });
      } catch {
        this.#subscribers.delete(subscriber);
      }
    }
  }

  /** How many subscribers there are. */
  get size(): number {
    return this.#subscribers.size;
  }
}
