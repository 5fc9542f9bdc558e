/**
 * One PostgreSQL connection pool for ferry (postgres.js), its start-up check
 * with clear messages, and the health watch that notices the database going
 * away and brings it back with backoff.
 *
 * @module
 */

import postgres from "postgres";
import { CommandError } from "../../cli/command_error.ts";
import { type PostgresAddress, redactSecret } from "./postgres_url.ts";
import { UserStoreUnavailableError } from "../auth/user_store_unavailable.ts";

/** A postgres.js query function (a pool). */
export type Sql = postgres.Sql;

/** The exit code of a start-up that the database refused (wrong password, no such database). */
export const EXIT_POSTGRES_CONFIG = 2;

/** The database refused ferry at start-up; the message says what to fix. */
export class PostgresStartupError extends CommandError {
  /** @param message What to fix, without the password. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_POSTGRES_CONFIG, options);
    this.name = "PostgresStartupError";
  }
}

/** Options of {@linkcode connectPostgres}. */
export interface ConnectOptions {
  /**
   * Most connections in the pool.
   *
   * @default {4}
   */
  max?: number;
  /**
   * Seconds to wait for a connection.
   *
   * @default {5}
   */
  connectTimeoutSeconds?: number;
  /** Told whenever a connection of the pool closes (pool connections close only on trouble). */
  onClose?: () => void;
}

/**
 * Opens a pool (lazily: nothing connects until the first query). Every
 * driver option is given here, so the driver reads only
 * `POSTGRES_DRIVER_ENV` (see postgres_url.ts) from the environment.
 */
export function connectPostgres(address: PostgresAddress, options: ConnectOptions = {}): Sql {
  return postgres(address.url, {
    max: options.max ?? 4,
    ssl: false,
    sslnegotiation: null,
    backoff: (retries: number) => Math.min(0.25 * 2 ** retries, 5),
    // Connections close only on trouble, so a close is news (see `onClose`).
    idle_timeout: 0,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    max_lifetime: 0,
    max_pipeline: 100,
    keep_alive: 30,
    prepare: true,
    debug: false,
    fetch_types: true,
    publications: "alltables",
    target_session_attrs: undefined,
    onnotice: () => {},
    onclose: () => options.onClose?.(),
    connection: { application_name: "ferry" },
  } as unknown as postgres.Options<Record<string, never>>);
}

/** A driver error's SQLSTATE or system code, if any. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * True when an error means the database cannot be reached or used right now
 * (as opposed to a bad query or a constraint): connection refused or lost,
 * timeouts, the server shutting down or starting up.
 */
export function isConnectionError(error: unknown): boolean {
  const code = errorCode(error);
  if (code === undefined) return false;
  return /^(08|57P0|53)/.test(code) ||
    [
      "ECONNREFUSED",
      "ECONNRESET",
      "ETIMEDOUT",
      "EPIPE",
      "ENOTFOUND",
      "EHOSTUNREACH",
      "CONNECT_TIMEOUT",
      "CONNECTION_CLOSED",
      "CONNECTION_ENDED",
      "CONNECTION_DESTROYED",
    ].includes(code);
}

/** A one-line reason for a driver error, with the password removed. */
export function describePostgresError(error: unknown, address: PostgresAddress): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return redactSecret(code && !message.includes(code) ? `${message} (${code})` : message, address);
}

/**
 * Checks at start-up that the database takes ferry's login: a wrong
 * password, an unknown role or a missing database stops start-up with
 * {@linkcode PostgresStartupError} (exit 2), as does a database that cannot
 * be reached.
 */
export async function checkPostgres(sql: Sql, address: PostgresAddress): Promise<void> {
  try {
    await sql`select 1`;
  } catch (error) {
    const code = errorCode(error);
    const reason = describePostgresError(error, address);
    const where = address.redacted;
    if (code === "28P01" || code === "28000") {
      throw new PostgresStartupError(
        `PostgreSQL refused the login of role "${address.user}" (wrong password or role?) at ${where}: ${reason}`,
      );
    }
    if (code === "3D000") {
      throw new PostgresStartupError(
        `PostgreSQL database "${address.database}" does not exist at ${where} (create it first: createdb -O ${address.user} ${address.database})`,
      );
    }
    throw new PostgresStartupError(`Cannot use PostgreSQL at ${where}: ${reason}`);
  }
}

/** What {@linkcode DatabaseHealth} reports. */
export type HealthEvent =
  | { state: "down"; reason: string }
  | { state: "up"; downMs: number; attempts: number };

/**
 * Whether the database is reachable, as seen by ferry's queries: the first
 * connection failure marks it down (reported once), and a probe then
 * retries with exponential backoff (0.25 s doubling up to `maxBackoffMs`)
 * until a query succeeds, then reports it up again. While down, callers
 * fail fast instead of each waiting for a connection.
 */
export class DatabaseHealth {
  readonly #sql: Sql;
  readonly #onEvent: (event: HealthEvent) => void;
  readonly #maxBackoffMs: number;
  #downSince: number | undefined;
  #reason = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * @param sql The pool to probe.
   * @param onEvent Told when the database goes down and comes back.
   * @param options The longest wait between probes.
   */
  constructor(
    sql: Sql,
    onEvent: (event: HealthEvent) => void,
    options: { maxBackoffMs?: number } = {},
  ) {
    this.#sql = sql;
    this.#onEvent = onEvent;
    this.#maxBackoffMs = options.maxBackoffMs ?? 5000;
  }

  /** True while the database is known to be down. */
  get down(): boolean {
    return this.#downSince !== undefined;
  }

  /** The reason it is down (empty when up). */
  get reason(): string {
    return this.#reason;
  }

  /** Throws {@linkcode UserStoreUnavailableError} while down. */
  check(): void {
    if (this.down) throw new UserStoreUnavailableError(this.#reason);
  }

  /**
   * Runs a query; a connection failure marks the database down and becomes
   * {@linkcode UserStoreUnavailableError}. Other errors pass through.
   */
  async run<T>(query: () => Promise<T>, describe: (error: unknown) => string): Promise<T> {
    this.check();
    try {
      return await query();
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      const reason = describe(error);
      this.markDown(reason);
      throw new UserStoreUnavailableError(reason);
    }
  }

  /** Marks the database down (once) and starts probing it with backoff. */
  markDown(reason: string): void {
    if (this.#closed || this.#downSince !== undefined) return;
    this.#downSince = Date.now();
    this.#reason = reason;
    this.#onEvent({ state: "down", reason });
    this.#probe(250, 1);
  }

  #probe(delayMs: number, attempt: number): void {
    this.#timer = setTimeout(async () => {
      this.#timer = undefined;
      if (this.#closed) return;
      try {
        await this.#sql`select 1`;
      } catch {
        if (!this.#closed) this.#probe(Math.min(delayMs * 2, this.#maxBackoffMs), attempt + 1);
        return;
      }
      const downMs = Date.now() - (this.#downSince ?? Date.now());
      this.#downSince = undefined;
      this.#reason = "";
      this.#onEvent({ state: "up", downMs, attempts: attempt });
    }, delayMs);
  }

  /** Stops probing. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}
