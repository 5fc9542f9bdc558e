import assert from "node:assert/strict";
import { RawClient, text, withServer } from "../helpers/raw_client.ts";
import { toFtpError } from "../../server/ftp_error.ts";
import { ReplyError } from "../../protocol/reply_error.ts";
import { InvalidPathError } from "../../protocol/virtual_path.ts";
import { LocalStorage } from "../../server/storage/local_storage.ts";
import { MemoryStorage } from "../../server/storage/memory_storage.ts";
import {
  AlreadyExistsError,
  BadNameError,
  IsADirectoryError,
  NoSpaceError,
  NotADirectoryError,
  NotAFileError,
  NotEmptyError,
  NotFoundError,
  StorageError,
  storageErrorFrom,
  StoragePermissionError,
} from "../../server/storage/storage_error.ts";

Deno.test("each typed storage error maps to its reply in one table", () => {
  const cases: [StorageError, number, string][] = [
    [new NotFoundError(), 550, "No such file or directory."],
    [new AlreadyExistsError(), 550, "File exists."],
    [new NotEmptyError(), 550, "Directory not empty."],
    [new NoSpaceError(), 452, "Insufficient storage space."],
    [new StoragePermissionError(), 550, "Permission denied."],
    [new NotAFileError(), 550, "Not a regular file."],
    [new IsADirectoryError(), 550, "Is a directory."],
    [new NotADirectoryError(), 550, "Not a directory."],
    [new BadNameError(), 553, "File name not allowed."],
  ];
  for (const [error, code, message] of cases) {
    const reply = toFtpError(error);
    assert.ok(reply instanceof ReplyError);
    assert.deepEqual([reply.code, reply.text], [code, message], error.name);
  }
  assert.equal(toFtpError(new InvalidPathError("bad")).code, 553);
  assert.equal(toFtpError(new Error("no space left on device")).code, 451, "no message matching");
  const own = new ReplyError(504, "x");
  assert.equal(toFtpError(own), own);
});

Deno.test("operating-system errors become typed by class or errno code, not by message", () => {
  const coded = (code: string) => Object.assign(new Error("whatever"), { code });
  assert.ok(storageErrorFrom(new Deno.errors.NotFound("x")) instanceof NotFoundError);
  assert.ok(storageErrorFrom(new Deno.errors.AlreadyExists("x")) instanceof AlreadyExistsError);
  assert.ok(storageErrorFrom(coded("ENOTEMPTY")) instanceof NotEmptyError);
  assert.ok(storageErrorFrom(coded("ENOSPC")) instanceof NoSpaceError);
  assert.ok(storageErrorFrom(coded("EDQUOT")) instanceof NoSpaceError);
  assert.ok(storageErrorFrom(coded("EACCES")) instanceof StoragePermissionError);
  assert.ok(storageErrorFrom(coded("ENAMETOOLONG")) instanceof BadNameError);
  const plain = new Error("Directory not empty");
  assert.equal(storageErrorFrom(plain), plain);
});

Deno.test("LocalStorage raises typed errors from the disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = await LocalStorage.open(dir);
    await storage.mkdir("/d");
    await Deno.writeTextFile(`${dir}/d/f`, "x");
    await assert.rejects(storage.stat("/missing"), NotFoundError);
    await assert.rejects(storage.mkdir("/d"), AlreadyExistsError);
    await assert.rejects(storage.rmdir("/d"), NotEmptyError);
    await assert.rejects(storage.rmdir("/d/f"), NotADirectoryError);
    await assert.rejects(storage.remove("/d"), IsADirectoryError);
    await assert.rejects(storage.openRead("/d"), NotAFileError);
    await assert.rejects(storage.mkdir(`/${"n".repeat(300)}`), BadNameError);
    await assert.rejects(storage.remove("/"), StoragePermissionError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MemoryStorage raises the same typed errors as the disk", async () => {
  const storage = new MemoryStorage({ capacity: 4 });
  await storage.mkdir("/d");
  const file = await storage.openWrite("/d/f");
  await file.write(new TextEncoder().encode("abc"));
  file.close();
  await assert.rejects(storage.stat("/missing"), NotFoundError);
  await assert.rejects(storage.mkdir("/d"), AlreadyExistsError);
  await assert.rejects(storage.rmdir("/d"), NotEmptyError);
  await assert.rejects(storage.rmdir("/d/f"), NotADirectoryError);
  await assert.rejects(storage.remove("/d"), IsADirectoryError);
  await assert.rejects(storage.openRead("/d"), NotAFileError);
  await assert.rejects(storage.remove("/"), StoragePermissionError);
  await assert.rejects(storage.openWrite("/d/f", { createNew: true }), AlreadyExistsError);
  await assert.rejects(storage.rename("/d", "/d/f/x"), NotADirectoryError);
  const more = await storage.openWrite("/d/f", { append: true });
  await assert.rejects(more.write(new Uint8Array(2)), NoSpaceError);
  assert.equal((await storage.stat("/d/f")).size, 3);
  const batches = [];
  for await (const batch of storage.list("/d")) batches.push(...batch.map((entry) => entry.name));
  assert.deepEqual(batches, ["f"]);
});

Deno.test("handlers over an in-memory storage: upload, list, size, download, rename, delete", async () => {
  const storage = new MemoryStorage();
  await withServer({ storage }, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("MKD pub", 257);
    const stored = await client.upload("STOR pub/a.txt", "hello memory");
    assert.equal(stored.final.code, 226);
    assert.equal((await client.expect("SIZE pub/a.txt", 213)).lines[0], "12");
    const listing = await client.download("NLST pub");
    assert.equal(new TextDecoder().decode(listing.data), "a.txt\r\n");
    const retrieved = await client.download("RETR pub/a.txt");
    assert.equal(new TextDecoder().decode(retrieved.data), "hello memory");
    await client.expect("REST 6", 350);
    const tail = await client.download("RETR pub/a.txt");
    assert.equal(new TextDecoder().decode(tail.data), "memory");
    await client.expect("RNFR pub/a.txt", 350);
    await client.expect("RNTO b.txt", 250);
    await client.expect("DELE b.txt", 250);
    await client.expect("RMD pub", 250);
  });
  // Nothing reached the disk: the server's root stayed empty.
  assert.equal((await storage.stat("/")).nlink, 2);
});

Deno.test("handlers answer typed storage errors with their reply (in-memory storage)", async () => {
  const storage = new MemoryStorage({ capacity: 8 });
  await storage.mkdir("/full");
  const file = await storage.openWrite("/full/x");
  await file.write(new Uint8Array(1));
  await withServer({ storage }, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    assert.match(text(await client.expect("RMD full", 550)), /Directory not empty/);
    assert.match(text(await client.expect("DELE nothing", 550)), /No such file/);
    assert.match(text(await client.expect("MKD full", 550)), /File exists/);
    assert.match(text(await client.expect("CWD full/x", 550)), /Not a directory/);
    const tooBig = await client.upload("STOR big.bin", new Uint8Array(64));
    assert.equal(tooBig.final.code, 452);
    assert.match(text(tooBig.final), /Insufficient storage space/);
  });
});
