import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import * as net from "node:net";
import { parsePasvReply } from "../../protocol/address.ts";
import { parseMlsxLine } from "../../protocol/listing.ts";
import {
  closeQuietly,
  format,
  RawClient,
  readAll,
  text,
  withServer,
  withTimeout,
} from "../helpers/raw_client.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(offset + 65536, length)));
  }
  return bytes;
}

Deno.test("STOR then RETR of 3 MB of random bytes in TYPE I is byte-identical", async () => {
  await withServer({}, async (server, track) => {
    const content = randomBytes(3 * 1024 * 1024);
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const stored = await client.upload("STOR random.bin", content);
    assert.ok([125, 150].includes(stored.preliminary!.code));
    assert.equal(stored.final.code, 226);
    assertSameBytes(await Deno.readFile(`${server.root}/random.bin`), content);
    const retrieved = await client.download("RETR random.bin");
    assert.ok([125, 150].includes(retrieved.preliminary!.code));
    assert.equal(retrieved.final.code, 226);
    assert.equal(retrieved.data.length, content.length);
    assertSameBytes(retrieved.data, content);
  });
});

Deno.test("RETR in TYPE A sends LF line ends as CRLF", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/lines.txt`, "one\ntwo\n\nthree");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE A", 200);
    const result = await client.download("RETR lines.txt");
    assert.equal(result.final.code, 226);
    assert.equal(decoder.decode(result.data), "one\r\ntwo\r\n\r\nthree");
  });
});

Deno.test("STOR in TYPE A stores CRLF line ends as LF", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE A", 200);
    const result = await client.upload("STOR lines.txt", "one\r\ntwo\r\n\r\nthree");
    assert.equal(result.final.code, 226);
    assert.equal(await Deno.readTextFile(`${server.root}/lines.txt`), "one\ntwo\n\nthree");
  });
});

Deno.test("TYPE A is the default transfer type", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/lines.txt`, "a\nb\n");
    const client = track(await RawClient.login(server.port));
    const result = await client.download("RETR lines.txt");
    assert.equal(decoder.decode(result.data), "a\r\nb\r\n");
  });
});

Deno.test("RETR after REST sends the rest of the file", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.bin`, "0123456789");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    await client.expect("REST 4", 350);
    const result = await client.download("RETR f.bin");
    assert.equal(result.final.code, 226);
    assert.equal(decoder.decode(result.data), "456789");
    const again = await client.download("RETR f.bin");
    assert.equal(decoder.decode(again.data), "0123456789", "REST applies to one transfer only");
  });
});

Deno.test("STOR after REST resumes an upload at the offset", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.bin`, "01234XXXXXXXXX");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    await client.expect("REST 5", 350);
    const result = await client.upload("STOR f.bin", "56789");
    assert.equal(result.final.code, 226);
    assert.equal(await Deno.readTextFile(`${server.root}/f.bin`), "0123456789");
  });
});

Deno.test("RETR after REST beyond the end of the file answers 554", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.bin`, "0123456789");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    await client.expect("REST 11", 350);
    const result = await client.download("RETR f.bin");
    assert.equal(result.preliminary, undefined);
    assert.equal(result.final.code, 554);
    await client.expect("NOOP", 200);
  });
});

Deno.test("STOR after REST beyond the end of the file answers 554", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.bin`, "0123");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    await client.expect("REST 10", 350);
    const result = await client.upload("STOR f.bin", "x");
    assert.equal(result.final.code, 554);
    assert.equal(await Deno.readTextFile(`${server.root}/f.bin`), "0123");
  });
});

Deno.test("APPE appends to a file, and creates a missing one", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/log.txt`, "first ");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    assert.equal((await client.upload("APPE log.txt", "second")).final.code, 226);
    assert.equal(await Deno.readTextFile(`${server.root}/log.txt`), "first second");
    assert.equal((await client.upload("APPE new.txt", "fresh")).final.code, 226);
    assert.equal(await Deno.readTextFile(`${server.root}/new.txt`), "fresh");
  });
});

Deno.test("STOU stores under a new name given in the 1xx reply as FILE: name", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/report.txt`, "old");
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const result = await client.upload("STOU report.txt", "unique");
    assert.ok([125, 150].includes(result.preliminary!.code));
    const match = /FILE: (\S+)/.exec(text(result.preliminary!));
    assert.ok(match, "150 reply names the file");
    assert.notEqual(match[1], "report.txt");
    assert.equal(result.final.code, 226);
    assert.equal(await Deno.readTextFile(`${server.root}/${match[1]}`), "unique");
    assert.equal(await Deno.readTextFile(`${server.root}/report.txt`), "old");
  });
});

