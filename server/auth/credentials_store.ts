/**
 * The default user store: the credentials file (see `credentials_format.ts`),
 * read once when opened; changes rewrite it atomically (temporary file,
 * flush, rename) with mode 0600 for a new file.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { credentialsHeader, formatCredentials, parseCredentials } from "./credentials_format.ts";
import { checkUser, type UserRecord } from "./user_record.ts";
import { UserExistsError, UserNotFoundError, type UserStore } from "./user_store.ts";

/** Options of {@linkcode CredentialsFileStore.open}. */
export interface CredentialsFileStoreOptions {
  /**
   * Treat a missing file as empty (it is created by the first change, with a
   * header describing the format) instead of throwing NotFound.
   *
   * @default {false}
   */
  missingOk?: boolean;
}

/**
 * Users kept in a credentials file.
 *
 * @example
 * ```ts ignore
 * const store = await CredentialsFileStore.open("credentials.txt");
 * const user = await store.lookup("demo");
 * await store.close();
 * ```
 */
export class CredentialsFileStore implements UserStore {
  readonly #path: string;
  #users: UserRecord[];
  /** The file's own leading comment; undefined for a new file (gets the default header). */
  #header: string | undefined;
  #exists: boolean;
  #byName: Map<string, UserRecord>;

  private constructor(
    path: string,
    users: UserRecord[],
    header: string | undefined,
    exists: boolean,
  ) {
    this.#path = path;
    this.#users = users;
    this.#header = header;
    this.#exists = exists;
    this.#byName = new Map(users.map((user) => [user.name, Object.freeze(user)]));
  }

  /**
   * Reads a credentials file.
   *
   * @param path The file.
   * @param options Whether a missing file is an empty store.
   * @throws {Deno.errors.NotFound} If the file does not exist (and `missingOk` is not set).
   * @throws {SyntaxError} "Cannot parse credentials line N: ..." for a bad file.
   */
  static async open(
    path: string,
    options: CredentialsFileStoreOptions = {},
  ): Promise<CredentialsFileStore> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        if (options.missingOk) return new CredentialsFileStore(path, [], undefined, false);
        throw new Deno.errors.NotFound(
          `Credentials file "${path}" not found; create it with \`ferry user add\``,
          { cause: error },
        );
      }
      throw error;
    }
    return new CredentialsFileStore(path, parseCredentials(text), credentialsHeader(text), true);
  }

  /** The file this store reads and writes. */
  get path(): string {
    return this.#path;
  }

  /** Looks up a login name among the users read. */
  lookup(name: string): Promise<UserRecord | undefined> {
    return Promise.resolve(this.#byName.get(name));
  }

  /** Every user, in file order. */
  list(): Promise<UserRecord[]> {
    return Promise.resolve([...this.#users]);
  }

  /** Adds a user at the end of the file. */
  async add(user: UserRecord): Promise<void> {
    if (this.#byName.has(user.name)) throw new UserExistsError(user.name);
    await this.#save([...this.#users, checkUser(user)]);
  }

  /** Replaces the user of the same name, in place. */
  async update(user: UserRecord): Promise<void> {
    const index = this.#users.findIndex((entry) => entry.name === user.name);
    if (index < 0) throw new UserNotFoundError(user.name);
    const users = [...this.#users];
    users[index] = checkUser(user);
    await this.#save(users);
  }

  /** Removes a user. */
  async remove(name: string): Promise<void> {
    const users = this.#users.filter((user) => user.name !== name);
    if (users.length === this.#users.length) throw new UserNotFoundError(name);
    await this.#save(users);
  }

  /** Nothing stays open between calls. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  async #save(users: UserRecord[]): Promise<void> {
    // A new file gets the default header; an existing one keeps its own (or none).
    const text = this.#exists
      ? formatCredentials(users, this.#header ?? "")
      : formatCredentials(users);
    await _writeAtomically(this.#path, text);
    this.#users = users;
    this.#byName = new Map(users.map((user) => [user.name, Object.freeze(user)]));
    this.#exists = true;
    this.#header ??= credentialsHeader(text);
  }
}

/**
 * Replaces the file atomically: writes `FILE.tmp-<random>` in the same
 * directory, flushes it, then renames it over the file. A new file gets mode
 * 0600; an existing one keeps its mode. A symlink is followed, not replaced.
 */
async function _writeAtomically(path: string, text: string): Promise<void> {
  let target = path;
  let mode = 0o600;
  try {
    target = await Deno.realPath(path);
    mode = (await Deno.stat(target)).mode ?? 0o600;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const suffix = Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
  const temporary = join(dirname(target), `${basename(target)}.tmp-${suffix}`);
  try {
    const handle = await Deno.open(temporary, { write: true, createNew: true, mode: 0o600 });
    try {
      if (Deno.build.os !== "windows") await Deno.chmod(temporary, mode & 0o7777);
      const bytes = new TextEncoder().encode(text);
      for (let written = 0; written < bytes.length;) {
        written += await handle.write(bytes.subarray(written));
      }
      await handle.syncData();
    } finally {
      handle.close();
    }
    await Deno.rename(temporary, target);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}
