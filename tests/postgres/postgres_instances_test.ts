/**
 * Several ferry instances sharing one real PostgreSQL: users added through
 * `ferry user add --users` on one log in on the other, a quota filled
 * through one is enforced on the other, and the database stopped and
 * started mid-test leaves logged-in sessions working while new logins get
 * 421 and then recover. Also the real `ferry serve` process: its narrowed
 * relaunch reaches the database, and a wrong password stops it with exit 2.
 */

import assert from "node:assert/strict";
import { PostgresUserStore } from "../../server/auth/postgres_store.ts";
import { startWithPostgres } from "../../server/cli/postgres_serve.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "../../server/config.ts";
import { Logger } from "../../server/log.ts";
import type { FtpServer } from "../../server/server.ts";
import { format, RawClient } from "../helpers/raw_client.ts";
import { runProgram } from "../helpers/run_program.ts";
import { startTestPostgres } from "../helpers/postgres.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(
  attempt: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  let last: unknown;
  while (Date.now() - started < timeoutMs) {
    try {
      const value = await attempt();
      if (value !== undefined) return { value, ms: Date.now() - started };
    } catch (error) {
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`not reached within ${timeoutMs} ms (last: ${String(last)})`);
}

/** Runs `ferry user add NAME --users URL`, password on stdin. */
async function cliAddUser(url: string, name: string, password: string, home: string) {
  return await runProgram("deno", [
    "run",
    "-A",
    MAIN,
    "user",
    "add",
    name,
    "--users",
    url,
    "--home",
    home,
    "--password-stdin",
  ], { stdin: `${password}\n`, timeoutMs: 120_000 });
}

/** Logs in and returns the client, or the reply code if the login was refused. */
async function tryLogin(port: number, user: string, password: string) {
  const client = await RawClient.connect(port);
  await client.read(); // 220
  await client.command(`USER ${user}`);
  const reply = await client.command(`PASS ${password}`);
  if (reply.code === 230) return { client, reply };
  await client.close();
  return { reply };
}

