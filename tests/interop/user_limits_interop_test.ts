/**
 * Per-user limits with a real client (curl): rate caps measured over real transfers, in the clear
 * and over FTPS: a cap is not passed (loose lower bounds only, since this
 * machine is shared), two downloads of one user share its cap, another user
 * runs at full speed meanwhile, and a throttled session answers STAT and
 * ABOR at once.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RawClient, withServer } from "../helpers/raw_client.ts";
import { type TestServer, type TestUser } from "../helpers/test_server.ts";
import { tlsServerOptions } from "../helpers/tls_client.ts";
import { peerTest, run, runOk } from "./peers.ts";

const MiB = 1024 * 1024;

const users: TestUser[] = [
  { name: "slow", password: "slowpw", settings: { downloadRate: MiB, uploadRate: MiB } },
  { name: "pair", password: "pairpw", settings: { downloadRate: 2 * MiB } },
  { name: "fast", password: "fastpw" },
];

/** Runs curl and returns the seconds the transfer took (curl's own `time_total`). */
async function curlSeconds(server: TestServer, user: TestUser, args: string[]): Promise<number> {
  const result = await runOk("curl", [
    "--silent",
    "--show-error",
    "--max-time",
    "60",
    "--user",
    `${user.name}:${user.password}`,
    "--write-out",
    "%{time_total}",
    ...args.map((arg) => arg.replace("PORT", String(server.port))),
  ]);
  return Number(result.stdout.trim().split(/\s+/).at(-1));
}

async function writeFile(server: TestServer, name: string, size: number): Promise<void> {
  await Deno.writeFile(`${server.root}/${name}`, new Uint8Array(size).fill(0x62));
}

peerTest(
  "curl",
  "a download cap holds, and a second user runs at full speed meanwhile",
  async () => {
    await withServer({ users }, async (server) => {
      await writeFile(server, "four", 4 * MiB);
      await writeFile(server, "big", 32 * MiB);
      const [slow, fast] = await Promise.all([
        curlSeconds(server, users[0]!, ["-o", "/dev/null", "ftp://127.0.0.1:PORT/four"]),
        curlSeconds(server, users[2]!, ["-o", "/dev/null", "ftp://127.0.0.1:PORT/big"]),
      ]);
      const slowRate = (4 * MiB) / slow;
      const fastRate = (32 * MiB) / fast;
      assert.ok(
        slowRate <= 1.1 * MiB,
        `the cap is not passed: ${(slowRate / MiB).toFixed(2)} MiB/s`,
      );
      assert.ok(slowRate >= 0.5 * MiB, `nor starved: ${(slowRate / MiB).toFixed(2)} MiB/s`);
      assert.ok(
        fastRate > 4 * MiB,
        `the other user is not held: ${(fastRate / MiB).toFixed(1)} MiB/s`,
      );
    });
  },
);

peerTest("curl", "two downloads of one user share its cap", async () => {
  await withServer({ users }, async (server) => {
    await writeFile(server, "four", 4 * MiB);
    const started = performance.now();
    const times = await Promise.all(
      [0, 1].map(() =>
        curlSeconds(server, users[1]!, ["-o", "/dev/null", "ftp://127.0.0.1:PORT/four"])
      ),
    );
    const total = (8 * MiB) / ((performance.now() - started) / 1000);
    assert.ok(total <= 2.2 * MiB, `together within the cap: ${(total / MiB).toFixed(2)} MiB/s`);
    for (const seconds of times) {
      const rate = (4 * MiB) / seconds;
      assert.ok(rate <= 1.25 * MiB, `each about half: ${(rate / MiB).toFixed(2)} MiB/s`);
    }
  });
});

peerTest("curl", "an upload cap holds over FTPS", async () => {
  const tls = await tlsServerOptions();
  await withServer({ users, ...tls }, async (server) => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${dir}/up`, new Uint8Array(4 * MiB).fill(0x63));
      const seconds = await curlSeconds(server, users[0]!, [
        "--ssl-reqd",
        "--insecure",
        "-T",
        `${dir}/up`,
        "ftp://127.0.0.1:PORT/up",
      ]);
      const rate = (4 * MiB) / seconds;
      assert.ok(rate <= 1.1 * MiB, `the cap is not passed: ${(rate / MiB).toFixed(2)} MiB/s`);
      assert.ok(rate >= 0.5 * MiB, `nor starved: ${(rate / MiB).toFixed(2)} MiB/s`);
      assert.equal((await Deno.stat(`${server.root}/up`)).size, 4 * MiB, "every byte arrived");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("a throttled download still answers STAT and ABOR at once", async () => {
  await withServer({ users }, async (server, track) => {
    await writeFile(server, "four", 4 * MiB);
    const client = track(await RawClient.login(server.port, "slow", "slowpw"));
    await client.expect("TYPE I", 200);
    const conn = await client.pasv();
    await client.send("RETR four");
    assert.ok([125, 150].includes((await client.read()).code));
    const reader = (async () => {
      const buffer = new Uint8Array(64 * 1024);
      try {
        while (await conn.read(buffer) !== null) { /* drain */ }
      } catch {
        // Closed by the abort.
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 500));
    let asked = performance.now();
    await client.send("STAT");
    const status = await client.read();
    assert.equal(status.code, 211);
    assert.ok(performance.now() - asked < 1000, "STAT answered while the transfer waits");
    asked = performance.now();
    await client.send("ABOR");
    const codes = [(await client.read()).code, (await client.read()).code];
    assert.deepEqual(codes, [426, 226]);
    assert.ok(performance.now() - asked < 1000, "ABOR ends the wait at once");
    conn.close();
    await reader;
  });
});

peerTest(
  "curl",
  "curl's upload past a quota fails with 552 and leaves nothing; an append is cut back",
  async () => {
    const quota: TestUser = {
      name: "quota",
      password: "quotapw",
      settings: { quotaSize: 64 * 1024 },
    };
    await withServer({ users: [quota] }, async (server) => {
      const dir = await Deno.makeTempDir();
      try {
        await Deno.writeFile(`${dir}/big`, new Uint8Array(256 * 1024).fill(0x64));
        await Deno.writeFile(`${dir}/small`, new Uint8Array(16 * 1024).fill(0x65));
        const curl = (args: string[]) =>
          run("curl", [
            "--silent",
            "--show-error",
            "--verbose",
            "--user",
            "quota:quotapw",
            ...args,
          ]);
        const url = `ftp://127.0.0.1:${server.port}`;
        const big = await curl(["-T", `${dir}/big`, `${url}/big`]);
        assert.notEqual(big.code, 0, "curl reports the failed upload");
        assert.match(big.stderr, /< 552 /, "and saw the 552");
        assert.equal(await Deno.stat(`${server.root}/big`).catch(() => undefined), undefined);
        assert.equal((await curl(["-T", `${dir}/small`, `${url}/log`])).code, 0);
        const append = await curl(["--append", "-T", `${dir}/big`, `${url}/log`]);
        assert.notEqual(append.code, 0);
        assert.equal(
          (await Deno.stat(`${server.root}/log`)).size,
          16 * 1024,
          "back to its old length",
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
);