Deno.test("STOU without an argument picks a fresh name", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const result = await client.upload("STOU", "data");
    const name = /FILE: (\S+)/.exec(text(result.preliminary!))?.[1];
    assert.ok(name);
    assert.equal(result.final.code, 226);
    assert.equal(await Deno.readTextFile(`${server.root}/${name}`), "data");
  });
});

Deno.test("RETR of a missing file or a directory answers 550 without a 150", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/dir`);
    const client = track(await RawClient.login(server.port));
    const missing = await client.download("RETR missing.txt");
    assert.equal(missing.preliminary, undefined);
    assert.equal(missing.final.code, 550);
    const dir = await client.download("RETR dir");
    assert.equal(dir.final.code, 550);
  });
});

Deno.test("STOR into a missing directory or onto a directory answers 550", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/dir`);
    const client = track(await RawClient.login(server.port));
    assert.equal((await client.upload("STOR missing/f.txt", "x")).final.code, 550);
    assert.equal((await client.upload("STOR dir", "x")).final.code, 550);
  });
});

Deno.test("a read-only user may RETR but not STOR, APPE or STOU", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "x");
    const client = track(await RawClient.login(server.port, "reader", "readonly"));
    assert.equal((await client.download("RETR f.txt")).final.code, 226);
    assert.equal((await client.upload("STOR g.txt", "x")).final.code, 550);
    assert.equal((await client.upload("APPE f.txt", "x")).final.code, 550);
    assert.equal((await client.upload("STOU", "x")).final.code, 550);
    assert.equal(await Deno.readTextFile(`${server.root}/f.txt`), "x");
  });
});

Deno.test("NLST sends the names of a directory's entries", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/sub`);
    await Deno.writeTextFile(`${server.root}/a.txt`, "a");
    await Deno.writeTextFile(`${server.root}/b.txt`, "b");
    const client = track(await RawClient.login(server.port));
    const result = await client.download("NLST");
    assert.equal(result.final.code, 226);
    const names = decoder.decode(result.data).split("\r\n").filter((line) => line !== "").sort();
    assert.deepEqual(names, ["a.txt", "b.txt", "sub"]);
  });
});

Deno.test("LIST sends ls -l lines, also when given -la", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/sub`);
    await Deno.writeTextFile(`${server.root}/a.txt`, "hello");
    const client = track(await RawClient.login(server.port));
    for (const line of ["LIST", "LIST -la", "LIST -la /", "LIST /"]) {
      const result = await client.download(line);
      assert.equal(result.final.code, 226, line);
      const listing = decoder.decode(result.data);
      assert.match(listing, /^-rw[-rwx]{7} +\d+ \S+ +\S+ +5 .* a\.txt\r$/m, line);
      assert.match(listing, /^d[-rwx]{9} .* sub\r$/m, line);
    }
  });
});

Deno.test("LIST of a single file lists just that file", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/a.txt`, "hello");
    await Deno.writeTextFile(`${server.root}/b.txt`, "hello");
    const client = track(await RawClient.login(server.port));
    const listing = decoder.decode((await client.download("LIST a.txt")).data);
    assert.match(listing, /a\.txt/);
    assert.doesNotMatch(listing, /b\.txt/);
  });
});

Deno.test("LIST, NLST and MLSD of a missing path answer 550 without a 150", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    for (const verb of ["LIST", "NLST", "MLSD"]) {
      const result = await client.download(`${verb} missing`);
      assert.equal(result.preliminary, undefined, verb);
      assert.equal(result.final.code, 550, verb);
    }
  });
});

Deno.test("MLSD sends facts for each entry", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/sub`);
    await Deno.writeTextFile(`${server.root}/a.txt`, "hello");
    const client = track(await RawClient.login(server.port));
    const result = await client.download("MLSD");
    assert.equal(result.final.code, 226);
    const lines = decoder.decode(result.data).split("\r\n").filter((line) => line !== "");
    const byName = new Map(lines.map((line) => [line.slice(line.indexOf(" ") + 1), line]));
    assert.match(
      byName.get("a.txt")!,
      /^type=file;size=5;modify=\d{14};perm=adfrw;unix\.mode=0\d{3};unique=\w+; a\.txt$/,
    );
    assert.match(byName.get("sub")!, /^type=dir;modify=\d{14};perm=[a-z]+;/);
    const parsed = parseMlsxLine(byName.get("a.txt")!);
    assert.equal(parsed?.name, "a.txt");
  });
});

