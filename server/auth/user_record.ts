/**
 * One user of the server, as every user store keeps it, and the checks a
 * record must pass (name, hash, home, permissions, settings).
 *
 * @module
 */

import { normalize } from "node:path/posix";
import { isPasswordHash } from "./password_hash.ts";
import { parsePermissions } from "./permissions.ts";
import { checkUserSettings, type UserSettings } from "./user_settings.ts";

/** One user of the server. */
export interface UserRecord {
  /** The login name: 1-64 characters of `[A-Za-z0-9._@-]`. */
  name: string;
  /** The password hash, `scrypt$N$r$p$saltB64$keyB64` (see `hashPassword`). */
  passwordHash: string;
  /**
   * The home directory: a virtual POSIX path relative to the served root,
   * normalized, starting with "/".
   */
  home: string;
  /** Permission letters in canonical order (see `PERMISSION_LETTERS`). */
  permissions: string;
  /** Quotas, rates and limits; absent (or an absent field) means unlimited. */
  settings?: UserSettings;
}

/** The names that mean "anonymous login" (compared case-insensitively). */
export const ANONYMOUS_NAMES: readonly string[] = ["anonymous", "ftp"];
const _NAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
// deno-lint-ignore no-control-regex
const _CONTROL_CHARACTERS = /[\x00-\x1f\x7f]/;

/**
 * Normalizes a home directory to a virtual path that starts with "/", has no
 * trailing slash and cannot climb above the served root.
 *
 * @param home A virtual path, absolute ("/pub") or relative to the root ("pub").
 * @returns The normalized path, such as "/pub" or "/".
 * @throws {RangeError} If the path is empty, contains control characters or
 * climbs above the root with "..".
 *
 * @example
 * ```ts
 * normalizeHome("pub/./incoming/"); // "/pub/incoming"
 * ```
 */
export function normalizeHome(home: string): string {
  if (home === "") throw new RangeError("Home directory must not be empty");
  if (_CONTROL_CHARACTERS.test(home)) {
    throw new RangeError("Home directory must not contain control characters");
  }
  // Normalize as a relative path so a leading ".." stays visible instead of
  // being silently dropped as it would be for an absolute path.
  const relative = normalize(home.replace(/^\/+/, ""));
  if (relative === ".." || relative.startsWith("../")) {
    throw new RangeError(`Home directory "${home}" climbs above the served root`);
  }
  const trimmed = relative.replace(/\/+$/, "");
  return trimmed === "." || trimmed === "" ? "/" : `/${trimmed}`;
}

/**
 * Checks that a name can be used for a user of the credentials file: 1-64
 * characters of `[A-Za-z0-9._@-]`, and not "anonymous" or "ftp" in any case.
 *
 * @param name The user name.
 * @throws {RangeError} If the name is not allowed.
 *
 * @example
 * ```ts
 * checkUserName("alice"); // ok; "FTP" would throw (reserved for anonymous login)
 * ```
 */
export function checkUserName(name: string): void {
  if (!_NAME_PATTERN.test(name)) {
    throw new RangeError(
      `Invalid user name "${name}": expected 1-64 characters of A-Z a-z 0-9 . _ @ -`,
    );
  }
  if (ANONYMOUS_NAMES.includes(name.toLowerCase())) {
    throw new RangeError(`User name "${name}" is reserved for anonymous login`);
  }
}

/**
 * Checks one record and returns it normalized (home, permission order,
 * settings; an empty settings object is dropped).
 *
 * @param user The record.
 * @returns The normalized record.
 * @throws {RangeError} Naming the first problem found.
 *
 * @example
 * ```ts
 * import { hashPassword } from "./password_hash.ts";
 * const passwordHash = await hashPassword("pw", { cost: 1024 });
 * checkUser({ name: "a", passwordHash, home: "a/", permissions: "rle" }).home; // "/a"
 * ```
 */
export function checkUser(user: UserRecord): UserRecord {
  checkUserName(user.name);
  if (!isPasswordHash(user.passwordHash)) {
    throw new RangeError(
      `Invalid password hash for user "${user.name}": expected scrypt$N$r$p$salt$key`,
    );
  }
  const record: UserRecord = {
    name: user.name,
    passwordHash: user.passwordHash,
    home: normalizeHome(user.home),
    permissions: parsePermissions(user.permissions),
  };
  if (user.settings !== undefined) {
    const settings = checkUserSettings(user.settings);
    if (Object.keys(settings).length > 0) record.settings = settings;
  }
  return record;
}
