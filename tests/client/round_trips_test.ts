/**
 * The commands `ferry client get` and `mirror` send, seen on the wire through
 * a relay in front of a real ferry server: a size the listing already gave
 * is not asked for again with SIZE (one round trip less per file).
 *
 * @module
 */

import assert from "node:assert/strict";
import { startTestServer } from "../helpers/test_server.ts";
import { runClient } from "./cli_run.ts";

/** A TCP relay to `port` that records the commands clients send through it. */
function startRecordingRelay(port: number): { port: number; verbs: string[]; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const verbs: string[] = [];
  const pipes: Promise<unknown>[] = [];
  (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port });
      const recorder = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          for (const line of new TextDecoder().decode(chunk).split("\r\n")) {
            if (line !== "") verbs.push(line.split(" ")[0]!.toUpperCase());
          }
          controller.enqueue(chunk);
        },
      });
      pipes.push(
        client.readable.pipeThrough(recorder).pipeTo(server.writable).catch(() => {}),
        server.readable.pipeTo(client.writable).catch(() => {}),
      );
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    verbs,
    close: () => listener.close(),
  };
}

Deno.test("get sends no SIZE when MLST gave the size, and mirror none per file", async () => {
  const server = await startTestServer();
  const relay = startRecordingRelay(server.port);
  const local = await Deno.makeTempDir({ prefix: "ferry-round-trips-" });
  try {
    await Deno.mkdir(`${server.root}/tree`);
    await Deno.writeTextFile(`${server.root}/tree/a.txt`, "alpha\n");
    await Deno.writeTextFile(`${server.root}/tree/b.bin`, "bravo!");
    const base = `ftp://alice:wonderland@127.0.0.1:${relay.port}`;

    const get = await runClient(["get", "-q", `${base}/tree/b.bin`, `${local}/b.bin`]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(await Deno.readTextFile(`${local}/b.bin`), "bravo!");
    assert.ok(relay.verbs.includes("MLST") && relay.verbs.includes("RETR"), relay.verbs.join());
    assert.ok(!relay.verbs.includes("SIZE"), `SIZE sent: ${relay.verbs.join()}`);

    relay.verbs.length = 0;
    const mirror = await runClient(["mirror", "-q", `${base}/tree/`, `${local}/copy`]);
    assert.equal(mirror.code, 0, mirror.stderr);
    assert.equal(await Deno.readTextFile(`${local}/copy/a.txt`), "alpha\n");
    assert.equal(relay.verbs.filter((verb) => verb === "RETR").length, 2, relay.verbs.join());
    assert.ok(!relay.verbs.includes("SIZE"), `SIZE sent: ${relay.verbs.join()}`);
  } finally {
    relay.close();
    await server.close();
    await Deno.remove(local, { recursive: true });
  }
});
