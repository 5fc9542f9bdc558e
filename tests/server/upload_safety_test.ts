import assert from "node:assert/strict";
import * as net from "node:net";
import { parsePasvReply } from "../../protocol/address.ts";
import { isUploadTemp } from "../../server/handlers/transfers.ts";
import { format, RawClient, text, withServer, withTimeout } from "../helpers/raw_client.ts";
import type { TestServer } from "../helpers/test_server.ts";

const decoder = new TextDecoder();

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(offset + 65536, length)));
  }
  return bytes;
}

/** The names in a directory on disk, sorted. */
async function namesOnDisk(directory: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(directory)) names.push(entry.name);
  return names.sort();
}

/** The size of a file on disk, 0 while it does not exist. */
async function sizeOnDisk(path: string): Promise<number> {
  return await Deno.stat(path).then((info) => info.size, () => 0);
}

/** Polls `condition` every 20 ms for up to 5 s. */
async function eventually(condition: () => boolean | Promise<boolean>, what: string) {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts `STOR name` over PASV and sends `bytes` without closing the data connection. */
async function startUpload(client: RawClient, line: string, bytes: Uint8Array) {
  const { port } = parsePasvReply(text(await client.expect("PASV", 227)));
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  const closed = new Promise((resolve) => socket.once("close", resolve));
  await withTimeout(new Promise((resolve) => socket.once("connect", resolve)), 5000, "connect");
  const first = await client.command(line);
  assert.ok([125, 150].includes(first.code), format(first));
  await withTimeout(
    new Promise<void>((resolve) => socket.write(bytes, () => resolve())),
    5000,
    "data write",
  );
  return { socket, closed };
}

/** Resumes an interrupted upload with SIZE, REST and STOR (or APPE) until it is `content`. */
async function resume(
  client: RawClient,
  name: string,
  content: Uint8Array,
  how: "REST" | "APPE",
): Promise<number> {
  await client.expect("TYPE I", 200);
  const size = Number(text(await client.expect(`SIZE ${name}`, 213)));
  assert.ok(size >= 0 && size <= content.length, `partial size ${size}`);
  if (how === "REST") await client.expect(`REST ${size}`, 350);
  const verb = how === "REST" ? "STOR" : "APPE";
  const result = await client.upload(`${verb} ${name}`, content.subarray(size));
  assert.equal(result.final.code, 226, format(result.final));
  return size;
}

async function assertSameFile(server: TestServer, name: string, content: Uint8Array) {
  const stored = await Deno.readFile(`${server.root}/${name}`);
  assert.equal(stored.length, content.length);
  assert.ok(stored.every((byte, i) => byte === content[i]), `${name} differs`);
}

Deno.test("an upload interrupted by ABOR answers 426, keeps the partial file, and REST+STOR resumes it byte for byte", async () => {
  await withServer({}, async (server, track) => {
    const content = randomBytes(3 * 1024 * 1024);
    const neighbour = randomBytes(100_000);
    await Deno.writeFile(`${server.root}/neighbour.bin`, neighbour);
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const upload = await startUpload(client, "STOR big.bin", content.subarray(0, 1024 * 1024));
    await eventually(
      async () => await sizeOnDisk(`${server.root}/big.bin`) > 0,
      "the first bytes on disk",
    );
    await client.send("ABOR");
    assert.equal((await client.read()).code, 426);
    assert.equal((await client.read()).code, 226);
    upload.socket.destroy();
    const partial = await resume(client, "big.bin", content, "REST");
    assert.ok(partial > 0 && partial <= 1024 * 1024, `partial ${partial}`);
    await assertSameFile(server, "big.bin", content);
    await assertSameFile(server, "neighbour.bin", neighbour);
  });
});

Deno.test("an upload whose data connection is reset answers 426 and APPE resumes it byte for byte", async () => {
  await withServer({}, async (server, track) => {
    const content = randomBytes(2 * 1024 * 1024);
    const neighbour = randomBytes(10_000);
    await Deno.writeFile(`${server.root}/neighbour.bin`, neighbour);
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const upload = await startUpload(client, "STOR reset.bin", content.subarray(0, 700_000));
    await eventually(
      async () => await sizeOnDisk(`${server.root}/reset.bin`) > 0,
      "the first bytes on disk",
    );
    upload.socket.resetAndDestroy();
    await upload.closed;
    assert.equal((await client.read()).code, 426);
    await resume(client, "reset.bin", content, "APPE");
    await assertSameFile(server, "reset.bin", content);
    await assertSameFile(server, "neighbour.bin", neighbour);
  });
});

Deno.test("an upload cut by a network drop of the whole client is resumed from a new session", async () => {
  await withServer({}, async (server, track) => {
    const content = randomBytes(2 * 1024 * 1024);
    const first = await RawClient.login(server.port);
    await first.expect("TYPE I", 200);
    const upload = await startUpload(first, "STOR dropped.bin", content.subarray(0, 500_000));
    await eventually(
      async () => await sizeOnDisk(`${server.root}/dropped.bin`) > 0,
      "the first bytes on disk",
    );
    upload.socket.resetAndDestroy();
    await first.close();
    await eventually(() => server.server.sessionCount === 0, "the dropped session to end");
    const second = track(await RawClient.login(server.port));
    await resume(second, "dropped.bin", content, "REST");
    await assertSameFile(server, "dropped.bin", content);
  });
});

Deno.test("with --atomic-uploads readers see the old file until the upload is complete, and listings hide the temporary file", async () => {
  await withServer({ config: { atomicUploads: true } }, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/report.txt`, "old report");
    await Deno.chmod(`${server.root}/report.txt`, 0o640);
    const writer = track(await RawClient.login(server.port));
    const reader = track(await RawClient.login(server.port));
    await writer.expect("TYPE I", 200);
    const upload = await startUpload(writer, "STOR report.txt", new TextEncoder().encode("new "));
    await eventually(
      async () => (await namesOnDisk(server.root)).some(isUploadTemp),
      "the temporary file",
    );
    assert.match(
      (await namesOnDisk(server.root)).find(isUploadTemp)!,
      /^\.report\.txt\.ferry-upload-/,
    );
    assert.equal(decoder.decode((await reader.download("RETR report.txt")).data), "old report");
    assert.equal(decoder.decode((await reader.download("NLST")).data), "report.txt\r\n");
    assert.doesNotMatch(decoder.decode((await reader.download("LIST -a")).data), /ferry-upload/);
    assert.doesNotMatch(decoder.decode((await reader.download("MLSD")).data), /ferry-upload/);
    assert.doesNotMatch(
      reader.transcript + text(await reader.expect("STAT /", 213)),
      /ferry-upload/,
    );

    upload.socket.end("report");
    await upload.closed;
    assert.equal((await writer.read()).code, 226);
    assert.equal(decoder.decode((await reader.download("RETR report.txt")).data), "new report");
    assert.deepEqual(await namesOnDisk(server.root), ["report.txt"]);
    assert.equal((await Deno.stat(`${server.root}/report.txt`)).mode! & 0o777, 0o640);
  });
});

Deno.test("with --atomic-uploads a failed upload leaves the old content and no temporary file", async () => {
  await withServer({ config: { atomicUploads: true } }, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/keep.txt`, "precious");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const aborted = await startUpload(client, "STOR keep.txt", randomBytes(500_000));
    await client.send("ABOR");
    assert.equal((await client.read()).code, 426);
    assert.equal((await client.read()).code, 226);
    aborted.socket.destroy();
    const reset = await startUpload(client, "STOR keep.txt", randomBytes(500_000));
    reset.socket.resetAndDestroy();
    await reset.closed;
    assert.equal((await client.read()).code, 426);
    assert.equal(await Deno.readTextFile(`${server.root}/keep.txt`), "precious");
    assert.deepEqual(await namesOnDisk(server.root), ["keep.txt"]);
    await client.expect("NOOP", 200);
  });
});

