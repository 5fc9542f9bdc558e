/**
 * Per-user settings and server-wide caps reload like users do: a new rate
 * reaches a transfer that is running, and new quotas the next upload.
 */

import assert from "node:assert/strict";
import { formatCredentials, hashPassword, type UserRecord } from "../../server/auth/mod.ts";
import { RawClient, withServer } from "../helpers/raw_client.ts";
import type { TestServer } from "../helpers/test_server.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

async function rewriteUsers(server: TestServer, users: UserRecord[]): Promise<void> {
  const config = server.server.config;
  await Deno.writeTextFile(config.credentials, formatCredentials(users));
  server.server.replaceLiveState(await server.server.loadLiveState(config));
}

Deno.test("a rate lifted by a reload speeds up the download that is running", async () => {
  const hash = await hashPassword("slowpw", { cost: 1024 });
  const slow: UserRecord = {
    name: "slow",
    passwordHash: hash,
    home: "/",
    permissions: "elr",
    settings: { downloadRate: 256 * KiB },
  };
  await withServer(
    { users: [{ name: "slow", password: "slowpw", settings: slow.settings! }] },
    async (server, track) => {
      await Deno.writeFile(`${server.root}/four`, new Uint8Array(4 * MiB));
      const client = track(await RawClient.login(server.port, "slow", "slowpw"));
      await client.expect("TYPE I", 200);
      const conn = await client.pasv();
      const started = performance.now();
      await client.send("RETR four");
      assert.ok([125, 150].includes((await client.read()).code));
      let received = 0;
      const buffer = new Uint8Array(256 * KiB);
      let reloaded = false;
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) break;
        received += n;
        if (!reloaded && performance.now() - started > 1000) {
          reloaded = true;
          assert.ok(received < MiB, `still held at 256 KiB/s after a second (${received} bytes)`);
          await rewriteUsers(server, [{ ...slow, settings: { downloadRate: 64 * MiB } }]);
        }
      }
      conn.close();
      assert.equal((await client.read()).code, 226);
      assert.equal(received, 4 * MiB);
      const seconds = (performance.now() - started) / 1000;
      // Held at 256 KiB/s all the way, 4 MiB would take 16 s.
      assert.ok(seconds < 8, `the new rate reached the running transfer (${seconds.toFixed(1)} s)`);
    },
  );
});

Deno.test("a quota set by a reload applies to the next upload of a logged-in user", async () => {
  const hash = await hashPassword("bobpw", { cost: 1024 });
  const bob: UserRecord = { name: "bob", passwordHash: hash, home: "/", permissions: "elrw" };
  await withServer(
    { users: [{ name: "bob", password: "bobpw", permissions: "elrw" }] },
    async (server, track) => {
      const client = track(await RawClient.login(server.port, "bob", "bobpw"));
      assert.equal((await client.upload("STOR a", "x".repeat(10 * KiB))).final.code, 226);
      await rewriteUsers(server, [{ ...bob, settings: { quotaSize: 12 * KiB } }]);
      const quota = await client.expect("SITE QUOTA", 200);
      assert.match(quota.lines.join("\n"), /used of 12\.0 KiB/);
      const conn = await client.pasv();
      await client.send("STOR b");
      assert.ok([125, 150].includes((await client.read()).code));
      try {
        await conn.write(new Uint8Array(8 * KiB));
      } catch {
        // Cut by the server.
      }
      conn.close();
      assert.equal((await client.read()).code, 552);
    },
  );
});
