/**
 * The logic behind `ferry user add|passwd|remove|list`: edits users through
 * a {@linkcode UserStore} (the credentials file, rewritten atomically), and reads passwords from stdin or a hidden TTY prompt.
 *
 * @module
 */

import { CommandError, EXIT_FAILURE } from "../../cli/command_error.ts";
import { HiddenInputCancelledError, readHiddenLine } from "../../cli/hidden_input.ts";
import {
  checkUserName,
  hashPassword,
  normalizeHome,
  parsePermissions,
  PERMISSION_LETTERS,
  type UserRecord,
} from "../auth/mod.ts";
import { CredentialsFileStore } from "../auth/credentials_store.ts";
import { UserExistsError, UserNotFoundError, type UserStore } from "../auth/user_store.ts";
import { UserStoreUnavailableError } from "../auth/user_store_unavailable.ts";
import { checkPostgresPermissions, resolveUsersUrl } from "./users_option.ts";

/**
 * A failure a `ferry user` command reports to its user: an existing or
 * missing user, a missing or unreadable credentials file, bad input, a
 * cancelled prompt.
 *
 * @example
 * ```ts
 * try {
 *   await addUser("demo", "demo", { credentials: "credentials.txt" });
 * } catch (error) {
 *   if (error instanceof UserCommandError) console.error(error.message);
 *   else throw error;
 * }
 * ```
 */
export class UserCommandError extends CommandError {
  /**
   * @param message What went wrong, in sentence case.
   * @param options The underlying error, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_FAILURE, options);
    this.name = "UserCommandError";
  }
}

/** Options shared by the `ferry user` commands. */
export interface UserCommandOptions {
  /** Path of the credentials file. */
  credentials: string;
  /** A `postgres://` URL: edit the users in PostgreSQL instead (default: `FERRY_USERS`). */
  users?: string;
  /**
   * Home directory (virtual, relative to the served root), for `add` only.
   *
   * @default {"/"}
   */
  home?: string;
  /**
   * Permission letters, for `add` only.
   *
   * @default {"elradfmwMT"}
   */
  perms?: string;
  /**
   * scrypt cost of new hashes; lower it only in tests.
   *
   * @default {16384}
   */
  cost?: number;
}

/** Runs a validation, turning bad input (RangeError, TypeError) into a UserCommandError. */
function _check<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      throw new UserCommandError(error.message, { cause: error });
    }
    throw error;
  }
}

function _checkPassword(password: string): void {
  if (password === "") throw new UserCommandError("Password must not be empty");
}

/**
 * Opens the store: PostgreSQL when `--users` (or `FERRY_USERS`) names it,
 * else the credentials file; failures become UserCommandErrors.
 */
async function _open(options: UserCommandOptions, missingOk: boolean): Promise<UserStore> {
  const url = resolveUsersUrl(options.users);
  if (url !== undefined) {
    checkPostgresPermissions();
    const { PostgresUserStore } = await import("../auth/postgres_store.ts");
    return await PostgresUserStore.open(url, { listen: false });
  }
  const path = options.credentials;
  try {
    return await CredentialsFileStore.open(path, { missingOk });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UserCommandError(error.message, { cause: error });
    }
    if (error instanceof SyntaxError) {
      throw new UserCommandError(`${path}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** Runs a change on the store and closes it, turning a missing user into a UserCommandError. */
async function _change(store: UserStore, change: () => Promise<void>): Promise<void> {
  try {
    await change();
  } catch (error) {
    if (error instanceof UserNotFoundError) {
      throw new UserCommandError(error.message, { cause: error });
    }
    if (error instanceof UserStoreUnavailableError) {
      throw new UserCommandError(error.message, { cause: error });
    }
    if (error instanceof UserExistsError) {
      throw new UserCommandError(`${error.message}; use \`ferry user passwd\``, { cause: error });
    }
    throw error;
  } finally {
    await store.close();
  }
}

/**
 * Adds a user, creating the credentials file (with a comment header and mode
 * 0600) if it does not exist.
 *
 * @param name The new user's name.
 * @param password The password; only its scrypt hash is written.
 * @param options The file, and the home (default "/", the whole served root)
 * and permissions (default "elradfmwMT") of the user.
 * @returns The record written.
 * @throws {UserCommandError} If the user exists, or the name, home,
 * permissions or password are invalid, or the file cannot be parsed.
 *
 * @example
 * ```ts
 * await addUser("alice", "s3cret", { credentials: "credentials.txt", home: "/alice", perms: "elr" });
 * ```
 */
