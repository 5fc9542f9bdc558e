/**
 * Storage failures in the middle of a transfer: a full disk (a 1 MiB tmpfs
 * mounted as the served root) and a directory the kernel refuses to write
 * (`chattr +i`, which stops root too, unlike `chmod`). Both need root; CI
 * runs as root.
 */

import assert from "node:assert/strict";
import { parsePasvReply } from "../../protocol/address.ts";
import { closeQuietly, format, RawClient, text, withServer } from "../helpers/raw_client.ts";

async function run(command: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
}

/** Mounts a tmpfs of `size` on a fresh directory for `fn`, and always unmounts it. */
async function withTmpfs(size: string, fn: (dir: string) => Promise<void>): Promise<void> {
  if (Deno.uid() !== 0) {
    throw new Error(
      "This test mounts a tmpfs and uses chattr, which needs root (CI runs as root): " +
        "run it as root, e.g. sudo deno test --allow-all tests/server/disk_full_test.ts",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "ferry-tmpfs-" });
  try {
    await run("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]);
    try {
      await fn(dir);
    } finally {
      await run("umount", [dir]).catch(() => run("umount", ["-l", dir]));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Sends `bytes` on a data connection, ignoring the reset a refusing server causes. */
async function sendIgnoringErrors(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  try {
    for (let offset = 0; offset < bytes.length; offset += 64 * 1024) {
      await conn.write(bytes.subarray(offset, offset + 64 * 1024));
    }
  } catch {
    // the server closed the data connection after the error
  } finally {
    closeQuietly(conn);
  }
}

/** STOR over PASV sending `bytes`; returns the preliminary and final replies. */
async function store(client: RawClient, line: string, bytes: Uint8Array) {
  const { port } = parsePasvReply(text(await client.expect("PASV", 227)));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const first = await client.command(line);
  if (first.code >= 200) {
    closeQuietly(conn);
    return { first, final: first };
  }
  const sending = sendIgnoringErrors(conn, bytes);
  const final = await client.read();
  closeQuietly(conn);
  await sending;
  return { first, final };
}

const twoMegabytes = new Uint8Array(2 * 1024 * 1024).fill(0x5a);

Deno.test("a disk that fills up mid-STOR answers 452 and the session goes on", async () => {
  await withTmpfs("1m", async (mount) => {
    await withServer({ config: { root: mount } }, async (server, track) => {
      const client = track(await RawClient.login(server.port));
      const bystander = track(await RawClient.login(server.port));
      await client.expect("TYPE I", 200);
      const { first, final } = await store(client, "STOR huge.bin", twoMegabytes);
      assert.ok([125, 150].includes(first.code), format(first));
      assert.equal(format(final), "452 Insufficient storage space.");
      // Without --atomic-uploads the part that fitted stays, for a later REST.
      const partial = (await Deno.stat(`${mount}/huge.bin`)).size;
      assert.ok(partial > 0 && partial <= 1024 * 1024, `partial ${partial}`);
      await client.expect("NOOP", 200);
      await bystander.expect("NOOP", 200);
      await client.expect("DELE huge.bin", 250);
      assert.equal((await client.upload("STOR small.txt", "fits")).final.code, 226);
      assert.equal(await Deno.readTextFile(`${mount}/small.txt`), "fits");
    });
  });
});

Deno.test("with --atomic-uploads a full disk answers 452 and keeps the old file whole", async () => {
  await withTmpfs("1m", async (mount) => {
    await withServer({ config: { root: mount, atomicUploads: true } }, async (server, track) => {
      await Deno.writeTextFile(`${mount}/data.txt`, "the old data");
      const client = track(await RawClient.login(server.port));
      await client.expect("TYPE I", 200);
      const { final } = await store(client, "STOR data.txt", twoMegabytes);
      assert.equal(final.code, 452, format(final));
      assert.equal(await Deno.readTextFile(`${mount}/data.txt`), "the old data");
      const names = [];
      for await (const entry of Deno.readDir(mount)) names.push(entry.name);
      assert.deepEqual(names.sort(), ["data.txt"], "the temporary file is removed");
      assert.equal((await client.upload("STOR data.txt", "new data")).final.code, 226);
      assert.equal(await Deno.readTextFile(`${mount}/data.txt`), "new data");
    });
  });
});

Deno.test("writing where the kernel refuses (chattr +i, which binds root too) answers 550 and the session goes on", async () => {
  await withTmpfs("4m", async (mount) => {
    await Deno.mkdir(`${mount}/locked`);
    await Deno.writeTextFile(`${mount}/frozen.txt`, "frozen");
    await run("chattr", ["+i", `${mount}/locked`, `${mount}/frozen.txt`]);
    try {
      for (const atomicUploads of [false, true]) {
        await withServer({ config: { root: mount, atomicUploads } }, async (server, track) => {
          const client = track(await RawClient.login(server.port));
          await client.expect("TYPE I", 200);
          const intoLocked = await store(client, "STOR locked/new.bin", twoMegabytes);
          assert.equal(
            format(intoLocked.final),
            "550 Permission denied.",
            `atomic ${atomicUploads}`,
          );
          const ontoFrozen = await store(client, "STOR frozen.txt", twoMegabytes);
          // In place the open fails (EPERM); atomically the rename over it fails the same way.
          assert.equal(
            format(ontoFrozen.final),
            "550 Permission denied.",
            `atomic ${atomicUploads}`,
          );
          await client.expect("DELE frozen.txt", 550);
          await client.expect("MKD locked/sub", 550);
          await client.expect("NOOP", 200);
          assert.equal((await client.upload("STOR open.txt", "ok")).final.code, 226);
          await client.expect("DELE open.txt", 250);
        });
      }
      assert.equal(await Deno.readTextFile(`${mount}/frozen.txt`), "frozen");
      assert.deepEqual([...Deno.readDirSync(`${mount}/locked`)], []);
    } finally {
      await run("chattr", ["-i", `${mount}/locked`, `${mount}/frozen.txt`]);
    }
  });
});
