/**
 * ferry's tables in PostgreSQL, created and migrated by ferry itself:
 * numbered steps recorded in `ferry_schema_version`, each applied once, all
 * under one transaction-scoped advisory lock so instances starting at once
 * take turns instead of racing into errors.
 *
 * @module
 */

import type { Sql } from "./connection.ts";

/** The channel ferry notifies when a user row changes (the payload is the name). */
export const USERS_CHANNEL = "ferry_users";

/** The advisory lock key that serializes migrations (any fixed 64-bit number). */
const _MIGRATION_LOCK = 0x6665727279n; // "ferry"

/** One schema step. */
export interface Migration {
  /** The version it brings the schema to (1, 2, …). */
  readonly version: number;
  /** What it does. */
  readonly description: string;
  /** The statements, run in order inside the migration transaction. */
  readonly statements: readonly string[];
}

/** Every schema step, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "users, quota usage per home, session leases, change notifications",
    statements: [
      `create table ferry_users (
        name text primary key,
        password_hash text not null,
        home text not null,
        permissions text not null,
        quota_size bigint check (quota_size >= 0),
        quota_files bigint check (quota_files >= 0),
        upload_rate bigint check (upload_rate >= 0),
        download_rate bigint check (download_rate >= 0),
        max_sessions bigint check (max_sessions >= 0),
        allow_from text[],
        deny_from text[],
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`,
      `create table ferry_quota_usage (
        home text primary key,
        bytes bigint not null default 0,
        files bigint not null default 0,
        measured_at timestamptz not null default now()
      )`,
      `create table ferry_session_leases (
        id text primary key,
        user_name text not null,
        instance text not null,
        expires_at timestamptz not null
      )`,
      `create index ferry_session_leases_user on ferry_session_leases (user_name, expires_at)`,
      // One round trip per login: lock the user's leases, drop expired ones,
      // count, and take a lease unless the user holds p_max already.
      `create function ferry_take_session_lease(
        p_id text, p_user text, p_instance text, p_lease_ms bigint, p_max bigint
      ) returns boolean language plpgsql as $$
      declare
        held bigint;
      begin
        perform pg_advisory_xact_lock(hashtext('ferry-slots:' || p_user));
        delete from ferry_session_leases where user_name = p_user and expires_at < now();
        if p_max is not null then
          select count(*) into held from ferry_session_leases where user_name = p_user;
          if held >= p_max then
            return false;
          end if;
        end if;
        insert into ferry_session_leases (id, user_name, instance, expires_at)
          values (p_id, p_user, p_instance, now() + p_lease_ms * interval '1 millisecond');
        return true;
      end $$`,
      `create function ferry_users_notify() returns trigger language plpgsql as $$
      begin
        perform pg_notify('${USERS_CHANNEL}', coalesce(new.name, old.name));
        if tg_op = 'UPDATE' and new.name <> old.name then
          perform pg_notify('${USERS_CHANNEL}', old.name);
        end if;
        return null;
      end $$`,
      `create trigger ferry_users_changed after insert or update or delete on ferry_users
        for each row execute function ferry_users_notify()`,
    ],
  },
];

/** The newest schema version this ferry knows. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Raised when the database's schema is newer than this ferry. */
export class SchemaTooNewError extends Error {
  /** @param found The version in the database. */
  constructor(readonly found: number) {
    super(
      `The user database has schema version ${found}, newer than this ferry knows (${SCHEMA_VERSION}); upgrade ferry`,
    );
    this.name = "SchemaTooNewError";
  }
}

/**
 * Brings the schema up to {@linkcode SCHEMA_VERSION}; safe to run again and
 * from several instances at once.
 *
 * @returns The versions applied now (empty when the schema was current).
 * @throws {SchemaTooNewError} If the database is ahead of this ferry.
 */
export async function migrate(sql: Sql): Promise<number[]> {
  return await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${_MIGRATION_LOCK.toString()}::bigint)`;
    await tx`create table if not exists ferry_schema_version (
      version integer primary key,
      description text not null,
      applied_at timestamptz not null default now()
    )`;
    const [row] = await tx<{ version: number | null }[]>`
      select max(version) as version from ferry_schema_version`;
    const current = row?.version ?? 0;
    if (current > SCHEMA_VERSION) throw new SchemaTooNewError(current);
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      for (const statement of migration.statements) await tx.unsafe(statement);
      await tx`insert into ferry_schema_version (version, description)
        values (${migration.version}, ${migration.description})`;
      applied.push(migration.version);
    }
    return applied;
  });
}