export async function addUser(
  name: string,
  password: string,
  options: UserCommandOptions,
): Promise<UserRecord> {
  _checkPassword(password);
  _check(() => checkUserName(name));
  const home = _check(() => normalizeHome(options.home ?? "/"));
  const permissions = _check(() => parsePermissions(options.perms ?? PERMISSION_LETTERS));
  const store = await _open(options, true);
  if (await store.lookup(name) !== undefined) {
    await store.close();
    throw new UserCommandError(`User "${name}" already exists; use \`ferry user passwd\``);
  }
  const passwordHash = await _hash(password, options);
  const user: UserRecord = { name, passwordHash, home, permissions };
  await _change(store, () => store.add(user));
  return user;
}

async function _hash(password: string, options: UserCommandOptions): Promise<string> {
  try {
    return await hashPassword(password, options.cost === undefined ? {} : { cost: options.cost });
  } catch (error) {
    if (error instanceof RangeError) throw new UserCommandError(error.message, { cause: error });
    throw error;
  }
}

/**
 * Sets a new password for an existing user.
 *
 * @param name The user.
 * @param password The new password.
 * @param options The credentials file.
 * @throws {UserCommandError} If the file or the user does not exist, or the password is empty.
 *
 * @example
 * ```ts
 * await changePassword("alice", "n3w", { credentials: "credentials.txt" });
 * ```
 */
export async function changePassword(
  name: string,
  password: string,
  options: UserCommandOptions,
): Promise<void> {
  _checkPassword(password);
  const store = await _open(options, false);
  const user = await store.lookup(name);
  if (user === undefined) {
    await store.close();
    throw new UserCommandError(`User "${name}" does not exist`);
  }
  const passwordHash = await _hash(password, options);
  await _change(store, () => store.update({ ...user, passwordHash }));
}

/**
 * Removes a user.
 *
 * @param name The user.
 * @param options The credentials file.
 * @throws {UserCommandError} If the file or the user does not exist.
 *
 * @example
 * ```ts
 * await removeUser("alice", { credentials: "credentials.txt" });
 * ```
 */
export async function removeUser(name: string, options: UserCommandOptions): Promise<void> {
  const store = await _open(options, false);
  await _change(store, () => store.remove(name));
}

/**
 * Lists the users of the credentials file, in file order.
 *
 * @param options The credentials file.
 * @returns The users (with their hashes; print only name, home and permissions).
 * @throws {UserCommandError} If the file does not exist or cannot be parsed.
 *
 * @example
 * ```ts
 * for (const user of await listUsers({ credentials: "credentials.txt" })) {
 *   console.log(user.name, user.home, user.permissions);
 * }
 * ```
 */
export async function listUsers(options: UserCommandOptions): Promise<UserRecord[]> {
  const store = await _open(options, false);
  try {
    return await store.list();
  } finally {
    await store.close();
  }
}

/** Options of {@linkcode readPassword}. */
export interface ReadPasswordOptions {
  /** Read the password from stdin (`--password-stdin`) instead of prompting. */
  stdin: boolean;
  /**
   * The prompt shown on the TTY (on stderr).
   *
   * @default {"Password: "}
   */
  prompt?: string;
}

/**
 * Reads a new password. With `stdin`, reads all of stdin and strips one
 * trailing newline. Otherwise prompts twice on the terminal without echo and
 * checks that both entries match.
 *
 * @param options Where to read from, and the prompt.
 * @returns The password.
 * @throws {UserCommandError} If the password is empty, the entries do not
 * match, the prompt is cancelled with Ctrl-C, or stdin is not a terminal
 * without `stdin`.
 *
 * @example
 * ```ts
 * const password = await readPassword({ stdin: flags.passwordStdin });
 * ```
 */
export async function readPassword(options: ReadPasswordOptions): Promise<string> {
  let password: string;
  if (options.stdin) {
    const text = await new Response(Deno.stdin.readable).text();
    password = text.replace(/\r?\n$/, "");
  } else {
    if (!Deno.stdin.isTerminal()) {
      throw new UserCommandError(
        "Cannot prompt for a password: stdin is not a terminal; use --password-stdin",
      );
    }
    password = await _promptHidden(options.prompt ?? "Password: ");
    _checkPassword(password);
    const again = await _promptHidden("Repeat password: ");
    if (again !== password) throw new UserCommandError("Passwords do not match");
  }
  _checkPassword(password);
  return password;
}

/** Prompts without echo, turning a cancelled prompt into a UserCommandError. */
async function _promptHidden(prompt: string): Promise<string> {
  try {
    return await readHiddenLine(prompt);
  } catch (error) {
    if (error instanceof HiddenInputCancelledError) {
      throw new UserCommandError("Cancelled", { cause: error });
    }
    throw error;
  }
}
