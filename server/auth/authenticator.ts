/**
 * The login check: looks a name up in a {@linkcode UserStore}, verifies the
 * password with scrypt (unknown users cost the same time), remembers recent
 * successes, and lets anonymous users in read-only when enabled.
 *
 * @module
 */

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { CredentialsFileStore } from "./credentials_store.ts";
import { dummyHashLike, verifyPassword } from "./password_hash.ts";
import { READ_ONLY_PERMISSIONS } from "./permissions.ts";
import { ANONYMOUS_NAMES, normalizeHome, type UserRecord } from "./user_record.ts";
import { MemoryUserStore, type UserStore } from "./user_store.ts";

/** Options of {@linkcode Authenticator}. */
export interface AuthenticatorOptions {
  /**
   * Enables anonymous read-only login ("anonymous" or "ftp", any password),
   * starting in `home`.
   *
   * @default {undefined} (anonymous login disabled)
   */
  anonymous?: { home: string };
}

/**
 * Checks logins against a list of users, and optionally lets anonymous users
 * in read-only.
 *
 * @example
 * ```ts ignore
 * const auth = await Authenticator.fromFile("credentials.txt", { anonymous: { home: "/pub" } });
 * const user = await auth.authenticate("demo", "demo"); // UserRecord | null
 * ```
 */
export class Authenticator {
  readonly #store: UserStore;
  #anonymous: UserRecord | null = null;
  #dummyHash: string;
  /** The hash parameters the dummy hash copies (`N$r$p$keyLength`). */
  #dummyParameters = "";
  /** Recently verified logins: user → keyed tag of the password that worked. */
  readonly #verified = new Map<string, { tag: Uint8Array; hash: string; expires: number }>();
  readonly #cacheKey = randomBytes(32);
  /** Verifications running now, by user and keyed password tag. */
  readonly #verifying = new Map<string, Promise<boolean>>();

  /**
   * @param users Where users are looked up, or a list of them (kept in a
   * {@linkcode MemoryUserStore}; invalid records or duplicate names throw a RangeError).
   * @param options Anonymous login.
   */
  constructor(users: UserStore | readonly UserRecord[], options: AuthenticatorOptions = {}) {
    const list = Array.isArray(users) ? users as readonly UserRecord[] : undefined;
    this.#store = list ? new MemoryUserStore(list) : users as UserStore;
    if (options.anonymous !== undefined) {
      this.#anonymous = Object.freeze({
        name: "anonymous",
        passwordHash: "",
        home: normalizeHome(options.anonymous.home),
        permissions: READ_ONLY_PERMISSIONS,
      });
    }
    this.#dummyHash = dummyHashLike((list ?? []).map((user) => user.passwordHash));
  }

  /** The store users are looked up in. */
  get store(): UserStore {
    return this.#store;
  }

  /**
   * Reads users from a credentials file (see {@linkcode parseCredentials}).
   *
   * @param path The credentials file.
   * @param options Anonymous login.
   * @throws {Deno.errors.NotFound} If the file does not exist.
   * @throws {SyntaxError} If a line cannot be parsed.
   *
   * @example
   * ```ts ignore
   * const auth = await Authenticator.fromFile("credentials.txt");
   * ```
   */
  static async fromFile(
    path: string,
    options: AuthenticatorOptions = {},
  ): Promise<Authenticator> {
    const store = await CredentialsFileStore.open(path);
    const authenticator = new Authenticator(store, options);
    authenticator.#dummyHash = dummyHashLike((await store.list()).map((user) => user.passwordHash));
    return authenticator;
  }

  /**
   * Tells whether a login name means anonymous login.
   *
   * @param name The name sent with USER.
   * @returns True if anonymous login is enabled and name is "anonymous" or
   * "ftp" (case-insensitive).
   *
   * @example
   * ```ts
   * new Authenticator([], { anonymous: { home: "/" } }).isAnonymousName("FTP"); // true
   * ```
   */
  isAnonymousName(name: string): boolean {
    return this.#anonymous !== null && ANONYMOUS_NAMES.includes(name.toLowerCase());
  }

  /**
   * Checks a login. Unknown users still spend the same scrypt time (verified
   * against a dummy hash) so timing does not reveal whether a user exists.
   * Anonymous users may give any password (by convention their e-mail
   * address) and get {@linkcode READ_ONLY_PERMISSIONS} under the name
   * "anonymous".
   *
   * @param name The name sent with USER (case-sensitive, except anonymous).
   * @param password The password sent with PASS.
   * @returns The user on success, null on failure.
   *
   * @example
   * ```ts
   * const auth = new Authenticator([]);
   * await auth.authenticate("demo", "demo"); // null: no such user
   * ```
   */
  async authenticate(name: string, password: string): Promise<UserRecord | null> {
    if (this.#anonymous !== null && this.isAnonymousName(name)) return this.#anonymous;
    const user = await this.#store.lookup(name);
    if (user === undefined) {
      await verifyPassword(password, this.#dummyHash);
      return null;
    }
    this.#followParameters(user.passwordHash);
    const tag = createHmac("sha256", this.#cacheKey).update(password).digest();
    const cached = this.#verified.get(name);
    if (
      cached && cached.expires > Date.now() && cached.hash === user.passwordHash &&
      timingSafeEqual(cached.tag, tag)
    ) {
      return user;
    }
    // Logins arriving together with the same name and password share one scrypt run
    // (each takes 16 MiB and tens of milliseconds).
    const key = `${name}\0${tag.toString("hex")}`;
    let verifying = this.#verifying.get(key);
    if (!verifying) {
      verifying = verifyPassword(password, user.passwordHash)
        .finally(() => this.#verifying.delete(key));
      this.#verifying.set(key, verifying);
    }
    if (!await verifying) return null;
    this.#remember(name, { tag, hash: user.passwordHash, expires: Date.now() + _VERIFIED_TTL_MS });
    return user;
  }

  /**
   * Keeps the dummy hash's cost in step with the users actually seen (a
   * store that cannot be listed up front, such as a database, is learnt as
   * logins arrive), so unknown users keep costing what known ones cost.
   */
  #followParameters(hash: string): void {
    const parameters = hash.split("$").slice(1, 4).join("$") + "$" + hash.length;
    if (parameters === this.#dummyParameters) return;
    this.#dummyParameters = parameters;
    this.#dummyHash = dummyHashLike([hash]);
  }

  /**
   * Remembers a verified login, so the same user with the same password
   * logs in again without another scrypt run until it expires. Only a
   * keyed HMAC of the password is kept (the key is random per process);
   * wrong passwords and unknown users always pay the full scrypt cost.
   */
  #remember(name: string, entry: { tag: Uint8Array; hash: string; expires: number }): void {
    this.#verified.delete(name);
    this.#verified.set(name, entry);
    if (this.#verified.size > _VERIFIED_MAX) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
  }
}

/** How long a verified login is remembered. */
const _VERIFIED_TTL_MS = 10 * 60 * 1000;
/** How many verified logins are remembered at most. */
const _VERIFIED_MAX = 10_000;