Deno.test("MLSD of a file answers 501", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/a.txt`, "hello");
    const client = track(await RawClient.login(server.port));
    assert.equal((await client.download("MLSD a.txt")).final.code, 501);
  });
});

Deno.test("after OPTS MLST type;size; MLSD lines only have those facts", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/sub`);
    await Deno.writeTextFile(`${server.root}/a.txt`, "hello");
    const client = track(await RawClient.login(server.port));
    await client.expect("OPTS MLST type;size;", 200);
    const result = await client.download("MLSD");
    const lines = decoder.decode(result.data).split("\r\n").filter((line) => line !== "").sort();
    assert.deepEqual(lines, ["type=dir; sub", "type=file;size=5; a.txt"]);
    const mlst = await client.expect("MLST a.txt", 250);
    assert.equal(mlst.lines[1], " type=file;size=5; /a.txt");
  });
});

Deno.test("ABOR while a large RETR is blocked answers 426 for RETR then 226 for ABOR", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeFile(`${server.root}/big.bin`, new Uint8Array(64 * 1024 * 1024));
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const data = await client.pasv();
    try {
      const first = await client.command("RETR big.bin");
      assert.ok([125, 150].includes(first.code));
      // Read a little so the transfer is surely running, then stop reading.
      await withTimeout(data.read(new Uint8Array(1024)), 5000, "first data");
      await new Promise((resolve) => setTimeout(resolve, 100));
      await client.send("ABOR");
      const retrReply = await client.read();
      const aborReply = await client.read();
      assert.equal(retrReply.code, 426);
      assert.equal(aborReply.code, 226);
    } finally {
      closeQuietly(data);
    }
    await client.expect("NOOP", 200);
  });
});

Deno.test("ABOR with no transfer answers 225", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("ABOR", 225);
    await client.pasv().then(closeQuietly);
    await client.expect("ABOR", 225);
    await client.expect("NOOP", 200);
  });
});

Deno.test("the client closing the data connection mid-RETR gets 426", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeFile(`${server.root}/big.bin`, new Uint8Array(64 * 1024 * 1024));
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const data = await client.pasv();
    const first = await client.command("RETR big.bin");
    assert.ok([125, 150].includes(first.code));
    await withTimeout(data.read(new Uint8Array(1024)), 5000, "first data");
    data.close();
    assert.equal((await client.read()).code, 426);
    await client.expect("NOOP", 200);
  });
});

Deno.test("the client closing the data connection mid-STOR leaves the partial file", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const data = await client.pasv();
    const first = await client.command("STOR part.bin");
    assert.ok([125, 150].includes(first.code));
    await data.write(new Uint8Array(100_000).fill(7));
    data.close();
    const final = await client.read();
    assert.ok([226, 426].includes(final.code), `got ${final.code}`);
    const stored = await Deno.readFile(`${server.root}/part.bin`);
    assert.equal(stored.length, 100_000);
    await client.expect("NOOP", 200);
    const retrieved = await client.download("RETR part.bin");
    assert.equal(retrieved.data.length, 100_000);
  });
});

Deno.test("pipelined commands in one write get their replies in order", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.sendRaw("NOOP\r\nSYST\r\nPWD\r\nFROB\r\n");
    assert.deepEqual(
      [
        (await client.read()).code,
        (await client.read()).code,
        (await client.read()).code,
        (await client.read()).code,
      ],
      [200, 215, 257, 502],
    );
  });
});

