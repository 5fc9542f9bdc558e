/**
 * Quota usage kept in PostgreSQL, shared by every ferry instance serving the
 * same root: one row per home (bytes, files), created by measuring the disk
 * the first time any instance needs it, then changed only in transactions.
 * A reservation locks the rows of every home containing the path, checks
 * the limits and adds the bytes in the same transaction, so instances
 * uploading for one user at once never lose an update and never pass a
 * quota by more than the bytes already reserved (one block per upload in
 * flight).
 *
 * @module
 */

import { type DatabaseHealth, isConnectionError, type Sql } from "../postgres/connection.ts";
import {
  contains,
  type MeasureUsage,
  type QuotaLimits,
  type Usage,
  type UsageLedger,
} from "./quota_ledger.ts";

/** Every directory that contains a virtual path, and the path itself: "/a/b" → ["/", "/a", "/a/b"]. */
export function enclosingPaths(path: string): string[] {
  const parts = path.split("/").filter((part) => part !== "");
  const paths = ["/"];
  for (let i = 1; i <= parts.length; i++) paths.push(`/${parts.slice(0, i).join("/")}`);
  return paths;
}

interface _Change {
  paths: string[];
  bytes: number;
  files: number;
}

/** Options of {@linkcode PostgresUsageLedger}. */
export interface PostgresLedgerOptions {
  /** Told when a change could not be written and will be retried (for the log). */
  onRetry?: (reason: string) => void;
}

/**
 * A {@linkcode UsageLedger} in PostgreSQL.
 *
 * @example
 * ```ts ignore
 * const ledger = new PostgresUsageLedger(store.sql, store.health, measure);
 * ledger.limit("/alice", { quotaSize: 1 << 20 });
 * await ledger.usage("/alice");
 * await ledger.reserve("/alice/file", 65536, 1); // true while under the quota
 * ```
 */
export class PostgresUsageLedger implements UsageLedger {
  readonly #sql: Sql;
  readonly #health: DatabaseHealth;
  readonly #measure: MeasureUsage;
  readonly #limits = new Map<string, QuotaLimits>();
  /** Homes whose row this process has made sure of since the last forget(). */
  readonly #known = new Set<string>();
  #remeasure = false;
  /** Changes not written yet, in order. */
  readonly #pending: _Change[] = [];
  #flushing: Promise<void> | undefined;
  readonly #onRetry: (reason: string) => void;
  #closed = false;

  /**
   * @param sql The pool (shared with the user store).
   * @param health The database's health (shared with the user store).
   * @param measure Measures a home on the shared disk when no instance has yet.
   */
  constructor(
    sql: Sql,
    health: DatabaseHealth,
    measure: MeasureUsage,
    options: PostgresLedgerOptions = {},
  ) {
    this.#sql = sql;
    this.#health = health;
    this.#measure = measure;
    this.#onRetry = options.onRetry ?? (() => {});
  }

  /** Sets (or clears) the limits of a home, for reservations made by this process. */
  limit(home: string, limits: QuotaLimits): void {
    if (limits.quotaSize === undefined && limits.quotaFiles === undefined) {
      this.#limits.delete(home);
    } else {
      this.#limits.set(home, limits);
    }
  }

  #run<T>(query: () => Promise<T>): Promise<T> {
    return this.#health.run(query, (error) => (error as Error).message);
  }

  /** The shared usage of `home`; measured from the disk if no instance has yet. */
  async usage(home: string): Promise<Usage> {
    await this.#flush();
    if (!this.#known.has(home)) {
      const rows = this.#remeasure
        ? []
        : await this.#run(() => this.#sql`select 1 from ferry_quota_usage where home = ${home}`);
      if (rows.length === 0) {
        const measured = await this.#measure(home);
        await this.#run(() =>
          this.#remeasure
            ? this.#sql`insert into ferry_quota_usage (home, bytes, files)
                values (${home}, ${measured.bytes}, ${measured.files})
                on conflict (home) do update set bytes = excluded.bytes, files = excluded.files,
                  measured_at = now()`
            : this.#sql`insert into ferry_quota_usage (home, bytes, files)
                values (${home}, ${measured.bytes}, ${measured.files})
                on conflict (home) do nothing`
        );
      }
      this.#known.add(home);
    }
    const [row] = await this.#run(() =>
      this.#sql<{ bytes: string; files: string }[]>`
        select bytes, files from ferry_quota_usage where home = ${home}`
    );
    return { bytes: Number(row?.bytes ?? 0), files: Number(row?.files ?? 0) };
  }

  /**
   * Adds `bytes` and `files` at `path` in one transaction, unless a limited
   * home (measured by some instance) containing it would pass its limits.
   *
   * @throws {UserStoreUnavailableError} If the database cannot be reached.
   */
  async reserve(path: string, bytes: number, files: number): Promise<boolean> {
    await this.#flush();
    const paths = enclosingPaths(path);
    const limited = [...this.#limits].filter(([home]) => contains(home, path));
    return await this.#run(() =>
      this.#sql.begin(async (tx) => {
        const rows = await tx<{ home: string; bytes: string; files: string }[]>`
          select home, bytes, files from ferry_quota_usage where home = any(${paths})
          order by home for update`;
        for (const [home, limits] of limited) {
          const row = rows.find((candidate) => candidate.home === home);
          if (!row) continue;
          if (
            limits.quotaSize !== undefined && bytes > 0 &&
            Number(row.bytes) + bytes > limits.quotaSize
          ) return false;
          if (
            limits.quotaFiles !== undefined && files > 0 &&
            Number(row.files) + files > limits.quotaFiles
          ) return false;
        }
        if (rows.length > 0 && (bytes !== 0 || files !== 0)) {
          await tx`update ferry_quota_usage set bytes = greatest(0, bytes + ${bytes}),
            files = greatest(0, files + ${files}) where home = any(${paths})`;
        }
        return true;
      })
    );
  }

  /**
   * Records a change that needs no check; written in the background, in
   * order, and kept and retried while the database is away.
   */
  apply(path: string, bytes: number, files: number): void {
    if (bytes === 0 && files === 0) return;
    this.#pending.push({ paths: enclosingPaths(path), bytes, files });
    void this.#flush().catch(() => {});
  }

  /** Writes pending changes; resolves when none is left (or the ledger closed). */
  #flush(): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve();
    this.#flushing ??= this.#drain().finally(() => this.#flushing = undefined);
    return this.#flushing;
  }

  async #drain(): Promise<void> {
    let delayMs = 250;
    while (this.#pending.length > 0 && !this.#closed) {
      const change = this.#pending[0]!;
      try {
        await this.#sql`update ferry_quota_usage set bytes = greatest(0, bytes + ${change.bytes}),
          files = greatest(0, files + ${change.files}) where home = any(${change.paths})`;
        this.#pending.shift();
        delayMs = 250;
      } catch (error) {
        if (!isConnectionError(error)) {
          this.#pending.shift();
          this.#onRetry(`dropped a usage change: ${(error as Error).message}`);
          continue;
        }
        this.#health.markDown((error as Error).message);
        this.#onRetry(`usage change kept for retry: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        delayMs = Math.min(delayMs * 2, 5000);
      }
    }
  }

  /** Measures every home again on its next need (a reload, a quota scan). */
  forget(): void {
    this.#known.clear();
    this.#remeasure = true;
  }

  /** Waits (up to `timeoutMs`) for pending changes to be written, then stops. */
  async close(timeoutMs = 5000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#flush(),
      new Promise((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
    this.#closed = true;
  }
}
