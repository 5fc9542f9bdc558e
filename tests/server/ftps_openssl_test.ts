/**
 * The server's TLS on OpenSSL against clients that misbehave: garbage
 * instead of a ClientHello, resets in the middle of a handshake or a
 * transfer, data connections that do not resume the session, active
 * connections closed at once. Each gets its FTP reply, the server goes on,
 * and no file descriptor is left behind.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RawClient, text, withServer, withTimeout } from "../helpers/raw_client.ts";
import { tlsServerOptions } from "../helpers/tls_client.ts";

const ABORT_DRIVER = new URL("./ftps_abort_driver.py", import.meta.url).pathname;

function openFds(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

/** Waits until the count of open descriptors is at most `limit`; returns the last count. */
async function settleFds(limit: number): Promise<number> {
  let count = openFds();
  for (let i = 0; i < 50 && count > limit; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    count = openFds();
  }
  return count;
}

async function runDriver(port: number, rounds: number): Promise<{
  codes: Record<string, string[]>;
  whole_bytes: number[];
}> {
  const output = await withTimeout(
    new Deno.Command("python3", {
      args: [ABORT_DRIVER, String(port), String(rounds), "big.bin"],
      stdout: "piped",
      stderr: "piped",
    }).output(),
    120_000,
    "abort driver",
  );
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

Deno.test("OpenSSL data connections opened and aborted every way leave no descriptor behind, with the usual replies", async () => {
  const options = await tlsServerOptions({ tlsEngine: "openssl", dataTimeoutMs: 1_000 });
  await withServer(options, async (server) => {
    const big = crypto.getRandomValues(new Uint8Array(65536));
    const file = new Uint8Array(4 << 20);
    for (let at = 0; at < file.length; at += big.length) file.set(big, at);
    await Deno.writeFile(`${server.root}/big.bin`, file);
    await runDriver(server.port, 1); // warm up: the first TLS handshake, the first listener
    const before = await settleFds(openFds());
    const result = await runDriver(server.port, 8);
    const logs = server.logs.join("\n");
    const codes = result.codes;
    const every = (kind: string, pattern: RegExp) => {
      assert.equal(codes[kind]?.length, 8, `${kind}: ${JSON.stringify(codes)}`);
      for (const code of codes[kind]!) assert.match(code, pattern, `${kind}: ${code}\n${logs}`);
    };
    every("closed-at-once", /^425$/); // waited for the real connection, which never came
    every("garbage", /^522$/);
    every("reset-mid-handshake", /^522$/);
    every("no-session", /^522$/);
    every("download-reset", /^(426|226)$/);
    every("upload-reset", /^426$/);
    every("active-closed", /^522$/);
    every("whole", /^226$/);
    assert.deepEqual(result.whole_bytes, new Array(8).fill(file.length));
    const after = await settleFds(before);
    assert.ok(after <= before, `open descriptors: ${before} before, ${after} after`);
    assert.match(logs, / data-tls .*reused=false ok=false/);
  });
});

Deno.test("OpenSSL control connection: garbage or a close mid-handshake after AUTH TLS ends that session only", async () => {
  await withServer(await tlsServerOptions({ tlsEngine: "openssl" }), async (server, track) => {
    const before = openFds();
    for (let i = 0; i < 6; i++) {
      const client = track(await RawClient.connect(server.port));
      await client.read();
      await client.expect("AUTH TLS", 234);
      if (i % 2 === 0) {
        await client.sendRaw("USER alice\r\n".repeat(20)); // not TLS at all
        const buffer = new Uint8Array(4096);
        // The server answers with an alert, or nothing, and closes.
        while (
          (await withTimeout(client.conn.read(buffer), 10_000, "the server closing")) !== null
        ) {
          // an alert
        }
      } else {
        // The first bytes of a ClientHello, then the client is gone.
        await client.sendRaw(
          new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]),
        );
      }
      await client.close();
    }
    const other = track(await RawClient.login(server.port, "alice", "wonderland"));
    assert.match(text(await other.expect("FEAT", 211)), /AUTH TLS/);
    await other.close();
    // The last session's disconnect is logged once the server has seen its QUIT through.
    const disconnects = () => server.logs.filter((line) => / disconnect /.test(line)).length;
    for (let waited = 0; disconnects() < 7 && waited < 10_000; waited += 25) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const after = await settleFds(before);
    assert.ok(after <= before, `open descriptors: ${before} before, ${after} after`);
    const logs = server.logs.join("\n");
    assert.match(logs, / tls-error .*message=/, logs);
    assert.equal(disconnects(), 7, logs);
  });
});
