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
import {
  checkUserSettings,
  parseUserSetting,
  USER_SETTING_KEYS,
  type UserSettings,
} from "../auth/user_settings.ts";
import { measureDirectory, type Usage } from "../user_limits/quota_ledger.ts";
import * as path from "node:path";
import { UserExistsError, UserNotFoundError, type UserStore } from "../auth/user_store.ts";
import { UserStoreUnavailableError } from "../auth/user_store_unavailable.ts";
import { checkPostgresPermissions, resolveUsersUrl } from "./users_option.ts";

/**
 * A failure a `ferry user` command reports to its user: an existing or
 * missing user, a missing or unreadable credentials file, bad input, a
 * cancelled prompt.
 *
 * @example
 * ```ts ignore
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
  /** Per-user settings (quotas, rates, sessions, address rules), for `add` only. */
  settings?: UserSettings;
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
 * ```ts ignore
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
  const settings = _check(() => checkUserSettings(options.settings ?? {}));
  const user: UserRecord = {
    name,
    passwordHash,
    home,
    permissions,
    ...(Object.keys(settings).length > 0 ? { settings } : {}),
  };
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
 * ```ts ignore
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
 * ```ts ignore
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
 * ```ts ignore
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

/** What `ferry user set` changes: settings to set, and settings to clear. */
export interface SettingChanges {
  /** Settings given a value. */
  readonly set: UserSettings;
  /** Settings to clear (back to the server's default, else unlimited). */
  readonly clear: readonly (keyof UserSettings)[];
}

/**
 * Reads the setting flags of `ferry user add|set` (commander's option
 * object: `quotaSize: "10G"`, `allowFrom: ["10.0.0.0/8"]`, `quota: false`
 * for `--no-quota`, …) into the settings to set and to clear.
 *
 * @throws {UserCommandError} If a value is invalid.
 *
 * @example
 * ```ts
 * settingChanges({ quotaSize: "10G", downloadRate: false });
 * // { set: { quotaSize: 10737418240 }, clear: ["downloadRate"] }
 * ```
 */
export function settingChanges(flags: Record<string, unknown>): SettingChanges {
  let set: UserSettings = {};
  const clear: (keyof UserSettings)[] = [];
  if (flags.quota === false) clear.push("quotaSize", "quotaFiles");
  for (const { key, field } of USER_SETTING_KEYS) {
    const value = flags[field];
    if (value === false) {
      if (!clear.includes(field)) clear.push(field);
    } else if (typeof value === "string" || (Array.isArray(value) && value.length > 0)) {
      const text = Array.isArray(value) ? value.join(",") : value;
      set = _check(() => parseUserSetting(set, key, text));
    }
  }
  return { set, clear };
}

/**
 * Changes a user's home, permissions or settings.
 *
 * @param name The user.
 * @param changes The settings to set and to clear.
 * @param options The credentials file, and a new home or permissions if given.
 * @returns The record written.
 * @throws {UserCommandError} If the file or the user does not exist, or a value is invalid.
 *
 * @example
 * ```ts ignore
 * await setUser("alice", { set: { quotaSize: 2 ** 30 }, clear: [] }, { credentials: "credentials.txt" });
 * ```
 */
export async function setUser(
  name: string,
  changes: SettingChanges,
  options: UserCommandOptions,
): Promise<UserRecord> {
  const home = options.home === undefined ? undefined : _check(() => normalizeHome(options.home!));
  const permissions = options.perms === undefined
    ? undefined
    : _check(() => parsePermissions(options.perms!));
  const store = await _open(options, false);
  const user = await store.lookup(name);
  if (user === undefined) {
    await store.close();
    throw new UserCommandError(`User "${name}" does not exist`);
  }
  const merged: Record<string, unknown> = { ...user.settings, ...changes.set };
  for (const field of changes.clear) delete merged[field];
  const settings = _check(() => checkUserSettings(merged as UserSettings));
  const { settings: _old, ...rest } = user;
  const updated: UserRecord = {
    ...rest,
    ...(home === undefined ? {} : { home }),
    ...(permissions === undefined ? {} : { permissions }),
    ...(Object.keys(settings).length > 0 ? { settings } : {}),
  };
  await _change(store, () => store.update(updated));
  return updated;
}

/** What `ferry user show` prints: the user (without the hash) and the home's usage. */
export interface UserReport {
  /** The login name. */
  readonly name: string;
  /** The home, inside the served root. */
  readonly home: string;
  /** Permission letters. */
  readonly permissions: string;
  /** The user's own settings (unset ones are unlimited, or the server's defaults). */
  readonly settings: UserSettings;
  /** Bytes and files under the home now. */
  readonly usage: Usage;
}

/**
 * A user's settings and the usage of their home, counted on disk under `root`.
 *
 * @throws {UserCommandError} If the file or the user does not exist.
 *
 * @example
 * ```ts ignore
 * const report = await showUser("alice", { credentials: "credentials.txt", root: "./srv" });
 * ```
 */
export async function showUser(
  name: string,
  options: UserCommandOptions & { root?: string },
): Promise<UserReport> {
  const store = await _open(options, false);
  let user: UserRecord | undefined;
  try {
    user = await store.lookup(name);
  } finally {
    await store.close();
  }
  if (user === undefined) throw new UserCommandError(`User "${name}" does not exist`);
  const usage = await measureDirectory(path.join(options.root ?? "./srv", user.home));
  return {
    name: user.name,
    home: user.home,
    permissions: user.permissions,
    settings: user.settings ?? {},
    usage,
  };
}

/**
 * A report as lines for a terminal.
 *
 * @example
 * ```ts
 * formatUserReport({
 *   name: "alice",
 *   home: "/alice",
 *   permissions: "elr",
 *   settings: { quotaFiles: 10 },
 *   usage: { bytes: 5, files: 1 },
 * }); // "user alice\nhome /alice\n…"
 * ```
 */
export function formatUserReport(report: UserReport): string {
  const { settings, usage } = report;
  const text = (value: number | readonly string[] | undefined) =>
    value === undefined ? "unlimited" : Array.isArray(value) ? value.join(", ") : String(value);
  return [
    `user ${report.name}`,
    `home ${report.home}`,
    `permissions ${report.permissions}`,
    `usage ${usage.bytes} bytes, ${usage.files} files`,
    `quota_size ${text(settings.quotaSize)}`,
    `quota_files ${text(settings.quotaFiles)}`,
    `upload_rate ${text(settings.uploadRate)}`,
    `download_rate ${text(settings.downloadRate)}`,
    `max_sessions ${text(settings.maxSessions)}`,
    `allow_from ${settings.allowFrom ? text(settings.allowFrom) : "anywhere"}`,
    `deny_from ${settings.denyFrom ? text(settings.denyFrom) : "nowhere"}`,
  ].join("\n");
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
 * ```ts ignore
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

/**
 * What to tell about servers already running after a change: a server on
 * the credentials file picks it up at its next SIGHUP (`fileHint`); every
 * server on a PostgreSQL store sees it within seconds by itself.
 *
 * @example
 * ```ts
 * reloadHint({ credentials: "credentials.txt" }, "…next SIGHUP…"); // the file hint
 * ```
 */
export function reloadHint(options: UserCommandOptions, fileHint: string): string {
  return resolveUsersUrl(options.users) === undefined
    ? fileHint
    : "Every ferry server on this database sees the change within seconds (no SIGHUP needed).";
}
