import assert from "node:assert/strict";
import { RawClient, text, withServer } from "../helpers/raw_client.ts";

Deno.test("a new connection is greeted with 220", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    const greeting = await client.read();
    assert.equal(greeting.code, 220);
  });
});

Deno.test("USER then PASS with the right password logs in with 230", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    assert.equal((await client.command("USER alice")).code, 331);
    assert.equal((await client.command("PASS wonderland")).code, 230);
    assert.equal((await client.command("PWD")).code, 257);
  });
});

Deno.test("a wrong password is refused with 530 and the session stays logged out", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.expect("USER alice", 331);
    await client.expect("PASS nope", 530);
    await client.expect("PWD", 530);
  });
});

Deno.test("an unknown user gets the same replies as a wrong password", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    const knownUser = await client.command("USER alice");
    const wrongPassword = await client.command("PASS nope");
    const unknownUser = await client.command("USER mallory");
    const unknownPassword = await client.command("PASS nope");
    assert.equal(unknownUser.code, 331);
    assert.deepEqual(unknownUser, knownUser);
    assert.equal(unknownPassword.code, 530);
    assert.deepEqual(unknownPassword, wrongPassword);
  });
});

Deno.test("PASS before USER is a bad sequence (503)", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.expect("PASS wonderland", 503);
    await client.login("alice", "wonderland");
  });
});

Deno.test("PASS after logging in is a bad sequence (503)", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("PASS wonderland", 503);
  });
});

Deno.test("commands that need a login are refused with 530 before it", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    for (
      const line of [
        "PWD",
        "CWD /",
        "CDUP",
        "LIST",
        "NLST",
        "MLSD",
        "RETR x",
        "STOR x",
        "DELE x",
        "MKD x",
        "RMD x",
        "RNFR x",
        "RNTO x",
        "SIZE x",
        "MDTM x",
        "MLST",
        "PASV",
        "EPSV",
        "PORT 127,0,0,1,4,1",
        "TYPE I",
        "REST 0",
        "SITE CHMOD 644 x",
      ]
    ) {
      assert.equal((await client.command(line)).code, 530, line);
    }
  });
});

Deno.test("NOOP, SYST, FEAT and HELP work before login", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.expect("NOOP", 200);
    await client.expect("SYST", 215);
    await client.expect("FEAT", 211);
    await client.expect("HELP", 214);
  });
});

Deno.test("QUIT answers 221 and the server closes the connection", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("QUIT", 221);
    assert.equal(await client.waitForClose(), true);
  });
});

Deno.test("QUIT before login answers 221 too", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.expect("QUIT", 221);
    assert.equal(await client.waitForClose(), true);
  });
});

Deno.test("ACCT is superfluous (202)", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("ACCT x", 202);
  });
});

Deno.test("anonymous login works when enabled and is read-only", async () => {
  await withServer({ config: { anonymous: true } }, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/pub.txt`, "public\n");
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.expect("USER anonymous", 331);
    await client.expect("PASS guest@example.com", 230);
    await client.expect("SIZE pub.txt", 213);
    await client.expect("STOR new.txt", 550);
    await client.expect("DELE pub.txt", 550);
    await client.expect("MKD dir", 550);
    await client.expect("RMD /", 550);
    await client.expect("RNFR pub.txt", 550);
    await client.expect("APPE pub.txt", 550);
    await client.expect("MFMT 20200101000000 pub.txt", 550);
    await client.expect("SITE CHMOD 777 pub.txt", 550);
    assert.equal(await Deno.readTextFile(`${server.root}/pub.txt`), "public\n");
    await assert.rejects(Deno.stat(`${server.root}/dir`), Deno.errors.NotFound);
  });
});

Deno.test("the name ftp logs in anonymously too", async () => {
  await withServer({ config: { anonymous: true } }, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.login("ftp", "guest@example.com");
  });
});

Deno.test("anonymous login is refused with 530 when not enabled", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.expect("USER anonymous", 331);
    const reply = await client.expect("PASS guest@example.com", 530);
    assert.doesNotMatch(text(reply), /anonymous/i);
    await client.expect("PWD", 530);
  });
});

Deno.test("a second USER after login starts a new login", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("USER reader", 331);
    await client.expect("PWD", 530);
    await client.expect("PASS readonly", 230);
    await client.expect("MKD x", 550);
  });
});
