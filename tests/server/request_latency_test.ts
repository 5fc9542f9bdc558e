/**
 * The behaviour kept by the per-request latency work (issue 6): the idle
 * timer that is no longer re-armed per command, file data read and written
 * synchronously up to a size and asynchronously past it, the transfer log
 * line written after the final reply, the batched stderr log, and passive
 * ports found busy.
 */

import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import * as path from "node:path";
import { parseEpsvReply } from "../../protocol/address.ts";
import {
  ASYNC_DIRECTORY_BYTES,
  LocalStorage,
  ReadPacer,
} from "../../server/storage/local_storage.ts";
import { closeQuietly, RawClient, withServer } from "../helpers/raw_client.ts";

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(offset + 65536, length)));
  }
  return bytes;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two consecutive free ports on 127.0.0.1, below the ephemeral range. */
function freePortPair(): number {
  for (let attempt = 0; attempt < 200; attempt++) {
    const low = 20_000 + Math.floor(Math.random() * 10_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port: low }).close();
      Deno.listen({ hostname: "127.0.0.1", port: low + 1 }).close();
      return low;
    } catch {
      // taken: try another pair
    }
  }
  throw new Error("no two consecutive free ports");
}

Deno.test("commands keep a session open past the idle timeout; silence then closes it", async () => {
  await withServer({ config: { idleTimeoutMs: 300 } }, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    for (let i = 0; i < 8; i++) {
      await delay(100);
      await client.expect("NOOP", 200); // 800 ms in all, never 300 ms quiet
    }
    const started = performance.now();
    assert.equal((await client.read()).code, 421);
    const waited = performance.now() - started;
    assert.ok(waited >= 250 && waited < 3000, `closed after ${waited} ms`);
    assert.equal(await client.waitForClose(), true);
  });
});

Deno.test("STOR and RETR around the synchronous file I/O limit are byte-identical", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const KiB = 1024;
    const sizes = [
      0,
      1,
      64 * KiB - 1,
      64 * KiB,
      64 * KiB + 1,
      1024 * KiB,
      1024 * KiB + 3,
      3333 * KiB,
    ];
    for (const size of sizes) {
      const content = randomBytes(size);
      const name = `f${size}.bin`;
      assert.equal((await client.upload(`STOR ${name}`, content)).final.code, 226, name);
      assertSameBytes(await Deno.readFile(`${server.root}/${name}`), content, name);
      const retrieved = await client.download(`RETR ${name}`);
      assert.equal(retrieved.final.code, 226, name);
      assertSameBytes(retrieved.data, content, name);
    }
    // From a REST offset, on both sides of the limit.
    const content = randomBytes(200 * KiB);
    await Deno.writeFile(`${server.root}/rest.bin`, content);
    for (const offset of [10, 100 * KiB, 190 * KiB]) {
      await client.expect(`REST ${offset}`, 350);
      const retrieved = await client.download("RETR rest.bin");
      assert.equal(retrieved.final.code, 226);
      assertSameBytes(retrieved.data, content.subarray(offset));
    }
  });
});

Deno.test("a file read from storage is read to its real end, even if it grew after opening", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-grow-" });
  try {
    const storage = await LocalStorage.open(dir);
    for (const [first, more] of [[10, 100 * 1024], [200 * 1024, 10], [0, 5]] as const) {
      const head = randomBytes(first);
      const tail = randomBytes(more);
      await Deno.writeFile(path.join(dir, "grow.bin"), head);
      const file = await storage.openRead("/grow.bin");
      await Deno.writeFile(path.join(dir, "grow.bin"), tail, { append: true });
      const buffer = new Uint8Array(1 << 20);
      const chunks: Uint8Array[] = [];
      try {
        while (true) {
          const n = await file.read(buffer);
          if (n === null) break;
          chunks.push(buffer.slice(0, n));
        }
      } finally {
        file.close();
      }
      const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
      let offset = 0;
      for (const chunk of chunks) {
        all.set(chunk, offset);
        offset += chunk.length;
      }
      assert.equal(all.length, first + more);
      assertSameBytes(all.subarray(0, first), head);
      assertSameBytes(all.subarray(first), tail);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("STOR to a new name, an existing file, a directory and a missing directory", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await Deno.mkdir(`${server.root}/dir`);
    await Deno.writeTextFile(`${server.root}/old.txt`, "old");
    assert.equal((await client.upload("STOR new.txt", "new")).final.code, 226);
    assert.equal(await Deno.readTextFile(`${server.root}/new.txt`), "new");
    assert.equal((await client.upload("STOR old.txt", "replaced")).final.code, 226);
    assert.equal(await Deno.readTextFile(`${server.root}/old.txt`), "replaced");
    // Refused before any 150, with no data connection used.
    const dir = await client.upload("STOR dir", "x");
    assert.equal(dir.preliminary, undefined);
    assert.equal(dir.final.code, 550);
    const missing = await client.upload("STOR nowhere/x.txt", "x");
    assert.equal(missing.preliminary, undefined);
    assert.equal(missing.final.code, 550);
    await client.expect("NOOP", 200);
  });
});

