/**
 * Users kept in PostgreSQL (`--users postgres://…`), shared by every ferry
 * instance that names the same database. Each user field has its column;
 * changes made through any instance (or `ferry user`, or SQL) reach the
 * others at once through `LISTEN/NOTIFY`, with a short cache lifetime as a
 * fallback. When the database goes away, lookups fail fast with
 * {@linkcode UserStoreUnavailableError} (login answers 421) while a
 * probe reconnects with backoff.
 *
 * @module
 */

import { checkUser, type UserRecord } from "./user_record.ts";
import type { UserSettings } from "./user_settings.ts";
import { UserExistsError, UserNotFoundError, type UserStore } from "./user_store.ts";
import {
  checkPostgres,
  connectPostgres,
  DatabaseHealth,
  describePostgresError,
  errorCode,
  type HealthEvent,
  PostgresStartupError,
  type Sql,
} from "../postgres/connection.ts";
import { migrate, SchemaTooNewError, USERS_CHANNEL } from "../postgres/migrations.ts";
import { parsePostgresUrl, type PostgresAddress } from "../postgres/postgres_url.ts";

/** Options of {@linkcode PostgresUserStore.open}. */
export interface PostgresStoreOptions {
  /**
   * How long a looked-up user is trusted without hearing of a change, in
   * milliseconds: the fallback if a notification is lost.
   *
   * @default {5000}
   */
  cacheMs?: number;
  /**
   * Listen for changes made elsewhere (`LISTEN ferry_users`); `ferry user`
   * does not need to.
   *
   * @default {true}
   */
  listen?: boolean;
  /** Told when the database goes down or comes back (for the log). */
  onHealth?: (event: HealthEvent) => void;
  /**
   * Longest wait between reconnection attempts, in milliseconds.
   *
   * @default {5000}
   */
  maxBackoffMs?: number;
}

interface _UserRow {
  name: string;
  password_hash: string;
  home: string;
  permissions: string;
  quota_size: string | null;
  quota_files: string | null;
  upload_rate: string | null;
  download_rate: string | null;
  max_sessions: string | null;
  allow_from: string[] | null;
  deny_from: string[] | null;
}

const _NUMBER_COLUMNS = [
  ["quota_size", "quotaSize"],
  ["quota_files", "quotaFiles"],
  ["upload_rate", "uploadRate"],
  ["download_rate", "downloadRate"],
  ["max_sessions", "maxSessions"],
] as const;

/** Turns a row into a record (bigints arrive as strings). */
function _toRecord(row: _UserRow): UserRecord {
  const settings: Record<string, unknown> = {};
  for (const [column, field] of _NUMBER_COLUMNS) {
    const value = row[column];
    if (value !== null) settings[field] = Number(value);
  }
  if (row.allow_from !== null) settings.allowFrom = row.allow_from;
  if (row.deny_from !== null) settings.denyFrom = row.deny_from;
  const record: UserRecord = {
    name: row.name,
    passwordHash: row.password_hash,
    home: row.home,
    permissions: row.permissions,
  };
  if (Object.keys(settings).length > 0) record.settings = settings as UserSettings;
  return Object.freeze(record);
}

interface _Columns {
  name: string;
  password_hash: string;
  home: string;
  permissions: string;
  quota_size: number | null;
  quota_files: number | null;
  upload_rate: number | null;
  download_rate: number | null;
  max_sessions: number | null;
  allow_from: string[] | null;
  deny_from: string[] | null;
}

/** The column values of a record. */
function _toColumns(user: UserRecord): _Columns {
  const settings = user.settings ?? {};
  return {
    name: user.name,
    password_hash: user.passwordHash,
    home: user.home,
    permissions: user.permissions,
    quota_size: settings.quotaSize ?? null,
    quota_files: settings.quotaFiles ?? null,
    upload_rate: settings.uploadRate ?? null,
    download_rate: settings.downloadRate ?? null,
    max_sessions: settings.maxSessions ?? null,
    allow_from: settings.allowFrom ? [...settings.allowFrom] : null,
    deny_from: settings.denyFrom ? [...settings.denyFrom] : null,
  };
}

const _COLUMNS = [
  "name",
  "password_hash",
  "home",
  "permissions",
  "quota_size",
  "quota_files",
  "upload_rate",
  "download_rate",
  "max_sessions",
  "allow_from",
  "deny_from",
] as const;

/**
 * Users in a PostgreSQL database.
 *
 * @example
 * ```ts ignore
 * const store = await PostgresUserStore.open("postgres://ferry:pw@127.0.0.1:5432/ferry");
 * await store.lookup("alice");
 * await store.close();
 * ```
 */
export class PostgresUserStore implements UserStore {
  /** The address (password hidden in `redacted`). */
  readonly address: PostgresAddress;
  readonly #sql: Sql;
  readonly #health: DatabaseHealth;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, { user: UserRecord | undefined; expires: number }>();
  #listening = false;
  #unlisten: (() => Promise<void>) | undefined;
  #closed = false;
  readonly #attached: { close(): Promise<void> }[] = [];

