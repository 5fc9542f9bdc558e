import assert from "node:assert/strict";
import { transferBufferPool } from "../../../server/data/transfer.ts";
import { closeQuietly, RawClient, withServer, withTimeout } from "../../helpers/raw_client.ts";

/** The files under `dir` this process has open. */
function openFilesUnder(dir: string): string[] {
  const open: string[] = [];
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      if (target.startsWith(`${dir}/`)) open.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return open;
}

/** Waits until every pool buffer is back (transfers end just after their reply). */
async function poolSettled(): Promise<void> {
  for (let i = 0; i < 200 && transferBufferPool.stats.outCount > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("transfers give every pool buffer back, also when the client aborts or drops them", async () => {
  await withServer({ config: { dataTimeoutMs: 500 } }, async (server, track) => {
    await Deno.writeFile(`${server.root}/big.bin`, new Uint8Array(32 * 1024 * 1024).fill(3));
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);

    // A whole download and a whole upload.
    assert.equal((await client.download("RETR big.bin")).data.length, 32 * 1024 * 1024);
    assert.equal((await client.upload("STOR up.bin", new Uint8Array(3_000_000))).final.code, 226);

    // A download whose client closes the data connection after the first bytes.
    let data = await client.pasv();
    assert.ok([125, 150].includes((await client.command("RETR big.bin")).code));
    await withTimeout(data.read(new Uint8Array(1024)), 5000, "first data");
    data.close();
    assert.equal((await client.read()).code, 426);

    // A download aborted with ABOR, and one whose client stops reading (data timeout).
    for (const stop of ["ABOR", "stall"] as const) {
      data = await client.pasv();
      try {
        assert.ok([125, 150].includes((await client.command("RETR big.bin")).code));
        await withTimeout(data.read(new Uint8Array(1024)), 5000, "first data");
        if (stop === "ABOR") await client.send("ABOR");
        assert.equal((await client.read()).code, 426);
        if (stop === "ABOR") assert.equal((await client.read()).code, 226);
      } finally {
        closeQuietly(data);
      }
    }

    // An upload cut off by ABOR.
    data = await client.pasv();
    try {
      assert.ok([125, 150].includes((await client.command("STOR part.bin")).code));
      await data.write(new Uint8Array(200_000));
      await client.send("ABOR");
      assert.equal((await client.read()).code, 426);
      assert.equal((await client.read()).code, 226);
    } finally {
      closeQuietly(data);
    }

    await client.expect("NOOP", 200);
    await poolSettled();
    assert.equal(transferBufferPool.stats.outCount, 0, "every buffer is back in the pool");
    assert.equal(transferBufferPool.stats.outBytes, 0);
    assert.deepEqual(openFilesUnder(await Deno.realPath(server.root)), [], "no file left open");
  });
});