Deno.test("the transfer log line is written once the 226 has gone out", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    assert.equal((await client.upload("STOR a.txt", "abc")).final.code, 226);
    assert.equal((await client.download("RETR a.txt")).final.code, 226);
    await client.expect("NOOP", 200);
    const transfers = server.logs.filter((line) => / transfer /.test(line));
    assert.equal(transfers.length, 2);
    assert.match(transfers[0]!, /verb=STOR path=\/a\.txt bytes=3 ms=\d+ type=A ok=true/);
    assert.match(transfers[1]!, /verb=RETR path=\/a\.txt bytes=3 ms=\d+ type=A ok=true/);
    const login = server.logs.findIndex((line) => / login .*ok=true/.test(line));
    assert.ok(login >= 0 && login < server.logs.indexOf(transfers[0]!));
  });
});

Deno.test("EPSV skips a passive port another socket holds, again and again", async () => {
  const busy = freePortPair();
  const free = busy + 1;
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: busy });
  try {
    await withServer({ config: { pasvPorts: [busy, free] } }, async (server, track) => {
      const client = track(await RawClient.login(server.port));
      for (let i = 0; i < 4; i++) {
        const reply = await client.expect("EPSV", 229);
        const port = parseEpsvReply(reply.lines.join(" "));
        assert.equal(port, free);
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        closeQuietly(conn);
        await client.expect("ABOR", 225);
      }
    });
  } finally {
    blocker.close();
  }
});

Deno.test("the stderr log writes every line, in order, however close together they come", async () => {
  const logModule = new URL("../../server/log.ts", import.meta.url).href;
  const script = `
    import { Logger } from ${JSON.stringify(logModule)};
    const log = new Logger();
    log.info("first", { n: 0 });
    for (let i = 1; i <= 200; i++) log.info("burst", { n: i, text: "a b" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 201; i <= 300; i++) log.info("later", { n: i });
    if (Deno.args[0] === "exit") {
      log.flush();
      Deno.exit(0);
    }
  `;
  for (const mode of ["drain", "exit"]) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-config", script, mode],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const lines = new TextDecoder().decode(output.stderr).trimEnd().split("\n");
    assert.equal(lines.length, 301, mode);
    lines.forEach((line, i) => assert.match(line, new RegExp(` n=${i}( |$)`), `${mode}: ${line}`));
    assert.match(lines[1]!, /^\S+ burst n=1 text="a b"$/);
  }
});

Deno.test("passive ports held by other sessions are skipped, and free again once released", async () => {
  const low = freePortPair();
  await withServer({ config: { pasvPorts: [low, low + 1] } }, async (server, track) => {
    const a = track(await RawClient.login(server.port));
    const b = track(await RawClient.login(server.port));
    const c = track(await RawClient.login(server.port));
    const portA = parseEpsvReply((await a.expect("EPSV", 229)).lines.join(" "));
    const portB = parseEpsvReply((await b.expect("EPSV", 229)).lines.join(" "));
    assert.deepEqual([portA, portB].sort(), [low, low + 1]);
    assert.equal((await c.command("EPSV")).code, 425);
    await a.expect("ABOR", 225); // closes A's listener
    await delay(50);
    const portC = parseEpsvReply((await c.expect("EPSV", 229)).lines.join(" "));
    assert.equal(portC, portA);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: portC });
    closeQuietly(conn);
  });
});

Deno.test("ReadPacer: synchronous reads until one is slow, then asynchronous for the back-off", () => {
  const pacer = new ReadPacer(2, 10_000);
  assert.equal(pacer.syncAllowed(0), true);
  pacer.record(0.3, 5);
  assert.equal(pacer.syncAllowed(6), true);
  pacer.record(12, 100); // a cold disk
  assert.equal(pacer.syncAllowed(101), false);
  assert.equal(pacer.syncAllowed(10_099), false);
  assert.equal(pacer.syncAllowed(10_100), true);
});

Deno.test("a directory past the asynchronous-read size lists every entry, in batches", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-huge-dir-" });
  try {
    const names = new Set<string>();
    for (let i = 0; i < 14_000; i++) {
      const name = `entry-${String(i).padStart(5, "0")}.txt`;
      Deno.writeTextFileSync(path.join(dir, name), i % 7 === 0 ? "seven" : "");
      names.add(name);
    }
    // The asynchronous path is taken by the directory's size, not its count.
    assert.ok(Deno.statSync(dir).size >= ASYNC_DIRECTORY_BYTES, `${Deno.statSync(dir).size} bytes`);
    const storage = await LocalStorage.open(dir);
    const seen = new Set<string>();
    let batches = 0;
    for await (const batch of storage.list("/")) {
      batches++;
      assert.ok(batch.length <= 256, `a batch of ${batch.length}`);
      for (const entry of batch) {
        seen.add(entry.name);
        assert.equal(entry.type, "file");
        assert.equal(entry.size, Number(entry.name.slice(6, 11)) % 7 === 0 ? 5 : 0);
      }
    }
    assert.deepEqual(seen, names);
    assert.ok(batches >= 14_000 / 256, `${batches} batches`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
