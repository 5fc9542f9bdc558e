/**
 * The logic behind `ferry user add|passwd|remove|list`: edits the credentials
 * file atomically, and reads passwords from stdin or a hidden TTY prompt.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { CommandError, EXIT_FAILURE } from "../../cli/command_error.ts";
import { HiddenInputCancelledError, readHiddenLine } from "../../cli/hidden_input.ts";
import {
  checkUserName,
  formatCredentials,
  hashPassword,
  normalizeHome,
  parseCredentials,
  parsePermissions,
  PERMISSION_LETTERS,
  type UserRecord,
} from "../auth/authenticator.ts";

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

/** The file content split into its leading comment block and its users. */
interface _CredentialsFile {
  header: string | undefined;
  users: UserRecord[];
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

/** The plain text of the comment lines at the top of a file, or undefined if there are none. */
function _leadingComment(text: string): string | undefined {
  const comment: string[] = [];
  for (const line of text.replace(/\r/g, "").split("\n")) {
    if (!line.startsWith("#")) break;
    comment.push(line.replace(/^# ?/, ""));
  }
  return comment.length === 0 ? undefined : comment.join("\n");
}

async function _read(path: string, missingOk: boolean): Promise<_CredentialsFile | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      if (missingOk) return null;
      throw new UserCommandError(
        `Credentials file "${path}" not found; create it with \`ferry user add\``,
        { cause: error },
      );
    }
    throw error;
  }
  try {
    return { header: _leadingComment(text), users: parseCredentials(text) };
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new UserCommandError(`${path}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/**
 * Replaces the file atomically: writes `FILE.tmp-<random>` in the same
 * directory, flushes it, then renames it over the file. A new file gets mode
 * 0600; an existing one keeps its mode. A symlink is followed, not replaced.
 */
async function _write(path: string, file: _CredentialsFile | null, users: UserRecord[]) {
  // A new file gets the default header; an existing one keeps its own (or none).
  const text = file === null
    ? formatCredentials(users)
    : formatCredentials(users, file.header ?? "");
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
  const file = await _read(options.credentials, true);
  const users = file?.users ?? [];
  if (users.some((user) => user.name === name)) {
    throw new UserCommandError(`User "${name}" already exists; use \`ferry user passwd\``);
  }
  const passwordHash = await _hash(password, options);
  const user: UserRecord = { name, passwordHash, home, permissions };
  await _write(options.credentials, file, [...users, user]);
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
  const file = await _read(options.credentials, false);
  const users = file?.users ?? [];
  const index = users.findIndex((user) => user.name === name);
  const user = users[index];
  if (user === undefined) throw new UserCommandError(`User "${name}" does not exist`);
  const passwordHash = await _hash(password, options);
  users[index] = { ...user, passwordHash };
  await _write(options.credentials, file, users);
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
  const file = await _read(options.credentials, false);
  const users = file?.users ?? [];
  const remaining = users.filter((user) => user.name !== name);
  if (remaining.length === users.length) {
    throw new UserCommandError(`User "${name}" does not exist`);
  }
  await _write(options.credentials, file, remaining);
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
  return (await _read(options.credentials, false))?.users ?? [];
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
