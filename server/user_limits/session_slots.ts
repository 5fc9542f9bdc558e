/**
 * How many sessions each user holds, for the per-user `max_sessions` limit:
 * a login takes a slot and gives it back when its session ends. The local
 * counter serves one process; a counter shared by several instances (in a
 * database) keeps leases that expire, so a slot held by an instance that
 * died is freed by itself.
 *
 * @module
 */

/** A slot a logged-in session holds. */
export interface SessionSlot {
  /** Gives the slot back; calling it again does nothing. */
  release(): void;
}

/** The seam a shared (database) session counter implements. */
export interface SessionSlots {
  /**
   * Takes a slot for `user` unless it already holds `max`; undefined when
   * it does. Without a `max`, the slot is counted but never refused.
   */
  acquire(user: string, max?: number): Promise<SessionSlot | undefined>;
  /** How many slots `user` holds (in this process, or everywhere for a shared counter). */
  count(user: string): Promise<number>;
}

/**
 * Session counts kept in this process.
 *
 * @example
 * ```ts
 * import { LocalSessionSlots } from "./session_slots.ts";
 * const slots = new LocalSessionSlots();
 * const first = await slots.acquire("alice", 1); // a slot
 * await slots.acquire("alice", 1); // undefined: alice holds 1 of 1
 * first?.release();
 * ```
 */
export class LocalSessionSlots implements SessionSlots {
  readonly #held = new Map<string, number>();

  /** Takes a slot unless `user` holds `max` already. */
  acquire(user: string, max?: number): Promise<SessionSlot | undefined> {
    const held = this.#held.get(user) ?? 0;
    if (max !== undefined && held >= max) return Promise.resolve(undefined);
    this.#held.set(user, held + 1);
    let released = false;
    return Promise.resolve({
      release: () => {
        if (released) return;
        released = true;
        const now = (this.#held.get(user) ?? 1) - 1;
        if (now > 0) this.#held.set(user, now);
        else this.#held.delete(user);
      },
    });
  }

  /** The slots `user` holds. */
  count(user: string): Promise<number> {
    return Promise.resolve(this.#held.get(user) ?? 0);
  }
}
