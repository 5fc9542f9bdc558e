/**
 * Per-user limits over the wire: quotas stopped by STOR, APPE and STOU and
 * put back, the file quota before any data moves, overwrites counted by
 * difference, two sessions filling one quota at once, max_sessions, address
 * rules answered like a wrong password, SITE QUOTA.
 */

import assert from "node:assert/strict";
import { RawClient, withServer } from "../helpers/raw_client.ts";
import type { TestUser } from "../helpers/test_server.ts";

const KiB = 1024;

/** Sends an upload and returns the final reply code, whether or not the server cut the data short. */
async function uploadCode(client: RawClient, line: string, size: number): Promise<number> {
  const conn = await client.pasv();
  await client.send(line);
  const first = await client.read();
  if (first.code >= 200) {
    conn.close();
    return first.code;
  }
  const data = new Uint8Array(size).fill(0x61);
  try {
    for (let sent = 0; sent < size; sent += 16 * KiB) {
      await conn.write(data.subarray(sent, Math.min(size, sent + 16 * KiB)));
    }
  } catch {
    // The server stopped reading: the quota was crossed.
  }
  try {
    conn.close();
  } catch {
    // Closed by the server already.
  }
  return (await client.read()).code;
}

async function fileSize(path: string): Promise<number | undefined> {
  return await Deno.stat(path).then((info) => info.size, () => undefined);
}

async function quotaLines(client: RawClient): Promise<string> {
  const reply = await client.expect("SITE QUOTA", 200);
  return reply.lines.join("\n");
}

const limited: TestUser = {
  name: "limited",
  password: "limitedpw",
  home: "/limited",
  settings: { quotaSize: 64 * KiB, quotaFiles: 3 },
};

Deno.test("STOR past the size quota gets 552 and leaves nothing; within it succeeds", async () => {
  await withServer({ users: [limited] }, async (server, track) => {
    await Deno.mkdir(`${server.root}/limited`);
    const client = track(await RawClient.login(server.port, "limited", "limitedpw"));
    assert.equal(await uploadCode(client, "STOR small", 10 * KiB), 226);
    assert.equal(await uploadCode(client, "STOR big", 200 * KiB), 552);
    assert.equal(
      await fileSize(`${server.root}/limited/big`),
      undefined,
      "the partial file is gone",
    );
    assert.match(await quotaLines(client), /Size: 10\.0 KiB \(10240 bytes\) used of 64\.0 KiB/);
    assert.match(await quotaLines(client), /Files: 1 used of 3/);
    assert.ok(
      server.logs.some((line) => / transfer .*verb=STOR .*ok=false/.test(line)),
      "the stopped upload is logged as failed",
    );
  });
});

Deno.test("APPE past the quota goes back to its old length; STOU past it leaves no file", async () => {
  await withServer({ users: [limited] }, async (server, track) => {
    await Deno.mkdir(`${server.root}/limited`);
    await Deno.writeFile(`${server.root}/limited/log`, new Uint8Array(20 * KiB));
    const client = track(await RawClient.login(server.port, "limited", "limitedpw"));
    assert.equal(await uploadCode(client, "APPE log", 10 * KiB), 226);
    assert.equal(await fileSize(`${server.root}/limited/log`), 30 * KiB);
    assert.equal(await uploadCode(client, "APPE log", 100 * KiB), 552);
    assert.equal(await fileSize(`${server.root}/limited/log`), 30 * KiB, "back to its old length");
    assert.equal(await uploadCode(client, "STOU", 100 * KiB), 552);
    const names = [...Deno.readDirSync(`${server.root}/limited`)].map((entry) => entry.name);
    assert.deepEqual(names, ["log"], "STOU left nothing behind");
    assert.match(await quotaLines(client), /\(30720 bytes\) used/);
  });
});

Deno.test("an overwrite counts only the difference; atomic uploads keep the old file on a stop", async () => {
  await withServer({ users: [limited], config: { atomicUploads: true } }, async (server, track) => {
    await Deno.mkdir(`${server.root}/limited`);
    const client = track(await RawClient.login(server.port, "limited", "limitedpw"));
    assert.equal(await uploadCode(client, "STOR doc", 50 * KiB), 226);
    // 50 KiB used of 64: a 60 KiB overwrite fits, since it replaces the 50.
    assert.equal(await uploadCode(client, "STOR doc", 60 * KiB), 226);
    assert.equal(await fileSize(`${server.root}/limited/doc`), 60 * KiB);
    assert.equal(await uploadCode(client, "STOR doc", 65 * KiB), 552);
    assert.equal(await fileSize(`${server.root}/limited/doc`), 60 * KiB, "the old file is intact");
    const names = [...Deno.readDirSync(`${server.root}/limited`)].map((entry) => entry.name);
    assert.deepEqual(names, ["doc"], "no temporary file left");
    assert.match(await quotaLines(client), /\(61440 bytes\) used/);
    assert.match(await quotaLines(client), /Files: 1 used/);
  });
});

