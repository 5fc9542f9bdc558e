/**
 * Everything ferry keeps in PostgreSQL for instances that share it, opened
 * together on one pool: the user store, the quota ledger and the session
 * slots, with the database's comings and goings written to the log.
 *
 * @module
 */

import * as path from "node:path";
import { PostgresUserStore } from "../auth/postgres_store.ts";
import type { Logger } from "../log.ts";
import { PostgresUsageLedger } from "../user_limits/postgres_ledger.ts";
import { PostgresSessionSlots } from "../user_limits/postgres_session_slots.ts";
import { measureDirectory } from "../user_limits/quota_ledger.ts";
import { SCHEMA_VERSION } from "./migrations.ts";

/** The user store, quota ledger and session slots in one database. */
export interface PostgresBackend {
  /** The users; closing it closes the ledger and slots too. */
  readonly store: PostgresUserStore;
  /** Quota usage shared by every instance. */
  readonly ledger: PostgresUsageLedger;
  /** Per-user session counts shared by every instance. */
  readonly slots: PostgresSessionSlots;
}

/** Options of {@linkcode openPostgresBackend}. */
export interface PostgresBackendOptions {
  /** The served root on disk, where homes are measured when no instance has yet. */
  root: string;
  /** Where the database's state changes are logged. */
  logger: Logger;
  /**
   * Session lease time, in milliseconds.
   *
   * @default {30000}
   */
  leaseMs?: number;
  /**
   * Session lease renewal period, in milliseconds.
   *
   * @default {10000}
   */
  renewMs?: number;
}

/**
 * Opens the store (checking the login and migrating the schema), the ledger
 * and the session slots.
 *
 * @param url `postgres://USER:PASSWORD@HOST:PORT/DB`.
 * @throws {RangeError} If the URL is malformed.
 * @throws {PostgresStartupError} If the database refuses ferry (exit 2).
 *
 * @example
 * ```ts ignore
 * const backend = await openPostgresBackend(url, { root: "./srv", logger: new Logger() });
 * ```
 */
export async function openPostgresBackend(
  url: string,
  options: PostgresBackendOptions,
): Promise<PostgresBackend> {
  const { logger } = options;
  const store = await PostgresUserStore.open(url, {
    onHealth: (event) => {
      if (event.state === "down") {
        logger.info("user-database-down", {
          reason: event.reason,
          effect: "new logins get 421 until it is back; reconnecting with backoff",
        });
      } else {
        logger.info("user-database-up", { downMs: event.downMs, attempts: event.attempts });
      }
    },
  });
  const ledger = new PostgresUsageLedger(
    store.sql,
    store.health,
    (home) => measureDirectory(path.join(options.root, home)),
    { onRetry: (reason) => logger.info("quota-usage-retry", { reason }) },
  );
  const slots = new PostgresSessionSlots(store.sql, store.health, {
    ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
    ...(options.renewMs !== undefined ? { renewMs: options.renewMs } : {}),
  });
  store.attach(slots);
  store.attach(ledger);
  logger.info("user-database", { url: store.address.redacted, schema: SCHEMA_VERSION });
  return { store, ledger, slots };
}