Deno.test("with --atomic-uploads STOU renames to a fresh name and APPE and REST+STOR still resume in place", async () => {
  await withServer({ config: { atomicUploads: true } }, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const stou = await client.upload("STOU unique.txt", "one");
    assert.equal(stou.final.code, 226);
    assert.equal((await client.upload("STOU unique.txt", "two")).final.code, 226);
    assert.deepEqual(await namesOnDisk(server.root), ["unique.txt", "unique.txt.1"]);
    assert.equal(await Deno.readTextFile(`${server.root}/unique.txt.1`), "two");

    const content = randomBytes(1_500_000);
    const upload = await startUpload(client, "STOR resume.bin", content.subarray(0, 600_000));
    await client.send("ABOR");
    assert.equal((await client.read()).code, 426);
    assert.equal((await client.read()).code, 226);
    upload.socket.destroy();
    // An atomic STOR that failed leaves nothing to resume from.
    await client.expect("SIZE resume.bin", 550);
    await client.upload("STOR resume.bin", content.subarray(0, 400_000));
    await resume(client, "resume.bin", content.subarray(0, 900_000), "REST");
    await resume(client, "resume.bin", content, "APPE");
    await assertSameFile(server, "resume.bin", content);
    assert.equal((await namesOnDisk(server.root)).some(isUploadTemp), false);
  });
});

Deno.test("a temporary upload name is refused as a name for STOR, APPE, RETR, DELE, RNFR and RNTO", async () => {
  await withServer({ config: { atomicUploads: true } }, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/.a.ferry-upload-0badcafe`, "someone's upload");
    await Deno.writeTextFile(`${server.root}/a`, "a");
    const client = track(await RawClient.login(server.port));
    const temp = ".a.ferry-upload-0badcafe";
    assert.equal((await client.upload(`STOR ${temp}`, "x")).final.code, 553);
    assert.equal((await client.upload(`APPE dir/../${temp}`, "x")).final.code, 553);
    assert.equal((await client.download(`RETR ${temp}`)).final.code, 553);
    await client.expect(`DELE ${temp}`, 553);
    await client.expect(`RNFR ${temp}`, 553);
    await client.expect("RNFR a", 350);
    await client.expect(`RNTO ${temp}`, 553);
    assert.equal(await Deno.readTextFile(`${server.root}/${temp}`), "someone's upload");
    assert.equal(isUploadTemp(".a.ferry-upload-0badcafe"), true);
    assert.equal(isUploadTemp("a.ferry-upload-0badcafe"), false);
    assert.equal(isUploadTemp(".a.ferry-upload-0badcaf"), false);
  });
});

Deno.test("without --atomic-uploads a STOR writes in place and a reader may see the partial file", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/inplace.txt`, "old content");
    const writer = track(await RawClient.login(server.port));
    await writer.expect("TYPE I", 200);
    const upload = await startUpload(writer, "STOR inplace.txt", new TextEncoder().encode("new"));
    await eventually(
      async () => await Deno.readTextFile(`${server.root}/inplace.txt`).catch(() => "") === "new",
      "the partial content in place",
    );
    upload.socket.end();
    await upload.closed;
    assert.equal((await writer.read()).code, 226);
    assert.deepEqual(await namesOnDisk(server.root), ["inplace.txt"]);
  });
});
