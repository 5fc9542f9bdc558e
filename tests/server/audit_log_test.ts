import assert from "node:assert/strict";
import { RawClient, withServer } from "../helpers/raw_client.ts";
import { DEFAULT_TEST_USERS } from "../helpers/test_server.ts";

const SECRET = "Zq9-distinctive-Secret-7781";
const WRONG = "Wx4-distinctive-Guess-5512";

/** The log lines for `event` that carry every one of `fields` (as `key=value`). */
function find(logs: string[], event: string, fields: Record<string, string>): string[] {
  return logs.filter((line) =>
    line.split(" ")[1] === event &&
    Object.entries(fields).every(([key, value]) => line.includes(` ${key}=${value}`))
  );
}

Deno.test("log lines never contain a password, whatever the login does", async () => {
  const users = [...DEFAULT_TEST_USERS, { name: "auditor", password: SECRET }];
  await withServer({ users, config: { maxLoginFailures: 2 } }, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.expect(`PASS ${SECRET}`, 503); // PASS before USER
    await client.expect("USER auditor", 331);
    await client.expect(`PASS ${WRONG}`, 530);
    await client.expect("USER auditor", 331);
    await client.expect(`PASS ${SECRET}`, 230);
    await client.expect(`USER ${"nobody"}`, 331);
    await client.expect(`PASS ${SECRET}`, 421); // the second failure closes the session
    const anonymous = track(await RawClient.connect(server.port));
    await anonymous.read();
    await anonymous.expect("USER anonymous", 331);
    await anonymous.expect(`PASS ${SECRET}`, 530); // not enabled
    await anonymous.expect(`SITE ${SECRET}`, 530);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const all = server.logs.join("\n");
    assert.ok(server.logs.length > 5, "something was logged");
    assert.equal(all.includes(SECRET), false, "the right password is not logged");
    assert.equal(all.includes(WRONG), false, "a wrong password is not logged");
    assert.equal(all.includes("Zq9"), false, "no part of it either");
  });
});

Deno.test("logins, failed and successful, are logged with user and address", async () => {
  await withServer({}, async (server, track) => {
    const failed = track(await RawClient.connect(server.port));
    await failed.read();
    await failed.expect("USER mallory", 331);
    await failed.expect("PASS nope", 530);
    await failed.expect("USER alice", 331);
    await failed.expect("PASS nope", 530);
    const good = track(await RawClient.login(server.port));
    await good.expect("NOOP", 200);
    const peer = "127\\.0\\.0\\.1:\\d+";
    assert.equal(find(server.logs, "login", { user: "mallory", ok: "false" }).length, 1);
    assert.equal(find(server.logs, "login", { user: "alice", ok: "false" }).length, 1);
    assert.equal(find(server.logs, "login", { user: "alice", ok: "true" }).length, 1);
    for (const line of find(server.logs, "login", {})) {
      assert.match(line, new RegExp(` peer=${peer} `), line);
    }
  });
});

Deno.test("every write, delete, rename, mkdir, rmdir, chmod and mfmt is logged with user, address and path", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    assert.equal((await client.upload("STOR a.txt", "a")).final.code, 226);
    assert.equal((await client.upload("APPE a.txt", "b")).final.code, 226);
    assert.equal((await client.upload("STOU u.txt", "u")).final.code, 226);
    await client.expect("MKD dir", 257);
    await client.expect("RNFR a.txt", 350);
    await client.expect("RNTO dir/b.txt", 250);
    await client.expect("SITE CHMOD 600 dir/b.txt", 200);
    await client.expect("MFMT 20200102030405 dir/b.txt", 213);
    await client.expect("DELE dir/b.txt", 250);
    await client.expect("RMD dir", 250);
    const who = { user: "alice" };
    const expected: [string, Record<string, string>][] = [
      ["transfer", { ...who, verb: "STOR", path: "/a.txt", ok: "true" }],
      ["transfer", { ...who, verb: "APPE", path: "/a.txt", ok: "true" }],
      ["transfer", { ...who, verb: "STOU", path: "/u.txt", ok: "true" }],
      ["mkdir", { ...who, path: "/dir" }],
      ["rename", { ...who, from: "/a.txt", to: "/dir/b.txt" }],
      ["chmod", { ...who, path: "/dir/b.txt", mode: "600" }],
      ["mfmt", { ...who, path: "/dir/b.txt" }],
      ["delete", { ...who, path: "/dir/b.txt" }],
      ["rmdir", { ...who, path: "/dir" }],
    ];
    for (const [event, fields] of expected) {
      const lines = find(server.logs, event, fields);
      assert.equal(
        lines.length,
        1,
        `${event} ${JSON.stringify(fields)}:\n${server.logs.join("\n")}`,
      );
      assert.match(lines[0]!, / peer=127\.0\.0\.1:\d+ /);
    }
  });
});

Deno.test("a failed upload is logged too, with ok=false", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const data = await client.passiveData();
    await client.send("STOR part.bin");
    await client.read();
    await client.send("ABOR");
    assert.equal((await client.read()).code, 426);
    assert.equal((await client.read()).code, 226);
    data.close();
    const lines = find(server.logs, "transfer", { user: "alice", verb: "STOR", ok: "false" });
    assert.equal(lines.length, 1, server.logs.join("\n"));
    assert.match(lines[0]!, / path=\/part\.bin /);
  });
});

Deno.test("a log sink that throws (full disk, closed pipe) does not take a session down", async () => {
  const { Logger } = await import("../../server/log.ts");
  const logger = new Logger(() => {
    throw new Error("No space left on device");
  });
  logger.info("transfer", { bytes: 1 });
});
