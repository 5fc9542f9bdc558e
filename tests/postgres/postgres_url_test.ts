/** The `--users` URL: checks, redaction, and what the narrowed server is allowed. */

import assert from "node:assert/strict";
import {
  parsePostgresUrl,
  POSTGRES_DRIVER_ENV,
  redactSecret,
  redactUrl,
} from "../../server/postgres/postgres_url.ts";
import { narrowedFlags } from "../../server/cli/narrow_permissions.ts";
import { resolveUsersUrl } from "../../server/cli/users_option.ts";
import { servedEnvNames } from "../../server/ops/settings.ts";
import { enclosingPaths } from "../../server/user_limits/postgres_ledger.ts";
import { runProgram } from "../helpers/run_program.ts";

Deno.test("a postgres URL is checked and its password never shown", () => {
  const address = parsePostgresUrl("postgres://ferry:s3cr%40t-pw@db.example:6543/ftp");
  assert.equal(address.user, "ferry");
  assert.equal(address.host, "db.example");
  assert.equal(address.port, 6543);
  assert.equal(address.database, "ftp");
  assert.equal(address.password, "s3cr@t-pw");
  assert.equal(address.redacted, "postgres://ferry:***@db.example:6543/ftp");
  assert.equal(parsePostgresUrl("postgresql://u:p@h/d").port, 5432);
  assert.equal(
    redactSecret("auth failed for s3cr@t-pw (s3cr%40t-pw) at " + address.url, address),
    "auth failed for *** (***) at postgres://ferry:***@db.example:6543/ftp",
  );
  assert.equal(redactUrl("postgres://u@h/d"), "postgres://u@h/d");
  for (
    const [bad, why] of [
      ["mysql://u:p@h/d", /expected postgres:\/\//],
      ["postgres://:secret-pw@h/d", /names no user/],
      ["postgres://u:secret-pw@h/", /names no database/],
      ["postgres://u:secret-pw@h", /names no database/],
    ] as const
  ) {
    assert.throws(() => parsePostgresUrl(bad), (error: Error) => {
      assert.match(error.message, why);
      assert.ok(!error.message.includes("secret-pw"), error.message);
      return error instanceof RangeError;
    });
  }
  assert.throws(() => resolveUsersUrl("./users.txt"), /expected postgres:\/\//);
  assert.equal(resolveUsersUrl("postgres://u:p@h/d"), "postgres://u:p@h/d");
});

Deno.test("the narrowed server gets exactly the driver's environment variables", () => {
  const flags = narrowedFlags({
    root: "/srv",
    credentials: "/c.txt",
    env: [...POSTGRES_DRIVER_ENV],
  });
  assert.deepEqual(flags, [
    "--allow-net",
    "--allow-read=/srv,/c.txt",
    "--allow-write=/srv",
    `--allow-env=${[...servedEnvNames(), "PGAPPNAME", "PGTARGETSESSIONATTRS"].join(",")}`,
  ]);
  assert.ok(servedEnvNames().includes("FERRY_USERS"));
  const without = narrowedFlags({ root: "/srv", credentials: "/c.txt" }).at(-1)!;
  assert.ok(!without.includes("PGAPPNAME"), "the driver's variables only with --users");
});

Deno.test("a path counts in every home that contains it", () => {
  assert.deepEqual(enclosingPaths("/a/b/c.txt"), ["/", "/a", "/a/b", "/a/b/c.txt"]);
  assert.deepEqual(enclosingPaths("/"), ["/"]);
});

Deno.test("ferry serve never shows the --users password: bad URL, --print-config", async () => {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const bad = await runProgram("deno", [
    "run",
    "-A",
    main,
    "serve",
    "--users",
    "mysql://u:secret-pw-1@h/d",
  ]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /users: expected a URL \(postgres:\/\/…/);
  assert.ok(!bad.stderr.includes("secret-pw-1"), bad.stderr);
  const noDatabase = await runProgram("deno", ["run", "-A", main, "serve", "--port", "0"], {
    env: { FERRY_USERS: "postgres://u:secret-pw-2@127.0.0.1" },
  });
  assert.equal(noDatabase.code, 2, noDatabase.stderr);
  assert.match(noDatabase.stderr, /postgres:\/\/u:\*\*\*@127\.0\.0\.1 names no database/);
  assert.ok(!noDatabase.stderr.includes("secret-pw-2"), noDatabase.stderr);
  const shown = await runProgram("deno", [
    "run",
    "-A",
    main,
    "serve",
    "--users",
    "postgres://u:secret-pw-3@127.0.0.1:5432/ferry",
    "--print-config",
  ]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /users = "postgres:\/\/u:\*\*\*@127\.0\.0\.1:5432\/ferry"/);
  assert.ok(!shown.stdout.includes("secret-pw-3"));
});
