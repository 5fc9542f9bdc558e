import assert from "node:assert/strict";
import {
  formatHashFeat,
  formatHashReply,
  parseChecksumReply,
  parseHashAlgorithm,
  parseHashFeat,
  parseXHashArgument,
} from "../../protocol/hash_algorithm.ts";
import { createDigest } from "../../protocol/digest.ts";
import { parseCommand } from "../../protocol/command.ts";

Deno.test("parseHashAlgorithm() reads IANA names and the usual spellings, case-insensitive", () => {
  const cases: [string, string | undefined][] = [
    ["SHA-256", "SHA-256"],
    ["sha256", "SHA-256"],
    ["Sha-1", "SHA-1"],
    ["sha512", "SHA-512"],
    ["md5", "MD5"],
    ["crc32", "CRC32"],
    ["CRC-37", undefined],
    ["", undefined],
  ];
  for (const [name, expected] of cases) assert.equal(parseHashAlgorithm(name), expected, name);
});

Deno.test("formatHashFeat() stars the selected algorithm; parseHashFeat() reads it back", () => {
  assert.equal(formatHashFeat("SHA-256"), "HASH SHA-1;SHA-256*;SHA-512;MD5");
  assert.deepEqual(parseHashFeat("SHA-256;SHA-512;SHA-1*;MD5;"), {
    algorithms: ["SHA-256", "SHA-512", "SHA-1", "MD5"],
    selected: "SHA-1",
  });
  assert.deepEqual(parseHashFeat("CRC32;FOO"), { algorithms: ["CRC32"] });
});

Deno.test("formatHashReply() shows the inclusive range; an empty range as start-start", () => {
  assert.equal(
    formatHashReply("MD5", { start: 0, end: 99 }, "ab", "a b.txt"),
    "MD5 0-99 ab a b.txt",
  );
  assert.equal(formatHashReply("MD5", { start: 0, end: -1 }, "ab", "e"), "MD5 0-0 ab e");
});

Deno.test("parseChecksumReply() finds the checksum in HASH and X-verb replies, not in a hex-named path", () => {
  const sha1 = "a9993e364706816aba3e25717850c26c9cd0d89d";
  assert.deepEqual(parseChecksumReply(`SHA-1 0-2 ${sha1} abc`, "SHA-1"), {
    algorithm: "SHA-1",
    range: { start: 0, end: 2 },
    hex: sha1,
  });
  assert.deepEqual(parseChecksumReply("CBF43926", "CRC32"), { hex: "cbf43926" });
  assert.deepEqual(parseChecksumReply("/a.txt CBF43926", "CRC32"), { hex: "cbf43926" });
  // A path of 8 hex digits after a CRC: the first match is the checksum.
  assert.equal(parseChecksumReply("CRC32 0-9 cbf43926 deadbeef", "CRC32")?.hex, "cbf43926");
  assert.equal(parseChecksumReply("Computing...", "MD5"), undefined);
  assert.equal(parseChecksumReply(`SHA-1 0-2 ${sha1.slice(1)} abc`, "SHA-1"), undefined);
});

Deno.test("parseXHashArgument() reads a path, an optional range and quoted paths", () => {
  assert.deepEqual(parseXHashArgument("a.txt"), { path: "a.txt" });
  assert.deepEqual(parseXHashArgument("my file.iso 0 1048576"), {
    path: "my file.iso",
    start: 0,
    end: 1048576,
  });
  assert.deepEqual(parseXHashArgument('"/Program Files/x.exe" 0 42575'), {
    path: "/Program Files/x.exe",
    start: 0,
    end: 42575,
  });
  assert.deepEqual(parseXHashArgument('"say ""hi"".txt"'), { path: 'say "hi".txt' });
  assert.deepEqual(parseXHashArgument("report 2021"), { path: "report 2021" });
});

Deno.test("createDigest() gives the known test vectors, fed in pieces or whole", () => {
  const abc = new TextEncoder().encode("abc");
  const vectors: [Parameters<typeof createDigest>[0], string][] = [
    ["SHA-1", "a9993e364706816aba3e25717850c26c9cd0d89d"],
    ["SHA-256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    ["MD5", "900150983cd24fb0d6963f7d28e17f72"],
    ["CRC32", "352441c2"],
  ];
  for (const [algorithm, hex] of vectors) {
    const whole = createDigest(algorithm);
    whole.update(abc);
    assert.equal(whole.hex(), hex, algorithm);
    const pieces = createDigest(algorithm);
    for (const byte of abc) pieces.update(new Uint8Array([byte]));
    assert.equal(pieces.hex(), hex, `${algorithm} in pieces`);
  }
  assert.equal(createDigest("CRC32").hex(), "00000000");
});

Deno.test("parseCommand() accepts the checksum verbs that carry digits, in any case", () => {
  for (const verb of ["XMD5", "xsha1", "XSHA256", "XSha512"]) {
    const parsed = parseCommand(`${verb} a.txt`);
    assert.ok(parsed.ok, verb);
    assert.equal(parsed.command.verb, verb.toUpperCase());
  }
  for (const line of ["XSHA2 a", "XSHA384 a", "XMD55 a", "SHA256 a"]) {
    assert.deepEqual(parseCommand(line), { ok: false, reason: "bad-verb" }, line);
  }
});
