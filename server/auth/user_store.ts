/**
 * The seam between the server (and `ferry user`) and wherever users are
 * kept: the credentials file by default (`CredentialsFileStore`), memory in
 * tests (`MemoryUserStore`), a database later. Every method may be
 * asynchronous.
 *
 * @module
 */

import { checkUser, type UserRecord } from "./user_record.ts";

/** Where users are kept. */
export interface UserStore {
  /**
   * Looks up a login name (case-sensitive).
   *
   * @returns The user, or undefined if there is none by that name.
   */
  lookup(name: string): Promise<UserRecord | undefined>;
  /** Every user, in the store's order. */
  list(): Promise<UserRecord[]>;
  /**
   * Adds a user.
   *
   * @throws {UserExistsError} If a user of that name exists.
   * @throws {RangeError} If the record is invalid.
   */
  add(user: UserRecord): Promise<void>;
  /**
   * Replaces the user of the same name.
   *
   * @throws {UserNotFoundError} If there is none.
   */
  update(user: UserRecord): Promise<void>;
  /**
   * Removes a user.
   *
   * @throws {UserNotFoundError} If there is none.
   */
  remove(name: string): Promise<void>;
  /** Releases what the store holds (files, connections). */
  close(): Promise<void>;
}

/**
 * A user of that name exists already.
 *
 * @example
 * ```ts
 * new UserExistsError("alice").message; // 'User "alice" already exists'
 * ```
 */
export class UserExistsError extends Error {
  /** @param name The user's name. */
  constructor(readonly user: string) {
    super(`User "${user}" already exists`);
    this.name = "UserExistsError";
  }
}

/**
 * No user of that name exists.
 *
 * @example
 * ```ts
 * new UserNotFoundError("alice").message; // 'User "alice" does not exist'
 * ```
 */
export class UserNotFoundError extends Error {
  /** @param name The user's name. */
  constructor(readonly user: string) {
    super(`User "${user}" does not exist`);
    this.name = "UserNotFoundError";
  }
}

/**
 * Users kept in memory, for tests and for embedding ferry with a fixed list.
 *
 * @example
 * ```ts
 * const store = new MemoryUserStore([]);
 * await store.lookup("alice"); // undefined
 * ```
 */
export class MemoryUserStore implements UserStore {
  readonly #users = new Map<string, UserRecord>();

  /**
   * @param users The initial users.
   * @throws {RangeError} If a record is invalid or two share a name.
   */
  constructor(users: readonly UserRecord[] = []) {
    for (const record of users) {
      const user = checkUser(record);
      if (this.#users.has(user.name)) throw new RangeError(`Duplicate user "${user.name}"`);
      this.#users.set(user.name, Object.freeze(user));
    }
  }

  /** Looks up a login name. */
  lookup(name: string): Promise<UserRecord | undefined> {
    return Promise.resolve(this.#users.get(name));
  }

  /** Every user, in insertion order. */
  list(): Promise<UserRecord[]> {
    return Promise.resolve([...this.#users.values()]);
  }

  /** Adds a user. */
  add(user: UserRecord): Promise<void> {
    try {
      if (this.#users.has(user.name)) throw new UserExistsError(user.name);
      this.#users.set(user.name, Object.freeze(checkUser(user)));
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Replaces a user. */
  update(user: UserRecord): Promise<void> {
    try {
      if (!this.#users.has(user.name)) throw new UserNotFoundError(user.name);
      this.#users.set(user.name, Object.freeze(checkUser(user)));
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Removes a user. */
  remove(name: string): Promise<void> {
    if (!this.#users.delete(name)) return Promise.reject(new UserNotFoundError(name));
    return Promise.resolve();
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
