import assert from "node:assert/strict";
import { formatCredentials, hashPassword } from "../../server/auth/mod.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { readReadyLine, startServe } from "./cli_helpers.ts";

const MiB = 1 << 20;
const reader = new URL("../helpers/timed_transfer.ts", import.meta.url).pathname;

/**
 * Runs one download in a separate fast-reading process while this process
 * sends NOOPs on another session; returns the transfer's length in ms and
 * how many NOOPs were answered while it ran.
 */
async function noopsDuring(port: number, command: string): Promise<{ ms: number; noops: number }> {
  const other = await RawClient.login(port, "demo", "demo");
  const answeredAt: number[] = [];
  let done = false;
  const pinging = (async () => {
    while (!done) {
      await other.expect("NOOP", 200);
      answeredAt.push(Date.now());
    }
  })();
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", reader, String(port), "demo", "demo", ...command.split(" ")],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const text = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const start = Number(/^start (\d+)$/m.exec(text)?.[1]);
    const end = Number(/^end (\d+) \d+$/m.exec(text)?.[1]);
    return { ms: end - start, noops: answeredAt.filter((at) => at > start && at < end).length };
  } finally {
    done = true;
    await pinging;
    await other.close();
  }
}

Deno.test("downloads to a fast reader leave other sessions answering", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-fairness-" });
  const credentials = `${dir}/credentials.txt`;
  await Deno.writeTextFile(
    credentials,
    formatCredentials([{
      name: "demo",
      passwordHash: await hashPassword("demo", { cost: 1024 }),
      home: "/",
      permissions: "elr",
    }]),
  );
  await Deno.mkdir(`${dir}/srv/many`, { recursive: true });
  // Sparse: read as fast as a cached file, without writing 512 MiB to the disk.
  using file = await Deno.open(`${dir}/srv/big.bin`, { write: true, create: true });
  await file.truncate(512 * MiB);
  for (let i = 0; i < 12_000; i++) Deno.writeTextFileSync(`${dir}/srv/many/name-${i}.txt`, "");
  const server = startServe(dir, credentials);
  try {
    const ready = await readReadyLine(server);
    const port = Number(/ftp:\/\/127\.0\.0\.1:(\d+)/.exec(ready)?.[1]);
    for (const command of ["RETR /big.bin", "LIST /many", "MLSD /many"]) {
      const { ms, noops } = await noopsDuring(port, command);
      // A NOOP takes well under a millisecond; one every 15 ms is a generous floor (a transfer
      // that holds the event loop lets through one every 20-30 ms at best).
      const floor = Math.max(1, Math.floor(ms / 15));
      assert.ok(noops >= floor, `${command}: ${noops} NOOPs answered in its ${ms} ms`);
    }
  } finally {
    server.child.kill("SIGTERM");
    await server.child.status;
    await server.drained;
    await Deno.remove(dir, { recursive: true });
  }
});
