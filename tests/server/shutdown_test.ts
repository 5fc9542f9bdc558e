import assert from "node:assert/strict";
import { closeQuietly, format, RawClient, withServer, withTimeout } from "../helpers/raw_client.ts";

const encoder = new TextEncoder();

/** Starts STOR over PASV and returns the open data connection. */
async function beginUpload(client: RawClient, name: string): Promise<Deno.TcpConn> {
  await client.expect("TYPE I", 200);
  const data = await client.pasv();
  const first = await client.command(`STOR ${name}`);
  assert.ok([125, 150].includes(first.code), format(first));
  await data.write(encoder.encode("first part, "));
  return data;
}

Deno.test("close() with a grace period refuses new connections, closes idle sessions at once and lets a running upload finish", async () => {
  await withServer({}, async (server, track) => {
    const idle = track(await RawClient.login(server.port));
    const uploader = track(await RawClient.login(server.port));
    const data = await beginUpload(uploader, "graceful.txt");
    const started = performance.now();
    const closing = server.server.close({ graceMs: 10_000 });
    let closed = false;
    closing.then(() => closed = true);

    assert.equal(
      format(await idle.read()),
      "421 Server shutting down; closing control connection.",
    );
    assert.equal(await idle.waitForClose(), true);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    assert.equal(closed, false, "close() waits for the running transfer");

    await new Promise((resolve) => setTimeout(resolve, 200));
    await data.write(encoder.encode("second part."));
    closeQuietly(data);
    assert.equal((await uploader.read()).code, 226);
    assert.equal((await uploader.read()).code, 421);
    assert.equal(await uploader.waitForClose(), true);
    await withTimeout(closing, 5000, "close()");
    assert.ok(performance.now() - started < 5000);
    assert.equal(
      await Deno.readTextFile(`${server.root}/graceful.txt`),
      "first part, second part.",
    );
    assert.equal(server.server.sessionCount, 0);
  });
});

Deno.test("close() cuts a transfer that outlives the grace period with 421", async () => {
  await withServer({}, async (server, track) => {
    const uploader = track(await RawClient.login(server.port));
    const data = await beginUpload(uploader, "slow.txt");
    try {
      const started = performance.now();
      await withTimeout(server.server.close({ graceMs: 300 }), 5000, "close()");
      const took = performance.now() - started;
      assert.ok(took >= 250 && took < 3000, `close took ${Math.round(took)} ms`);
      assert.equal(
        format(await uploader.read()),
        "421 Server shutting down; closing control connection.",
      );
      assert.equal(await uploader.waitForClose(), true);
      // The part that arrived stays, for a later REST+STOR.
      assert.equal(await Deno.readTextFile(`${server.root}/slow.txt`), "first part, ");
    } finally {
      closeQuietly(data);
    }
  });
});

Deno.test("a second close() without grace cuts the grace period short", async () => {
  await withServer({}, async (server, track) => {
    const uploader = track(await RawClient.login(server.port));
    const data = await beginUpload(uploader, "cut.txt");
    try {
      const started = performance.now();
      const first = server.server.close({ graceMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = server.server.close();
      await withTimeout(Promise.all([first, second]), 5000, "close()");
      assert.ok(performance.now() - started < 5000);
      assert.equal(await uploader.waitForClose(), true);
    } finally {
      closeQuietly(data);
    }
  });
});

Deno.test("close() with no sessions returns at once", async () => {
  await withServer({}, async (server) => {
    const started = performance.now();
    await withTimeout(server.server.close({ graceMs: 30_000 }), 5000, "close()");
    assert.ok(performance.now() - started < 1000);
  });
});
