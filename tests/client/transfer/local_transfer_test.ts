import assert from "node:assert/strict";
import { chooseType, looksLikeText } from "../../../client/transfer/local_transfer.ts";
import { downloadFile } from "../../../client/transfer/local_transfer.ts";
import { FtpClient } from "../../../client/ftp_client.ts";
import { FtpReplyError } from "../../../client/errors.ts";
import { startTestServer } from "../../helpers/test_server.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("looksLikeText() accepts plain text, tabs, CRLF and UTF-8", () => {
  assert.equal(looksLikeText(bytes("a\tb\r\nc\n")), true);
  assert.equal(looksLikeText(bytes("héllo wörld ✓\n")), true);
  assert.equal(looksLikeText(new Uint8Array()), true);
});

Deno.test("looksLikeText() rejects NUL, control bytes and invalid UTF-8", () => {
  assert.equal(looksLikeText(new Uint8Array([0x61, 0x00, 0x62])), false);
  assert.equal(looksLikeText(new Uint8Array([0x61, 0x01])), false);
  assert.equal(looksLikeText(new Uint8Array([0xff, 0xfe, 0x61])), false);
});

Deno.test("looksLikeText() tolerates a UTF-8 sequence cut at the end of the sample", () => {
  const text = bytes("ab✓");
  assert.equal(looksLikeText(text.subarray(0, text.length - 1)), true);
});

Deno.test("chooseType() follows binary and ascii as given", () => {
  assert.equal(chooseType("binary", "a.txt", bytes("x")), "I");
  assert.equal(chooseType("ascii", "a.bin", new Uint8Array([0])), "A");
});

Deno.test("chooseType() auto picks ASCII only for text names with text content", () => {
  assert.equal(chooseType("auto", "notes.TXT", bytes("a\n")), "A");
  assert.equal(chooseType("auto", "notes.txt"), "A");
  assert.equal(chooseType("auto", "image.png", bytes("a\n")), "I");
  assert.equal(chooseType("auto", "Makefile", bytes("a\n")), "I");
});

Deno.test("chooseType() auto never sends a binary file as ASCII, whatever its name", () => {
  assert.equal(chooseType("auto", "fake.txt", new Uint8Array([0x89, 0x50, 0x00, 0x0a])), "I");
  assert.equal(chooseType("auto", "data.csv", new Uint8Array([0xff, 0xd8, 0xff])), "I");
});

Deno.test("downloadFile() removes the empty local file when the server refuses RETR", async () => {
  const server = await startTestServer({
    users: [{ name: "lister", password: "lister", permissions: "el" }],
  });
  const local = await Deno.makeTempDir();
  const client = await FtpClient.connect({
    host: "127.0.0.1",
    port: server.port,
    user: "lister",
    password: "lister",
  });
  try {
    await Deno.writeTextFile(`${server.root}/secret.txt`, "x");
    await assert.rejects(
      downloadFile(client, "/secret.txt", `${local}/secret.txt`),
      (error: unknown) => error instanceof FtpReplyError && error.code === 550,
    );
    await assert.rejects(Deno.stat(`${local}/secret.txt`), Deno.errors.NotFound);
  } finally {
    await client.quit();
    await server.close();
    await Deno.remove(local, { recursive: true });
  }
});