Deno.test("two ferry instances share users, quotas and outages through PostgreSQL", async () => {
  const pg = await startTestPostgres();
  const root = await Deno.makeTempDir({ prefix: "ferry-pg-root-" });
  const logA: string[] = [];
  const servers: FtpServer[] = [];
  const clients: RawClient[] = [];
  try {
    const config: ServerConfig = { ...DEFAULT_CONFIG, hosts: ["127.0.0.1"], port: 0, root };
    const a = await startWithPostgres(config, pg.url, {
      logger: new Logger((line) => logA.push(line)),
    });
    servers.push(a);
    const b = await startWithPostgres(config, pg.url, { logger: new Logger(() => {}) });
    servers.push(b);
    const portA = a.addresses[0]!.port;
    const portB = b.addresses[0]!.port;

    // B looks carol up (unknown) before she exists, so a stale cache would show.
    assert.equal((await tryLogin(portB, "carol", "pw-carol")).reply.code, 530);
    const added = await cliAddUser(pg.url, "carol", "pw-carol", "/carol");
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /Added user carol \(home \/carol/);
    assert.match(added.stdout, /sees the change within seconds \(no SIGHUP needed\)/);
    const seen = await eventually(async () => (await tryLogin(portB, "carol", "pw-carol")).client);
    clients.push(seen.value);
    assert.ok(seen.ms < 5000, `carol logged in on B ${seen.ms} ms after the CLI added her`);

    // A quota filled through A is enforced on B.
    const admin = await PostgresUserStore.open(pg.url, { listen: false });
    try {
      const carol = (await admin.lookup("carol"))!;
      await admin.update({ ...carol, settings: { quotaSize: 100_000 } });
    } finally {
      await admin.close();
    }
    await Deno.mkdir(`${root}/carol`, { recursive: true });
    const onA = (await eventually(async () => {
      const login = await tryLogin(portA, "carol", "pw-carol");
      return login.client;
    })).value;
    clients.push(onA);
    const filled = await onA.upload("STOR first.bin", new Uint8Array(80_000).fill(1));
    assert.equal(filled.final.code, 226, format(filled.final));
    // B's session logged in before the quota was set; a new one sees it.
    const onB = (await tryLogin(portB, "carol", "pw-carol")).client!;
    clients.push(onB);
    const refused = await onB.upload("STOR second.bin", new Uint8Array(40_000).fill(2));
    assert.equal(refused.final.code, 552, format(refused.final));
    const fits = await onB.upload("STOR small.bin", new Uint8Array(10_000).fill(3));
    assert.equal(fits.final.code, 226, format(fits.final));
    const again = await onA.upload("STOR third.bin", new Uint8Array(20_000).fill(4));
    assert.equal(again.final.code, 552, "B's upload counted on A: " + format(again.final));

    // PostgreSQL goes away: logged-in sessions keep working, new logins get 421.
    await pg.stop();
    const pwd = await onA.command("PWD");
    assert.equal(pwd.code, 257, format(pwd));
    const download = await onB.download("RETR first.bin");
    assert.equal(download.final.code, 226, format(download.final));
    assert.equal(download.data.length, 80_000);
    const during = await tryLogin(portA, "carol", "pw-carol");
    assert.equal(during.reply.code, 421, format(during.reply));
    assert.ok(
      logA.some((line) => / user-database-down /.test(line)),
      `a clear log line on A:\n${logA.join("")}`,
    );
    assert.ok(logA.some((line) => /reason=user-store-unavailable/.test(line)));
    assert.ok(!logA.join("").includes("ferry-test-pw"), "the password is never logged");

    // Back again: ferry reconnects by itself and new logins work on both instances.
    await pg.start();
    const back = await eventually(
      async () => (await tryLogin(portA, "carol", "pw-carol")).client,
      30_000,
    );
    clients.push(back.value);
    const backB = await eventually(
      async () => (await tryLogin(portB, "carol", "pw-carol")).client,
      30_000,
    );
    clients.push(backB.value);
    assert.ok(logA.some((line) => / user-database-up /.test(line)));
    const list = await onA.download("NLST");
    assert.equal(list.final.code, 226, "the session from before the outage still works");

    // max_sessions counts the sessions on both instances.
    const admin2 = await PostgresUserStore.open(pg.url, { listen: false });
    try {
      const carol = (await admin2.lookup("carol"))!;
      await admin2.add({ ...carol, name: "eve", settings: { maxSessions: 1 } });
    } finally {
      await admin2.close();
    }
    const eveA = (await eventually(async () => (await tryLogin(portA, "eve", "pw-carol")).client))
      .value;
    const second = await tryLogin(portB, "eve", "pw-carol");
    assert.equal(second.reply.code, 421, format(second.reply));
    assert.match(format(second.reply), /Too many sessions/);
    await eveA.command("QUIT");
    await eveA.close();
    clients.push(
      (await eventually(async () => (await tryLogin(portB, "eve", "pw-carol")).client)).value,
    );
  } finally {
    for (const client of clients) await client.close();
    for (const server of servers) await server.close();
    await pg.close();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

Deno.test("ferry serve --users: the narrowed server reaches PostgreSQL; a wrong password exits 2", async () => {
  const pg = await startTestPostgres();
  const root = await Deno.makeTempDir({ prefix: "ferry-pg-serve-" });
  try {
    const secret = "not-the-password-123";
    const wrong = await runProgram("deno", [
      "run",
      "-A",
      MAIN,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--root",
      root,
      "--users",
      pg.urlWith({ password: secret }),
    ], { timeoutMs: 120_000 });
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /PostgreSQL refused the login of role "ferry"/);
    assert.ok(!wrong.stderr.includes(secret) && !wrong.stdout.includes(secret), wrong.stderr);
    const missing = await runProgram("deno", [
      "run",
      "-A",
      MAIN,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--root",
      root,
      "--users",
      pg.urlWith({ database: "absent" }),
    ], { timeoutMs: 120_000 });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /database "absent" does not exist/);
    assert.ok(!missing.stderr.includes("ferry-test-pw"), missing.stderr);

    const added = await cliAddUser(pg.url, "dora", "pw-dora", "/");
    assert.equal(added.code, 0, added.stderr);
    // The URL through FERRY_USERS, the broad `deno run -A` relaunching a narrowed child.
    const child = new Deno.Command("deno", {
      args: ["run", "-A", MAIN, "serve", "--host", "127.0.0.1", "--port", "0", "--root", root],
      env: { FERRY_USERS: pg.url },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderrText = new Response(child.stderr).text();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!/listening on ftp:\/\/127\.0\.0\.1:(\d+)/.test(out)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`serve exited: ${out}\n${await stderrText}`);
        out += value;
      }
      reader.releaseLock();
      const port = Number(/listening on ftp:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
      const { client, reply } = await tryLogin(port, "dora", "pw-dora");
      assert.equal(reply.code, 230, format(reply));
      await client!.close();
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
    const log = await stderrText;
    assert.match(log, /user-database url="postgres:\/\/ferry:\*\*\*@127\.0\.0\.1/);
    assert.ok(!log.includes("ferry-test-pw"), log);
  } finally {
    await pg.close();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