Deno.test("a whole login and transfer pipelined in one write completes in order", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/f.txt`, "pipelined");
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.sendRaw("USER alice\r\nPASS wonderland\r\nTYPE I\r\nSIZE f.txt\r\n");
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await client.read()).code);
    assert.deepEqual(codes, [331, 230, 200, 213]);
  });
});

Deno.test("a command sent during a transfer is answered after the 226", async () => {
  await withServer({}, async (server, track) => {
    const content = randomBytes(4 * 1024 * 1024);
    await Deno.writeFile(`${server.root}/big.bin`, content);
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const data = await client.pasv();
    const first = await client.command("RETR big.bin");
    assert.ok([125, 150].includes(first.code));
    await client.send("NOOP");
    const received = await readAll(data);
    assertSameBytes(received, content);
    assert.equal((await client.read()).code, 226);
    assert.equal((await client.read()).code, 200);
  });
});

Deno.test("STAT during a transfer answers 211 at once", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeFile(`${server.root}/big.bin`, new Uint8Array(64 * 1024 * 1024));
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const data = await client.pasv();
    try {
      await client.command("RETR big.bin");
      await withTimeout(data.read(new Uint8Array(1024)), 5000, "first data");
      const status = await client.expect("STAT", 211);
      assert.match(text(status), /Transfer in progress/);
      await client.send("ABOR");
      assert.equal((await client.read()).code, 426);
      assert.equal((await client.read()).code, 226);
    } finally {
      closeQuietly(data);
    }
  });
});

Deno.test("QUIT during a transfer waits for the transfer and then answers 221", async () => {
  await withServer({}, async (server, track) => {
    const content = encoder.encode("x".repeat(1024 * 1024));
    await Deno.writeFile(`${server.root}/f.bin`, content);
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const data = await client.pasv();
    await client.command("RETR f.bin");
    await client.send("QUIT");
    assert.equal((await readAll(data)).length, content.length);
    assert.equal((await client.read()).code, 226);
    assert.equal((await client.read()).code, 221);
    assert.equal(await client.waitForClose(), true);
  });
});

Deno.test("ABOR during a STOR answers 426 for STOR then 226 for ABOR", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const data = await client.pasv();
    try {
      assert.ok([125, 150].includes((await client.command("STOR part.bin")).code));
      await data.write(new Uint8Array(1000));
      await client.send("ABOR");
      assert.equal((await client.read()).code, 426);
      assert.equal((await client.read()).code, 226);
    } finally {
      closeQuietly(data);
    }
    await client.expect("NOOP", 200);
  });
});

Deno.test("a data connection reset mid-STOR answers 426, not a local error", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const { port } = parsePasvReply(text(await client.expect("PASV", 227)));
    const socket = net.connect({ host: "127.0.0.1", port });
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("connect", resolve));
    assert.ok([125, 150].includes((await client.command("STOR part.bin")).code));
    await new Promise<void>((resolve) => socket.write(new Uint8Array(50_000), () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.resetAndDestroy();
    await closed;
    assert.equal((await client.read()).code, 426);
    await client.expect("NOOP", 200);
  });
});

Deno.test("a RETR whose client stops reading is aborted with 426 after the data timeout", async () => {
  await withServer({ config: { dataTimeoutMs: 300 } }, async (server, track) => {
    await Deno.writeFile(`${server.root}/big.bin`, new Uint8Array(64 * 1024 * 1024));
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const data = await client.pasv();
    try {
      assert.ok([125, 150].includes((await client.command("RETR big.bin")).code));
      await withTimeout(data.read(new Uint8Array(1024)), 5000, "first data");
      assert.equal((await client.read()).code, 426);
    } finally {
      closeQuietly(data);
    }
    await client.expect("NOOP", 200);
  });
});

Deno.test("a STOR whose client stops sending is aborted with 426 after the data timeout", async () => {
  await withServer({ config: { dataTimeoutMs: 300 } }, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const data = await client.pasv();
    try {
      assert.ok([125, 150].includes((await client.command("STOR slow.bin")).code));
      await data.write(new Uint8Array(10));
      assert.equal((await client.read()).code, 426);
    } finally {
      closeQuietly(data);
    }
    await client.expect("NOOP", 200);
  });
});

Deno.test("an idle session is closed with 421", async () => {
  await withServer({ config: { idleTimeoutMs: 300 } }, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    assert.equal((await client.read()).code, 421);
    assert.equal(await client.waitForClose(), true);
  });
});

Deno.test("RETR and SIZE of a FIFO answer 550 without opening it (the server never blocks)", async () => {
  await withServer({}, async (server, track) => {
    const made = await new Deno.Command("mkfifo", { args: [`${server.root}/pipe`] }).output();
    assert.equal(made.code, 0);
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const data = await client.pasv();
    const reply = await client.command("RETR pipe");
    assert.equal(format(reply), "550 Not a regular file.");
    closeQuietly(data);
    assert.equal(format(await client.command("SIZE pipe")), "550 Not a regular file.");
    const other = track(await RawClient.login(server.port));
    await other.expect("NOOP", 200);
  });
});
