import assert from "node:assert/strict";
import { RawClient, text, withServer } from "../helpers/raw_client.ts";

Deno.test("DELE removes a file with 250", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/gone.txt`, "x");
    const client = track(await RawClient.login(server.port));
    await client.expect("DELE gone.txt", 250);
    await assert.rejects(Deno.stat(`${server.root}/gone.txt`), Deno.errors.NotFound);
  });
});

Deno.test("DELE of a missing file or a directory answers 550", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/dir`);
    const client = track(await RawClient.login(server.port));
    await client.expect("DELE missing.txt", 550);
    await client.expect("DELE dir", 550);
    assert.equal((await Deno.stat(`${server.root}/dir`)).isDirectory, true);
  });
});

Deno.test("DELE without an argument answers 501", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("DELE", 501);
  });
});

Deno.test("RNFR answers 350 and RNTO renames with 250", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/old.txt`, "content");
    await Deno.mkdir(`${server.root}/dir`);
    const client = track(await RawClient.login(server.port));
    await client.expect("RNFR old.txt", 350);
    await client.expect("RNTO dir/new.txt", 250);
    assert.equal(await Deno.readTextFile(`${server.root}/dir/new.txt`), "content");
    await assert.rejects(Deno.stat(`${server.root}/old.txt`), Deno.errors.NotFound);
  });
});

Deno.test("RNFR renames directories too", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/before`);
    const client = track(await RawClient.login(server.port));
    await client.expect("RNFR before", 350);
    await client.expect("RNTO after", 250);
    assert.equal((await Deno.stat(`${server.root}/after`)).isDirectory, true);
  });
});

Deno.test("RNFR of a missing file answers 550 and RNTO then answers 503", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("RNFR missing.txt", 550);
    await client.expect("RNTO other.txt", 503);
  });
});

Deno.test("RNTO without RNFR is a bad sequence (503)", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("RNTO x", 503);
  });
});

Deno.test("RNFR then another command then RNTO is a bad sequence (503)", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/old.txt`, "content");
    const client = track(await RawClient.login(server.port));
    await client.expect("RNFR old.txt", 350);
    await client.expect("NOOP", 200);
    await client.expect("RNTO new.txt", 503);
    assert.equal(await Deno.readTextFile(`${server.root}/old.txt`), "content");
  });
});

Deno.test("RNFR of the root answers 550", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("RNFR /", 550);
  });
});

Deno.test("SIZE answers 213 with the byte count in TYPE I", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "one\ntwo\nthree\n");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    assert.equal(text(await client.expect("SIZE f.txt", 213)), "14");
  });
});

Deno.test("SIZE in TYPE A counts the CR added before each LF", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "one\ntwo\nthree\n");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE A", 200);
    assert.equal(text(await client.expect("SIZE f.txt", 213)), "17");
  });
});

Deno.test("SIZE of a missing file or a directory answers 550", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/dir`);
    const client = track(await RawClient.login(server.port));
    await client.expect("SIZE missing", 550);
    await client.expect("SIZE dir", 550);
  });
});

Deno.test("MDTM answers 213 with YYYYMMDDHHMMSS in UTC", async () => {
  await withServer({}, async (server, track) => {
    const path = `${server.root}/f.txt`;
    await Deno.writeTextFile(path, "x");
    await Deno.utime(path, new Date("2021-03-04T05:06:07Z"), new Date("2021-03-04T05:06:07Z"));
    const client = track(await RawClient.login(server.port));
    assert.equal(text(await client.expect("MDTM f.txt", 213)), "20210304050607");
    await client.expect("MDTM missing", 550);
  });
});

Deno.test("MFMT sets the modification time on disk and answers 213", async () => {
  await withServer({}, async (server, track) => {
    const path = `${server.root}/f.txt`;
    await Deno.writeTextFile(path, "x");
    const client = track(await RawClient.login(server.port));
    const reply = await client.expect("MFMT 20200102030405 f.txt", 213);
    assert.match(text(reply), /Modify=20200102030405; f\.txt/);
    assert.equal((await Deno.stat(path)).mtime?.toISOString(), "2020-01-02T03:04:05.000Z");
    assert.equal(text(await client.expect("MDTM f.txt", 213)), "20200102030405");
  });
});

Deno.test("MFMT with a bad time answers 501 and on a missing file 550", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "x");
    const client = track(await RawClient.login(server.port));
    await client.expect("MFMT yesterday f.txt", 501);
    await client.expect("MFMT 20200102030405", 501);
    await client.expect("MFMT 20200102030405 missing.txt", 550);
  });
});

Deno.test("MLST answers 250 with the facts of one entry over the control connection", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "hello");
    const client = track(await RawClient.login(server.port));
    const reply = await client.expect("MLST f.txt", 250);
    assert.equal(reply.lines.length, 3);
    const facts = reply.lines[1]!;
    assert.match(facts, /^ type=file;size=5;modify=\d{14};perm=[a-z]+;/);
    assert.match(facts, / \/f\.txt$/);
    const dir = await client.expect("MLST", 250);
    assert.match(dir.lines[1]!, /^ type=dir;/);
    await client.expect("MLST missing", 550);
  });
});

Deno.test("REST with a non-numeric offset answers 501", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("REST abc", 501);
    await client.expect("REST -5", 501);
    await client.expect("REST 10", 350);
  });
});

Deno.test("SITE CHMOD changes the mode of a file", async () => {
  await withServer({}, async (server, track) => {
    const path = `${server.root}/f.txt`;
    await Deno.writeTextFile(path, "x");
    const client = track(await RawClient.login(server.port));
    await client.expect("SITE CHMOD 600 f.txt", 200);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    await client.expect("SITE CHMOD 755 f.txt", 200);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o755);
  });
});

Deno.test("SITE CHMOD with a bad mode answers 501 and on a missing file 550", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "x");
    const client = track(await RawClient.login(server.port));
    await client.expect("SITE CHMOD 999 f.txt", 501);
    await client.expect("SITE CHMOD 644", 501);
    await client.expect("SITE CHMOD 644 missing.txt", 550);
  });
});

Deno.test("SITE HELP answers 214 and an unknown SITE command 502", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const help = await client.expect("SITE HELP", 214);
    assert.match(text(help), /CHMOD/);
    await client.expect("SITE EXEC rm", 502);
  });
});

Deno.test("a read-only user may SIZE and MDTM but not DELE, RNFR, MFMT or SITE CHMOD", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "x");
    const client = track(await RawClient.login(server.port, "reader", "readonly"));
    await client.expect("SIZE f.txt", 213);
    await client.expect("MDTM f.txt", 213);
    await client.expect("DELE f.txt", 550);
    await client.expect("RNFR f.txt", 550);
    await client.expect("MFMT 20200102030405 f.txt", 550);
    await client.expect("SITE CHMOD 600 f.txt", 550);
    assert.equal(await Deno.readTextFile(`${server.root}/f.txt`), "x");
  });
});
