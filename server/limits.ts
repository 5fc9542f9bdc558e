/**
 * Abuse limits shared by all sessions: how many control connections in all
 * and per address, and a login throttle that slows repeated failures from
 * one address.
 *
 * @module
 */

/** The refusal when {@linkcode ConnectionLimits} has reached its total. */
export const TOO_MANY_USERS = "Too many users, try again later.";
/** The refusal when one address has reached its limit. */
export const TOO_MANY_FROM_ADDRESS = "Too many connections from your address.";

/**
 * Counts open control connections, in all and per client address.
 *
 * @example
 * ```ts
 * const limits = new ConnectionLimits({ maxSessions: 2, maxSessionsPerIp: 1 });
 * limits.admit("127.0.0.1"); // undefined: admitted
 * limits.admit("127.0.0.1"); // "Too many connections from your address."
 * ```
 */
export class ConnectionLimits {
  #maxSessions: number;
  #maxPerIp: number;
  readonly #perIp = new Map<string, number>();
  #total = 0;

  /** Creates the counter with its two limits. */
  constructor(options: { maxSessions: number; maxSessionsPerIp: number }) {
    this.#maxSessions = options.maxSessions;
    this.#maxPerIp = options.maxSessionsPerIp;
  }

  /** Changes the limits (a reload); connections already admitted stay. */
  configure(options: { maxSessions: number; maxSessionsPerIp: number }): void {
    this.#maxSessions = options.maxSessions;
    this.#maxPerIp = options.maxSessionsPerIp;
  }

  /** Admits a connection (and counts it), or returns why it is refused. */
  admit(address: string): string | undefined {
    if (this.#total >= this.#maxSessions) return TOO_MANY_USERS;
    const count = this.#perIp.get(address) ?? 0;
    if (count >= this.#maxPerIp) return TOO_MANY_FROM_ADDRESS;
    this.#perIp.set(address, count + 1);
    this.#total++;
    return undefined;
  }

  /** Forgets a connection that {@linkcode admit} counted. */
  release(address: string): void {
    const count = this.#perIp.get(address) ?? 0;
    if (count <= 1) this.#perIp.delete(address);
    else this.#perIp.set(address, count - 1);
    this.#total = Math.max(0, this.#total - 1);
  }
}

/** Options for {@linkcode LoginThrottle}. */
export interface LoginThrottleOptions {
  /**
   * Delay after the first failure, doubled for each further one, in milliseconds.
   * @default {250}
   */
  baseDelayMs?: number;
  /**
   * The longest delay, in milliseconds.
   * @default {8000}
   */
  maxDelayMs?: number;
  /**
   * How long a failure is remembered, in milliseconds.
   * @default {600000}
   */
  windowMs?: number;
  /**
   * Addresses remembered at most (oldest forgotten first).
   * @default {10000}
   */
  maxTracked?: number;
}

/**
 * Remembers failed logins per client address and says how long to wait
 * before answering the next failure, so guessing passwords over many
 * connections gets slower and slower. The delay depends only on the
 * address, never on whether the user exists.
 */
export class LoginThrottle {
  readonly #base: number;
  readonly #max: number;
  readonly #window: number;
  readonly #maxTracked: number;
  readonly #failures = new Map<string, { count: number; last: number }>();

  /** Creates the throttle. */
  constructor(options: LoginThrottleOptions = {}) {
    this.#base = options.baseDelayMs ?? 250;
    this.#max = options.maxDelayMs ?? 8000;
    this.#window = options.windowMs ?? 600_000;
    this.#maxTracked = options.maxTracked ?? 10_000;
  }

  /** Records a failure and returns the delay to apply before replying, in milliseconds. */
  failure(address: string, now: number = Date.now()): number {
    const previous = this.#failures.get(address);
    const count = previous && now - previous.last < this.#window ? previous.count + 1 : 1;
    this.#failures.delete(address);
    this.#failures.set(address, { count, last: now });
    if (this.#failures.size > this.#maxTracked) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
    return Math.min(this.#max, this.#base * 2 ** (count - 1));
  }

  /** Forgets an address's failures after a successful login. */
  success(address: string): void {
    this.#failures.delete(address);
  }
}
