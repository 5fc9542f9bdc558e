/**
 * The `--users postgres://USER:PASSWORD@HOST:PORT/DB` address: checks it and
 * hides its password wherever it could be shown (logs, errors).
 *
 * @module
 */

/**
 * The environment variables the PostgreSQL driver (postgres.js) reads even
 * when the URL names everything; a server with `--users postgres://…` needs
 * `--allow-env` for exactly these (the narrowed relaunch gets them).
 */
export const POSTGRES_DRIVER_ENV: readonly string[] = ["PGAPPNAME", "PGTARGETSESSIONATTRS"];

/** The environment variable that may hold the `--users` URL. */
export const USERS_ENV = "FERRY_USERS";

/** The parts of a PostgreSQL URL that may be shown (never the password). */
export interface PostgresAddress {
  /** The URL as given (with its password): only for the driver. */
  readonly url: string;
  /** The URL with the password replaced by `***`, for messages. */
  readonly redacted: string;
  /** The role name. */
  readonly user: string;
  /** The host name or address. */
  readonly host: string;
  /** The port (5432 when the URL has none). */
  readonly port: number;
  /** The database name. */
  readonly database: string;
  /** The password, for {@linkcode redactSecret} only. */
  readonly password: string;
}

/** True when `text` looks like a PostgreSQL URL (`postgres://` or `postgresql://`). */
export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//i.test(text);
}

/**
 * Checks a PostgreSQL URL: scheme, role, host and database must be present.
 *
 * @param text The URL.
 * @returns Its parts.
 * @throws {RangeError} Naming what is missing; the message never contains the password.
 *
 * @example
 * ```ts
 * parsePostgresUrl("postgres://ferry:pw@127.0.0.1:5432/ferry").redacted;
 * // "postgres://ferry:***@127.0.0.1:5432/ferry"
 * ```
 */
export function parsePostgresUrl(text: string): PostgresAddress {
  if (!isPostgresUrl(text)) {
    throw new RangeError("Invalid --users URL: expected postgres://USER:PASSWORD@HOST:PORT/DB");
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(
      "Invalid --users URL (cannot parse it): expected postgres://USER:PASSWORD@HOST:PORT/DB",
    );
  }
  const password = decodeURIComponent(url.password);
  const redacted = redactUrl(text);
  const user = decodeURIComponent(url.username);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (user === "") throw new RangeError(`The --users URL ${redacted} names no user`);
  if (url.hostname === "") throw new RangeError(`The --users URL ${redacted} names no host`);
  if (database === "" || database.includes("/")) {
    throw new RangeError(`The --users URL ${redacted} names no database`);
  }
  const port = url.port === "" ? 5432 : Number(url.port);
  return { url: text, redacted, user, host: url.hostname, port, database, password };
}

/**
 * Replaces the password of a URL by `***`.
 *
 * @example
 * ```ts
 * redactUrl("postgres://u:secret@h/db"); // "postgres://u:***@h/db"
 * ```
 */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z]+:\/\/[^:@/]*):[^@/]*@/i, "$1:***@");
}

/**
 * Removes every appearance of the address's password (plain and
 * URL-encoded) from a text, such as a driver's error message.
 *
 * @example
 * ```ts
 * const address = parsePostgresUrl("postgres://u:secret@h/db");
 * redactSecret("failed for secret", address); // "failed for ***"
 * ```
 */
export function redactSecret(text: string, address: PostgresAddress): string {
  let result = text.split(address.url).join(address.redacted);
  for (const secret of [address.password, encodeURIComponent(address.password)]) {
    if (secret.length >= 4) result = result.split(secret).join("***");
  }
  return result;
}
