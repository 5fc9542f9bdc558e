import assert from "node:assert/strict";
import { Logger } from "../../../server/log.ts";
import { ctime, XferLog, xferlogLine } from "../../../server/ops/xferlog.ts";
import { RawClient, withServer } from "../../helpers/raw_client.ts";

Deno.test("Logger json: one object per line with time, event, session, peer, user and fields", () => {
  const lines: string[] = [];
  const log = new Logger((line) => lines.push(line), { format: "json" });
  log.info("connect", { session: 4, peer: "127.0.0.1:5000", user: undefined });
  log.info("transfer", {
    session: 4,
    peer: "127.0.0.1:5000",
    user: "alice",
    verb: "RETR",
    path: "/a\nb",
    bytes: 3,
    ms: 1,
    ok: true,
  });
  assert.equal(lines.length, 2);
  const connect = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(connect), ["time", "event", "session", "peer", "user"]);
  assert.equal(connect.user, null);
  assert.ok(!Number.isNaN(Date.parse(connect.time)));
  assert.match(connect.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const transfer = JSON.parse(lines[1]!);
  assert.deepEqual(transfer, {
    ...transfer,
    event: "transfer",
    path: "/a\nb",
    verb: "RETR",
    ok: true,
  });
  assert.ok(!lines[1]!.includes("\n"));
});

Deno.test("a json-logging server writes parseable lines for a whole session, and never the password", async () => {
  const lines: string[] = [];
  await withServer({ config: { logFormat: "json" } }, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.upload("STOR note.txt", "hello");
    await client.download("RETR note.txt");
    await client.command("PASS wrongpassword-xyz");
    await client.command("QUIT");
    lines.push(...server.logs);
  });
  assert.ok(lines.length >= 4, lines.join("\n"));
  const events = lines.map((line) => JSON.parse(line));
  for (const event of events) {
    assert.equal(typeof event.time, "string");
    assert.equal(typeof event.event, "string");
  }
  const transfers = events.filter((event) => event.event === "transfer");
  assert.deepEqual(
    transfers.map(({ verb, path, bytes, ok, user }) => ({ verb, path, bytes, ok, user })),
    [
      { verb: "STOR", path: "/note.txt", bytes: 5, ok: true, user: "alice" },
      { verb: "RETR", path: "/note.txt", bytes: 5, ok: true, user: "alice" },
    ],
  );
  assert.ok(
    transfers.every((event) => typeof event.ms === "number" && typeof event.session === "number"),
  );
  const text = lines.join("\n");
  assert.ok(!text.includes("wonderland"), "the password must not be logged");
  assert.ok(!text.includes("wrongpassword-xyz"), "a wrong password must not be logged");
});

Deno.test("ctime() writes the xferlog time as ctime(3) does", () => {
  assert.equal(ctime(new Date(2026, 11, 3, 5, 4, 9)), "Thu Dec  3 05:04:09 2026");
  assert.equal(ctime(new Date(2026, 0, 31, 23, 59, 59)), "Sat Jan 31 23:59:59 2026");
});

Deno.test("xferlogLine() writes the 14 wu-ftpd fields; listings are not file transfers", () => {
  const time = new Date(2026, 11, 3, 15, 40, 45);
  const fields = {
    peer: "::ffff:127.0.0.1:5000",
    user: "alice",
    verb: "STOR",
    path: "/my file.txt",
    bytes: 5,
    ms: 2600,
    type: "A",
    ok: false,
  };
  assert.equal(
    xferlogLine({ name: "transfer", time, fields }),
    "Thu Dec  3 15:40:45 2026 3 127.0.0.1 5 /my_file.txt a _ i r alice ftp 0 * i",
  );
  assert.equal(
    xferlogLine({
      name: "transfer",
      time,
      fields: {
        ...fields,
        verb: "RETR",
        ok: true,
        type: "I",
        ms: 3,
        anonymous: true,
        user: "ftp",
        peer: "::1:7",
      },
    })?.split(" ").slice(6).join(" "),
    "1 ::1 5 /my_file.txt b _ o a ftp ftp 0 * c",
  );
  assert.equal(
    xferlogLine({ name: "transfer", time, fields: { ...fields, verb: "LIST" } }),
    undefined,
  );
});

Deno.test("XferLog: a line per finished or failed transfer from a real session, reopened after rotation", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-xferlog-" });
  const path = `${dir}/xferlog`;
  const xferlog = await XferLog.open(path);
  try {
    await withServer({ config: { anonymous: true } }, async (server, track) => {
      server.server.events.on(xferlog.listener);
      const client = track(await RawClient.login(server.port));
      await client.command("TYPE I");
      assert.equal((await client.upload("STOR data.bin", new Uint8Array(1000))).final.code, 226);
      await client.download("LIST");
      assert.equal((await client.download("RETR data.bin")).final.code, 226);
      await Deno.rename(path, `${path}.1`); // logrotate moves the file away
      await xferlog.reopen();
      const anonymous = track(await RawClient.login(server.port, "anonymous", "me@example.org"));
      assert.equal((await anonymous.download("RETR data.bin")).final.code, 226);
      assert.equal((await anonymous.download("RETR missing.bin")).final.code, 550);
      await new Promise((resolve) => setTimeout(resolve, 50)); // the line is written after the 226
    });
    const rotated = (await Deno.readTextFile(`${path}.1`)).trim().split("\n");
    const current = (await Deno.readTextFile(path)).trim().split("\n");
    assert.equal(rotated.length, 2);
    assert.equal(current.length, 1);
    const pattern =
      /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} (\d+) (\S+) (\d+) (\S+) ([ab]) _ ([io]) ([ar]) (\S+) ftp 0 \* ([ci])$/;
    const fields = [...rotated, ...current].map((line) => pattern.exec(line)?.slice(1));
    assert.deepEqual(fields.map((match) => match?.slice(1)), [
      ["127.0.0.1", "1000", "/data.bin", "b", "i", "r", "alice", "c"],
      ["127.0.0.1", "1000", "/data.bin", "b", "o", "r", "alice", "c"],
      ["127.0.0.1", "1000", "/data.bin", "a", "o", "a", "anonymous", "c"],
    ]);
    assert.ok(fields.every((match) => Number(match![0]) >= 1));
    assert.ok(!current.join("").includes("me@example.org"));
  } finally {
    xferlog.close();
    await Deno.remove(dir, { recursive: true });
  }
});
