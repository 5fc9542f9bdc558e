/**
 * The error a user store raises when it cannot answer right now (a
 * database that is down or restarting). It has no dependencies, so the
 * login handler can recognise it without loading any database driver.
 *
 * @module
 */

/**
 * The user store cannot be reached right now; login answers 421 and the
 * client may try again later.
 *
 * @example
 * ```ts
 * new UserStoreUnavailableError("connection refused").message;
 * // "User database unavailable: connection refused"
 * ```
 */
export class UserStoreUnavailableError extends Error {
  /** @param reason Why, without secrets. */
  constructor(reason: string, options?: ErrorOptions) {
    super(`User database unavailable: ${reason}`, options);
    this.name = "UserStoreUnavailableError";
  }
}
