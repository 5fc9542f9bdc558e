import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import { RawClient, withServer } from "../helpers/raw_client.ts";

Deno.test("twenty sessions storing and retrieving distinct files at once all succeed", async () => {
  await withServer({}, async (server, track) => {
    const sessions = Array.from({ length: 20 }, async (_, index) => {
      const content = new Uint8Array(256 * 1024 + index);
      crypto.getRandomValues(content.subarray(0, 65536));
      content.fill(index, 65536);
      const client = track(await RawClient.login(server.port));
      await client.expect("TYPE I", 200);
      const stored = await client.upload(`STOR file-${index}.bin`, content);
      assert.equal(stored.final.code, 226);
      const retrieved = await client.download(`RETR file-${index}.bin`);
      assert.equal(retrieved.final.code, 226);
      assertSameBytes(retrieved.data, content);
      await client.expect("QUIT", 221);
      return content;
    });
    const contents = await Promise.all(sessions);
    for (const [index, content] of contents.entries()) {
      assertSameBytes(await Deno.readFile(`${server.root}/file-${index}.bin`), content);
    }
  });
});

Deno.test("twenty sessions listing the same directory at once all see every file", async () => {
  await withServer({}, async (server, track) => {
    for (let i = 0; i < 50; i++) await Deno.writeTextFile(`${server.root}/f${i}.txt`, "x");
    await Promise.all(Array.from({ length: 20 }, async () => {
      const client = track(await RawClient.login(server.port, "reader", "readonly"));
      const result = await client.download("NLST");
      assert.equal(result.final.code, 226);
      const names = new TextDecoder().decode(result.data).split("\r\n").filter((n) => n !== "");
      assert.equal(names.length, 50);
    }));
  });
});
