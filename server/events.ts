/**
 * The server's events as data: every session event (login, transfer, delete,
 * rename, …) and server event (refused, shutdown, …) that is logged is also
 * handed to the listeners registered here, so metrics, transfer logs and hooks
 * observe the same events the log shows, from one emission point.
 *
 * @module
 */

import type { LogValue } from "./log.ts";

/** One event: its name, when it happened and its fields (session, peer, user, …). */
export interface ServerEvent {
  /** The event's name, as in the log (`login`, `transfer`, `delete`, …). */
  readonly name: string;
  /** When it happened. */
  readonly time: Date;
  /** Its fields; a session's events carry `session`, `peer` and `user`. */
  readonly fields: Readonly<Record<string, LogValue>>;
}

/** Something that observes events; it must not throw and must not block. */
export type EventListener = (event: ServerEvent) => void;

/**
 * The listeners of one server. Emitting with no listener costs one check.
 *
 * @example
 * ```ts
 * import { ServerEvents } from "./events.ts";
 * const events = new ServerEvents();
 * const stop = events.on((event) => console.log(event.name));
 * events.emit("login", { user: "demo", ok: true });
 * stop();
 * ```
 */
export class ServerEvents {
  #listeners: EventListener[] = [];

  /** True when at least one listener is registered. */
  get observed(): boolean {
    return this.#listeners.length > 0;
  }

  /** Registers a listener; returns the function that removes it. */
  on(listener: EventListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((other) => other !== listener);
    };
  }

  /** Hands an event to every listener; a listener that throws is skipped, never fatal. */
  emit(name: string, fields: Readonly<Record<string, LogValue>>, time?: Date): void {
    const listeners = this.#listeners;
    if (listeners.length === 0) return; // before the Date: nothing to pay with no listener
    const event: ServerEvent = { name, time: time ?? new Date(), fields };
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // An observer's failure must never reach the session that emitted the event.
      }
    }
  }
}