  private constructor(address: PostgresAddress, sql: Sql, options: PostgresStoreOptions) {
    this.address = address;
    this.#sql = sql;
    this.#cacheMs = options.cacheMs ?? 5000;
    this.#health = new DatabaseHealth(sql, (event) => {
      if (event.state === "down") {
        this.#listening = false;
        this.#cache.clear();
      }
      options.onHealth?.(event);
    }, options.maxBackoffMs === undefined ? {} : { maxBackoffMs: options.maxBackoffMs });
  }

  /**
   * Connects, checks the login, creates or migrates the schema and starts
   * listening for changes.
   *
   * @param url `postgres://USER:PASSWORD@HOST:PORT/DB`.
   * @throws {RangeError} If the URL is malformed.
   * @throws {PostgresStartupError} If the database refuses ferry (wrong
   * password, no such database, unreachable, schema too new); exit 2.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresUserStore> {
    const address = parsePostgresUrl(url);
    let onClose = () => {};
    const sql = connectPostgres(address, { onClose: () => onClose() });
    try {
      await checkPostgres(sql, address);
      try {
        await migrate(sql);
      } catch (error) {
        if (error instanceof SchemaTooNewError) throw new PostgresStartupError(error.message);
        throw new PostgresStartupError(
          `Cannot create ferry's tables in ${address.redacted}: ${
            describePostgresError(error, address)
          }`,
        );
      }
      const store = new PostgresUserStore(address, sql, options);
      // A connection closed (the database restarting, a network cut): the change
      // notifications may have been missed, so trust nothing cached until the
      // listener is subscribed again.
      onClose = () => {
        store.#listening = false;
        store.#cache.clear();
      };
      if (options.listen ?? true) await store.#listen();
      return store;
    } catch (error) {
      await sql.end({ timeout: 1 }).catch(() => {});
      throw error;
    }
  }

  /** The shared connection pool (the ledger and session slots use it too). */
  get sql(): Sql {
    return this.#sql;
  }

  /** The database's health, shared with the ledger and session slots. */
  get health(): DatabaseHealth {
    return this.#health;
  }

  async #listen(): Promise<void> {
    const subscription = await this.#sql.listen(
      USERS_CHANNEL,
      (name) => this.#cache.delete(name),
      () => {
        // (Re)subscribed: changes made while we were away were not heard.
        this.#cache.clear();
        this.#listening = true;
      },
    );
    this.#unlisten = subscription.unlisten;
  }

  #run<T>(query: () => Promise<T>): Promise<T> {
    return this.#health.run(query, (error) => describePostgresError(error, this.address));
  }

  /**
   * Looks a user up: from the cache while change notifications are heard
   * (for up to `cacheMs`), else from the database.
   *
   * @throws {UserStoreUnavailableError} If the database cannot be reached.
   */
  async lookup(name: string): Promise<UserRecord | undefined> {
    this.#health.check();
    const cached = this.#cache.get(name);
    if (cached && this.#listening && cached.expires > Date.now()) return cached.user;
    const rows = await this.#run(() =>
      this.#sql<_UserRow[]>`select ${this.#sql(_COLUMNS)} from ferry_users where name = ${name}`
    );
    const user = rows[0] ? _toRecord(rows[0]) : undefined;
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(name, { user, expires: Date.now() + this.#cacheMs });
    return user;
  }

  /** Every user, by name. */
  async list(): Promise<UserRecord[]> {
    const rows = await this.#run(() =>
      this.#sql<_UserRow[]>`select ${this.#sql(_COLUMNS)} from ferry_users order by name`
    );
    return rows.map(_toRecord);
  }

  /** Adds a user. */
  async add(user: UserRecord): Promise<void> {
    const c = _toColumns(checkUser(user));
    try {
      await this.#run(() =>
        this.#sql`insert into ferry_users (${this.#sql(_COLUMNS)}) values (
          ${c.name}, ${c.password_hash}, ${c.home}, ${c.permissions}, ${c.quota_size},
          ${c.quota_files}, ${c.upload_rate}, ${c.download_rate}, ${c.max_sessions},
          ${c.allow_from}::text[], ${c.deny_from}::text[])`
      );
    } catch (error) {
      if (errorCode(error) === "23505") throw new UserExistsError(user.name);
      throw error;
    }
    this.#cache.delete(user.name);
  }

  /** Replaces a user. */
  async update(user: UserRecord): Promise<void> {
    const c = _toColumns(checkUser(user));
    const rows = await this.#run(() =>
      this.#sql`update ferry_users set password_hash = ${c.password_hash}, home = ${c.home},
        permissions = ${c.permissions}, quota_size = ${c.quota_size},
        quota_files = ${c.quota_files}, upload_rate = ${c.upload_rate},
        download_rate = ${c.download_rate}, max_sessions = ${c.max_sessions},
        allow_from = ${c.allow_from}::text[], deny_from = ${c.deny_from}::text[],
        updated_at = now()
        where name = ${c.name} returning name`
    );
    this.#cache.delete(user.name);
    if (rows.length === 0) throw new UserNotFoundError(user.name);
  }

  /** Removes a user. */
  async remove(name: string): Promise<void> {
    const rows = await this.#run(() =>
      this.#sql`delete from ferry_users where name = ${name} returning name`
    );
    this.#cache.delete(name);
    if (rows.length === 0) throw new UserNotFoundError(name);
  }

  /**
   * Closes `resource` (a ledger, session slots) with the store, before the
   * pool they share.
   */
  attach(resource: { close(): Promise<void> }): void {
    this.#attached.push(resource);
  }

  /** Closes what is attached, stops listening and closes the pool. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const resource of this.#attached) await resource.close().catch(() => {});
    this.#health.close();
    await this.#unlisten?.().catch(() => {});
    await this.#sql.end({ timeout: 2 });
  }
}
