import assert from "node:assert/strict";
import { parseEpsvReply } from "../../protocol/address.ts";
import { IDLE_RELEASE_MS } from "../../server/data/passive_listener.ts";
import { closeQuietly, RawClient, readAll, text, withServer } from "../helpers/raw_client.ts";

const decoder = new TextDecoder();

async function epsvPort(client: RawClient): Promise<number> {
  return parseEpsvReply(text(await client.expect("EPSV", 229)));
}

/** Connects to the passive `port`, sends RETR `name` and returns what came, checking the replies. */
async function retrOver(client: RawClient, port: number, name: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await client.send(`RETR ${name}`);
  assert.ok([125, 150].includes((await client.read()).code));
  const data = decoder.decode(await readAll(conn));
  assert.equal((await client.read()).code, 226);
  return data;
}

/** True if the peer closed `conn` (a read ends) within `ms`. */
async function closedByPeer(conn: Deno.Conn, ms = 2000): Promise<boolean> {
  const timer = setTimeout(() => closeQuietly(conn), ms);
  try {
    return (await conn.read(new Uint8Array(16))) === null;
  } catch {
    return true; // reset by the peer
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a session's transfers share one passive port, each on a connection of its own", async () => {
  await withServer({}, async (server, track) => {
    for (let i = 0; i < 20; i++) await Deno.writeTextFile(`${server.root}/f${i}.txt`, `file ${i}`);
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const port = await epsvPort(client);
      ports.add(port);
      assert.equal(await retrOver(client, port, `f${i}.txt`), `file ${i}`);
    }
    assert.equal(ports.size, 1);
  });
});

Deno.test("a connection while no transfer waits is closed, and the next transfer gets its own", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "fresh");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const port = await epsvPort(client);
    assert.equal(await retrOver(client, port, "f.txt"), "fresh");
    // Nothing is armed now: a stray connection is dropped, not kept for the next transfer.
    const stray = await Deno.connect({ hostname: "127.0.0.1", port });
    assert.equal(await closedByPeer(stray), true);
    assert.equal(await epsvPort(client), port);
    assert.equal(await retrOver(client, port, "f.txt"), "fresh");
  });
});

Deno.test("an unused passive listener gives its port back after a while", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const port = await epsvPort(client);
    await client.expect("ABOR", 225); // disarms; the listener is idle from here
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    assert.equal(await closedByPeer(conn), true, "idle: connections are dropped");
    await new Promise((resolve) => setTimeout(resolve, IDLE_RELEASE_MS * 1.5 + 200));
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }), "the port is closed");
    const next = await epsvPort(client); // a new listener when needed again
    closeQuietly(await Deno.connect({ hostname: "127.0.0.1", port: next }));
  });
});

Deno.test("a passive listener closes with its session", async () => {
  await withServer({}, async (server) => {
    const client = await RawClient.login(server.port);
    const port = await epsvPort(client);
    await client.expect("QUIT", 221);
    await client.close();
    let refused = false;
    for (let i = 0; i < 50 && !refused; i++) {
      try {
        closeQuietly(await Deno.connect({ hostname: "127.0.0.1", port }));
        await new Promise((resolve) => setTimeout(resolve, 20));
      } catch {
        refused = true;
      }
    }
    assert.equal(refused, true);
  });
});

Deno.test("a passive listener whose client never came is closed; the next EPSV works", async () => {
  await withServer({ config: { dataTimeoutMs: 200 } }, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "late");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const port = await epsvPort(client);
    await client.send("RETR f.txt");
    assert.ok([125, 150].includes((await client.read()).code));
    assert.equal((await client.read()).code, 425);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
    const result = await client.download("RETR f.txt");
    assert.equal(decoder.decode(result.data), "late");
    assert.equal(result.final.code, 226);
  });
});

/** Reads from `conn` until the text holds a final reply line with `code`. */
async function readUntil(conn: Deno.Conn, code: number): Promise<string> {
  const buffer = new Uint8Array(4096);
  let text = "";
  while (!new RegExp(`(^|\\n)${code} [^\\n]*\\r\\n$`).test(text)) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`closed before ${code}: ${text}`);
    text += decoder.decode(buffer.subarray(0, n));
  }
  return text;
}

Deno.test("a small download's 125 goes out with its 226, in one write", async () => {
  await withServer({}, async (server) => {
    await Deno.writeTextFile(`${server.root}/small.txt`, "tiny");
    const control = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      const send = (line: string) => control.write(new TextEncoder().encode(`${line}\r\n`));
      await readUntil(control, 220);
      await send("USER alice");
      await readUntil(control, 331);
      await send("PASS wonderland");
      await readUntil(control, 230);
      await send("EPSV");
      const port = parseEpsvReply(await readUntil(control, 229));
      const data = await Deno.connect({ hostname: "127.0.0.1", port });
      await send("RETR small.txt");
      assert.equal(decoder.decode(await readAll(data)), "tiny");
      const buffer = new Uint8Array(4096);
      const n = await control.read(buffer);
      assert.match(decoder.decode(buffer.subarray(0, n ?? 0)), /^125 [^\r]*\r\n226 [^\r]*\r\n$/);
    } finally {
      closeQuietly(control);
    }
  });
});

Deno.test("a client that waits for the 125 before reading a listing gets it", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/many`);
    for (let i = 0; i < 3000; i++) await Deno.writeTextFile(`${server.root}/many/f${i}`, "");
    const client = track(await RawClient.login(server.port));
    const data = await client.epsv();
    await client.send("LIST many");
    assert.equal((await client.read()).code, 125); // before any data is read
    const listing = decoder.decode(await readAll(data));
    assert.equal(listing.trimEnd().split("\r\n").length, 3000);
    assert.equal((await client.read()).code, 226);
  });
});