Deno.test("a new file past the file quota gets 552 before any data moves", async () => {
  await withServer({ users: [limited] }, async (server, track) => {
    await Deno.mkdir(`${server.root}/limited`);
    for (const name of ["a", "b", "c"]) {
      await Deno.writeTextFile(`${server.root}/limited/${name}`, "x");
    }
    const client = track(await RawClient.login(server.port, "limited", "limitedpw"));
    const conn = await client.pasv();
    const reply = await client.expect("STOR d", 552);
    conn.close();
    assert.match(reply.lines.join(" "), /file limit/);
    assert.equal(await uploadCode(client, "STOR a", 5), 226, "replacing a file needs no new one");
    await client.expect("DELE b", 250);
    assert.equal(await uploadCode(client, "STOR d", 5), 226, "a delete frees a file");
    await client.expect("RNFR d", 350);
    await client.expect("RNTO e", 250);
    assert.match(await quotaLines(client), /Files: 3 used of 3/);
    assert.match(await quotaLines(client), /Size: 11 bytes used/);
  });
});

Deno.test("two sessions filling one quota at once never pass it together", async () => {
  const shared: TestUser = { ...limited, settings: { quotaSize: 100 * KiB } };
  await withServer({ users: [shared] }, async (server, track) => {
    await Deno.mkdir(`${server.root}/limited`);
    const first = track(await RawClient.login(server.port, "limited", "limitedpw"));
    const second = track(await RawClient.login(server.port, "limited", "limitedpw"));
    const codes = await Promise.all([
      uploadCode(first, "STOR one", 60 * KiB),
      uploadCode(second, "STOR two", 60 * KiB),
    ]);
    assert.deepEqual(codes.toSorted(), [226, 552], `one fits, one is stopped (${codes})`);
    const total = (await fileSize(`${server.root}/limited/one`) ?? 0) +
      (await fileSize(`${server.root}/limited/two`) ?? 0);
    assert.equal(total, 60 * KiB, "only the whole upload is left");
  });
});

Deno.test("max_sessions: the login past it gets 421 after the password, and a slot frees on QUIT", async () => {
  const user: TestUser = { name: "solo", password: "solopw", settings: { maxSessions: 1 } };
  await withServer({ users: [user] }, async (server, track) => {
    const first = track(await RawClient.login(server.port, "solo", "solopw"));
    const second = track(await RawClient.connect(server.port));
    await second.read();
    await second.expect("USER solo", 331);
    await second.expect("PASS wrong", 530); // a wrong password is still just wrong
    await second.expect("USER solo", 331);
    await second.expect("PASS solopw", 421);
    await first.expect("QUIT", 221);
    await new Promise((resolve) => setTimeout(resolve, 100));
    track(await RawClient.login(server.port, "solo", "solopw"));
    assert.ok(server.logs.some((line) => /login .*ok=false .*reason=max_sessions/.test(line)));
  });
});

Deno.test("allow_from and deny_from refuse a correct password like a wrong one, and log why", async () => {
  const users: TestUser[] = [
    { name: "office", password: "officepw", settings: { allowFrom: ["10.0.0.0/8"] } },
    { name: "banned", password: "bannedpw", settings: { denyFrom: ["127.0.0.0/8", "::1/128"] } },
    {
      name: "local",
      password: "localpw",
      settings: { allowFrom: ["127.0.0.0/8"], denyFrom: ["10.0.0.0/8"] },
    },
  ];
  await withServer({ users }, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.expect("USER office", 331);
    const refused = await client.expect("PASS officepw", 530);
    await client.expect("USER office", 331);
    const wrong = await client.expect("PASS nope", 530);
    assert.deepEqual(refused.lines, wrong.lines, "the same reply as a wrong password");
    await client.expect("USER banned", 331);
    await client.expect("PASS bannedpw", 530);
    track(await RawClient.login(server.port, "local", "localpw"));
    assert.ok(server.logs.some((line) => /login .*ok=false .*reason=allow_from/.test(line)));
    assert.ok(server.logs.some((line) => /login .*ok=false .*reason=deny_from/.test(line)));
  });
});

Deno.test("FEAT and HELP name SITE QUOTA; an unlimited user sees unlimited", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port, "alice", "wonderland"));
    const feat = await client.expect("FEAT", 211);
    assert.ok(feat.lines.some((line) => line.trim() === "SITE QUOTA"));
    const help = await client.expect("SITE HELP", 214);
    assert.ok(help.lines.some((line) => line.includes("QUOTA")));
    const quota = await quotaLines(client);
    assert.match(quota, /Size: .* used of unlimited/);
    assert.match(quota, /Upload rate: unlimited/);
  });
});
