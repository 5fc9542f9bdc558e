/**
 * The `--users` option of `ferry serve` and `ferry user …` (also the
 * `FERRY_USERS` environment variable): where users are kept. Absent, the
 * credentials file; a `postgres://` URL, the PostgreSQL store.
 *
 * @module
 */

import {
  isPostgresUrl,
  parsePostgresUrl,
  POSTGRES_DRIVER_ENV,
  USERS_ENV,
} from "../postgres/postgres_url.ts";
import { CommandError } from "../../cli/command_error.ts";

/** Exit code for a `--users` set-up that cannot work (bad URL, missing permission). */
const _EXIT_USAGE = 2;

/**
 * The PostgreSQL URL to use: the option if given, else `FERRY_USERS` (when
 * this process may read it), else undefined (the credentials file).
 *
 * @throws {CommandError} If the value is not a `postgres://` URL or lacks a
 * user, host or database (exit 2; the password never appears).
 *
 * @example
 * ```ts
 * resolveUsersUrl("postgres://ferry:pw@127.0.0.1/ferry"); // the URL
 * ```
 */
export function resolveUsersUrl(option?: string): string | undefined {
  let url = option;
  if (url === undefined) {
    const allowed = Deno.permissions.querySync({ name: "env", variable: USERS_ENV }).state ===
      "granted";
    url = allowed ? Deno.env.get(USERS_ENV) || undefined : undefined;
  }
  if (url === undefined) return undefined;
  if (!isPostgresUrl(url)) {
    throw new CommandError(
      "Invalid --users: expected postgres://USER:PASSWORD@HOST:PORT/DB (omit it for the credentials file)",
      _EXIT_USAGE,
    );
  }
  try {
    parsePostgresUrl(url);
  } catch (error) {
    throw new CommandError((error as Error).message, _EXIT_USAGE);
  }
  return url;
}

/**
 * The `--allow-env` names a process using the PostgreSQL store needs, and
 * a check that it has them.
 *
 * @throws {CommandError} Naming the flag to add (exit 2).
 */
export function checkPostgresPermissions(): void {
  const missing = POSTGRES_DRIVER_ENV.filter((variable) =>
    Deno.permissions.querySync({ name: "env", variable }).state !== "granted"
  );
  if (missing.length > 0) {
    throw new CommandError(
      `--users postgres://… needs --allow-env=${
        POSTGRES_DRIVER_ENV.join(",")
      } (the PostgreSQL driver reads them)`,
      _EXIT_USAGE,
    );
  }
}

/** The environment variables a narrowed `ferry serve` with a PostgreSQL store may read. */
export function postgresServeEnv(): string[] {
  return [...POSTGRES_DRIVER_ENV, USERS_ENV];
}
