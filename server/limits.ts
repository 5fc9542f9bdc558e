/**
 * Abuse limits shared by all sessions: how many control connections in all
 * and per address (the login throttle is `auth/login_throttle.ts`).
 *
 * @module
 */

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
  readonly #maxSessions: number;
  readonly #maxPerIp: number;
  readonly #perIp = new Map<string, number>();
  #total = 0;

  /** Creates the counter with its two limits. */
  constructor(options: { maxSessions: number; maxSessionsPerIp: number }) {
    this.#maxSessions = options.maxSessions;
    this.#maxPerIp = options.maxSessionsPerIp;
  }

  /** Admits a connection (and counts it), or returns why it is refused. */
  admit(address: string): string | undefined {
    if (this.#total >= this.#maxSessions) return "Too many users, try again later.";
    const count = this.#perIp.get(address) ?? 0;
    if (count >= this.#maxPerIp) return "Too many connections from your address.";
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
