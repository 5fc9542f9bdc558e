/**
 * Abuse limits shared by all sessions: how many control connections in all
 * and per address (the login throttle is `auth/login_throttle.ts`).
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
