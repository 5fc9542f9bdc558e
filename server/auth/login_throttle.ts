/**
 * A login throttle shared by all sessions: repeated failed logins from one
 * address get slower and slower answers.
 *
 * @module
 */

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
