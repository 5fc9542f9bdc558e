/**
 * The PostgreSQL user store, quota ledger and session slots against a real,
 * throwaway PostgreSQL 15 cluster (tests/helpers/postgres.ts).
 */

import assert from "node:assert/strict";
import { hashPassword } from "../../server/auth/password_hash.ts";
import { PostgresUserStore } from "../../server/auth/postgres_store.ts";
import type { UserRecord } from "../../server/auth/user_record.ts";
import { UserExistsError, UserNotFoundError } from "../../server/auth/user_store.ts";
import { connectPostgres } from "../../server/postgres/connection.ts";
import { UserStoreUnavailableError } from "../../server/auth/user_store_unavailable.ts";
import { migrate, SCHEMA_VERSION } from "../../server/postgres/migrations.ts";
import { parsePostgresUrl } from "../../server/postgres/postgres_url.ts";
import { PostgresUsageLedger } from "../../server/user_limits/postgres_ledger.ts";
import { PostgresSessionSlots } from "../../server/user_limits/postgres_session_slots.ts";
import { startTestPostgres } from "../helpers/postgres.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await sleep(50);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

Deno.test("postgres user store, ledger and session slots", async (t) => {
  const pg = await startTestPostgres();
  const hash = await hashPassword("pw", { cost: 1024 });
  try {
    await t.step(
      "two stores opening a fresh database at once both migrate without error",
      async () => {
        const [a, b] = await Promise.all([
          PostgresUserStore.open(pg.url, { listen: false }),
          PostgresUserStore.open(pg.url, { listen: false }),
        ]);
        await Promise.all([a.close(), b.close()]);
        const sql = connectPostgres(parsePostgresUrl(pg.url));
        try {
          const rows = await sql`select version from ferry_schema_version order by version`;
          assertEqualsVersions(rows.map((row) => row.version as number));
          assert.deepEqual(await migrate(sql), [], "a second migration applies nothing");
          const [again] = await Promise.all([migrate(sql), migrate(sql), migrate(sql)]);
          assert.deepEqual(again, []);
        } finally {
          await sql.end();
        }
      },
    );

    await t.step("CRUD round-trip keeps every field", async () => {
      const store = await PostgresUserStore.open(pg.url, { listen: false });
      try {
        const full: UserRecord = {
          name: "alice",
          passwordHash: hash,
          home: "/home/alice",
          permissions: "elradfmwMT",
          settings: {
            quotaSize: 10 * 2 ** 30 + 7,
            quotaFiles: 1000,
            uploadRate: 2 ** 20,
            downloadRate: 3 * 2 ** 20,
            maxSessions: 2,
            allowFrom: ["10.0.0.0/8", "2001:db8::/32"],
            denyFrom: ["10.9.0.0/16"],
          },
        };
        await store.add(full);
        assert.deepEqual(await store.lookup("alice"), full);
        await assert.rejects(store.add(full), UserExistsError);
        const bare: UserRecord = { name: "bob", passwordHash: hash, home: "/", permissions: "elr" };
        await store.add(bare);
        assert.deepEqual(await store.lookup("bob"), bare, "no settings stays no settings");
        assert.deepEqual((await store.list()).map((user) => user.name), ["alice", "bob"]);
        const changed: UserRecord = {
          ...full,
          home: "/elsewhere",
          permissions: "elr",
          settings: { maxSessions: 5, denyFrom: [] },
        };
        await store.update(changed);
        assert.deepEqual(await store.lookup("alice"), changed);
        await assert.rejects(store.update({ ...bare, name: "carol" }), UserNotFoundError);
        await store.remove("bob");
        assert.equal(await store.lookup("bob"), undefined);
        await assert.rejects(store.remove("bob"), UserNotFoundError);
        await store.remove("alice");
      } finally {
        await store.close();
      }
    });

    await t.step("a change through one store reaches a listening one at once", async () => {
      const a = await PostgresUserStore.open(pg.url, { cacheMs: 60_000 });
      const b = await PostgresUserStore.open(pg.url, { cacheMs: 60_000 });
      try {
        assert.equal(await b.lookup("dave"), undefined); // cached as absent for 60 s
        await a.add({ name: "dave", passwordHash: hash, home: "/d", permissions: "elr" });
        const addedMs = await eventually(async () => (await b.lookup("dave")) !== undefined);
        await a.update({ name: "dave", passwordHash: hash, home: "/d2", permissions: "elr" });
        await eventually(async () => (await b.lookup("dave"))?.home === "/d2");
        await a.remove("dave");
        await eventually(async () => (await b.lookup("dave")) === undefined);
        assert.ok(addedMs < 5000, `seen after ${addedMs} ms`);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    await t.step(
      "wrong password and missing database stop start-up, password redacted",
      async () => {
        const secret = "wrong-secret-pw";
        const error = await assertRejectsWith(
          PostgresUserStore.open(pg.urlWith({ password: secret })),
        );
        assert.match(error.message, /refused the login of role "ferry"/);
        assert.ok(!error.message.includes(secret), error.message);
        assert.equal((error as { exitCode?: number }).exitCode, 2);
        const missing = await assertRejectsWith(
          PostgresUserStore.open(pg.urlWith({ database: "nosuchdb" })),
        );
        assert.match(missing.message, /database "nosuchdb" does not exist/);
        assert.ok(!missing.message.includes("ferry-test-pw"), missing.message);
        assert.equal((missing as { exitCode?: number }).exitCode, 2);
      },
    );

    await t.step("concurrent reserves from two ledgers never overshoot the quota", async () => {
      const storeA = await PostgresUserStore.open(pg.url, { listen: false });
      const storeB = await PostgresUserStore.open(pg.url, { listen: false });
      let measured = 0;
      const measure = () => {
        measured++;
        return Promise.resolve({ bytes: 100, files: 1 });
      };
      const a = new PostgresUsageLedger(storeA.sql, storeA.health, measure);
      const b = new PostgresUsageLedger(storeB.sql, storeB.health, measure);
      try {
        const limits = { quotaSize: 100 + 64 * 1000, quotaFiles: 3 };
        a.limit("/q", limits);
        b.limit("/q", limits);
        await Promise.all([a.usage("/q"), b.usage("/q")]);
        assert.equal(measured <= 2, true);
        // 2 × 600 reservations of 64 bytes, 1000 fit.
        const results = await Promise.all(
          Array.from({ length: 1200 }, (_, i) => (i % 2 ? a : b).reserve("/q/f", 64, 0)),
        );
        assert.equal(results.filter(Boolean).length, 1000);
        assert.deepEqual(await b.usage("/q"), { bytes: 100 + 64 * 1000, files: 1 });
        // Files: 2 more fit, then refused; a delete through A frees one for B.
        assert.equal(await a.reserve("/q/g", 0, 1), true);
        assert.equal(await b.reserve("/q/h", 0, 1), true);
        assert.equal(await b.reserve("/q/i", 0, 1), false);
        a.apply("/q/g", -64, -1);
        assert.equal(await a.reserve("/q/j", 0, 1), true, "A's own delete counted before");
        assert.deepEqual(await b.usage("/q"), { bytes: 100 + 64 * 999, files: 3 });
        // An enclosing unlimited home counts too; an unrelated one does not.
        await a.usage("/");
        assert.equal(await a.reserve("/q/k", 1, 0), true);
        assert.deepEqual(await b.usage("/"), { bytes: 101, files: 1 });
        assert.equal(await a.reserve("/other/x", 5, 1), true);
        assert.deepEqual(await b.usage("/q"), { bytes: 100 + 64 * 999 + 1, files: 3 });
        assert.deepEqual(await b.usage("/"), { bytes: 106, files: 2 });
      } finally {
        await a.close();
        await b.close();
        await Promise.all([storeA.close(), storeB.close()]);
      }
    });

    await t.step("session slots are shared and leases of a dead instance expire", async () => {
      const storeA = await PostgresUserStore.open(pg.url, { listen: false });
      const storeB = await PostgresUserStore.open(pg.url, { listen: false });
      const a = new PostgresSessionSlots(storeA.sql, storeA.health, {
        leaseMs: 1500,
        renewMs: 300,
      });
      const b = new PostgresSessionSlots(storeB.sql, storeB.health, {
        leaseMs: 1500,
        renewMs: 300,
      });
      try {
        const first = await a.acquire("erin", 2);
        const second = await b.acquire("erin", 2);
        assert.ok(first && second);
        assert.equal(await b.acquire("erin", 2), undefined, "2 of 2 held across instances");
        assert.equal(await a.count("erin"), 2);
        await sleep(2500); // longer than a lease: renewals keep both alive
        assert.equal(await b.count("erin"), 2);
        first.release();
        await eventually(async () => (await b.count("erin")) === 1);
        const third = await b.acquire("erin", 2);
        assert.ok(third);
        // Instance A dies: its renewals stop (closing its pool without releasing).
        const dying = await a.acquire("frank", 1);
        assert.ok(dying);
        assert.equal(await b.acquire("frank", 1), undefined);
        await storeA.close(); // no more renewals from A; its lease is left behind
        const freedMs = await eventually(async () => (await b.acquire("frank", 1)) !== undefined);
        assert.ok(freedMs < 10_000, `freed after ${freedMs} ms`);
        second.release();
        third.release();
      } finally {
        await a.close().catch(() => {});
        await b.close();
        await storeB.close();
      }
    });

    await t.step("database stopped: lookups fail fast with unavailable, then recover", async () => {
      const events: string[] = [];
      const store = await PostgresUserStore.open(pg.url, {
        cacheMs: 60_000,
        maxBackoffMs: 500,
        onHealth: (event) => events.push(event.state),
      });
      try {
        await store.add({ name: "gina", passwordHash: hash, home: "/", permissions: "elr" });
        assert.equal((await store.lookup("gina"))?.name, "gina");
        await pg.stop();
        await eventually(() =>
          store.lookup("gina").then(() => false, (error) => {
            assert.ok(error instanceof UserStoreUnavailableError, String(error));
            return true;
          }), 3000);
        const started = Date.now();
        await assert.rejects(store.lookup("gina"), UserStoreUnavailableError);
        assert.ok(Date.now() - started < 1000, "fails fast while down");
        assert.deepEqual(events, ["down"]);
        await pg.start();
        await eventually(async () => {
          try {
            return (await store.lookup("gina"))?.name === "gina";
          } catch {
            return false;
          }
        }, 20_000);
        assert.deepEqual(events, ["down", "up"]);
      } finally {
        await store.close();
      }
    });
  } finally {
    await pg.close();
  }
});

function assertEqualsVersions(versions: number[]): void {
  assert.deepEqual(versions, Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
}

async function assertRejectsWith(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}
