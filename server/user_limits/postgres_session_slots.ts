/**
 * Per-user session counts shared by every ferry instance, in PostgreSQL: a
 * login takes a lease row that expires unless its instance renews it, so
 * the slots of an instance that died free themselves after the lease time.
 *
 * @module
 */

import type { DatabaseHealth, Sql } from "../postgres/connection.ts";
import type { SessionSlot, SessionSlots } from "./session_slots.ts";

/** Options of {@linkcode PostgresSessionSlots}. */
export interface PostgresSlotsOptions {
  /**
   * How long a lease lasts without renewal, in milliseconds.
   *
   * @default {30000}
   */
  leaseMs?: number;
  /**
   * How often this instance renews its leases, in milliseconds.
   *
   * @default {10000}
   */
  renewMs?: number;
  /**
   * This instance's name in the lease rows.
   *
   * @default {a random id}
   */
  instance?: string;
}

/**
 * {@linkcode SessionSlots} as expiring leases in PostgreSQL.
 *
 * @example
 * ```ts ignore
 * const slots = new PostgresSessionSlots(store.sql, store.health);
 * const slot = await slots.acquire("alice", 2); // undefined when alice holds 2 everywhere
 * slot?.release();
 * ```
 */
export class PostgresSessionSlots implements SessionSlots {
  readonly #sql: Sql;
  readonly #health: DatabaseHealth;
  readonly #leaseMs: number;
  readonly #renewMs: number;
  /** This instance's name in the lease rows. */
  readonly instance: string;
  /** Leases held here: id → user. */
  readonly #held = new Map<string, string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #renewing: Promise<void> | undefined;

  /**
   * @param sql The pool (shared with the user store).
   * @param health The database's health (shared with the user store).
   * @param options Lease time, renewal period, instance name.
   */
  constructor(sql: Sql, health: DatabaseHealth, options: PostgresSlotsOptions = {}) {
    this.#sql = sql;
    this.#health = health;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#renewMs = options.renewMs ?? 10_000;
    this.instance = options.instance ?? crypto.randomUUID();
  }

  #run<T>(query: () => Promise<T>): Promise<T> {
    return this.#health.run(query, (error) => (error as Error).message);
  }

  /**
   * Takes a lease for `user` unless it holds `max` unexpired leases on all
   * instances together.
   *
   * @throws {UserStoreUnavailableError} If the database cannot be reached.
   */
  async acquire(user: string, max?: number): Promise<SessionSlot | undefined> {
    const id = crypto.randomUUID();
    const [row] = await this.#run(() =>
      this.#sql<{ taken: boolean }[]>`select ferry_take_session_lease(${id}, ${user},
        ${this.instance}, ${this.#leaseMs}, ${max ?? null}) as taken`
    );
    const taken = row?.taken === true;
    if (!taken) return undefined;
    this.#held.set(id, user);
    this.#startRenewing();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#held.delete(id);
        // If this fails the lease simply expires.
        this.#sql`delete from ferry_session_leases where id = ${id}`.catch(() => {});
      },
    };
  }

  /** Unexpired leases of `user` on all instances. */
  async count(user: string): Promise<number> {
    const [row] = await this.#run(() =>
      this.#sql<{ held: string }[]>`select count(*) as held from ferry_session_leases
        where user_name = ${user} and expires_at >= now()`
    );
    return Number(row?.held ?? 0);
  }

  #startRenewing(): void {
    if (this.#timer !== undefined) return;
    const timer = setInterval(() => {
      this.#renewing ??= this.renew().catch(() => {}).finally(() => this.#renewing = undefined);
    }, this.#renewMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /**
   * Extends every lease held here; a lease that expired while the database
   * was away is taken again (its session is still logged in).
   */
  async renew(): Promise<void> {
    if (this.#held.size === 0) return;
    const ids = [...this.#held.keys()];
    const users = ids.map((id) => this.#held.get(id)!);
    await this.#sql`insert into ferry_session_leases (id, user_name, instance, expires_at)
      select id, user_name, ${this.instance}, now() + ${this.#leaseMs} * interval '1 millisecond'
      from unnest(${ids}::text[], ${users}::text[]) as held(id, user_name)
      on conflict (id) do update set expires_at = excluded.expires_at`;
  }

  /** Stops renewing and gives back every lease held here. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const ids = [...this.#held.keys()];
    this.#held.clear();
    if (ids.length > 0) {
      await this.#sql`delete from ferry_session_leases where id = any(${ids}::text[])`
        .catch(() => {});
    }
  }
}
