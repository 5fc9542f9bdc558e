/**
 * `ferry client hash` and `get`/`put --verify`, run as the real CLI against
 * ferry (with and without `--no-hash`) and against vsftpd, which has no
 * checksum command; the checksums are checked against coreutils and gzip.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ExitCode } from "../../client/errors.ts";
import {
  crc32Python,
  crc32Reference,
  makeSparseFile,
  referenceHash,
} from "../helpers/checksum_reference.ts";
import {
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from "../helpers/test_server.ts";
import { startPeerServer } from "../interop/servers.ts";
import { runClient } from "./cli_run.ts";

/** Runs `body` with a fresh server and a fresh local directory. */
function withServer(
  name: string,
  options: TestServerOptions,
  body: (server: TestServer, url: string, local: string) => Promise<void>,
) {
  Deno.test(name, async () => {
    const server = await startTestServer(options);
    const local = await Deno.makeTempDir({ prefix: "ferry-local-" });
    try {
      await body(server, `ftp://alice:wonderland@127.0.0.1:${server.port}`, local);
    } finally {
      await server.close();
      await Deno.remove(local, { recursive: true });
    }
  });
}

const CONTENT = "checksum me, please\n".repeat(5000);

withServer(
  "client hash prints HEX  NAME as sha256sum does, and the other algorithms as their tools do",
  {},
  async (server, url) => {
    const file = `${server.root}/a file.txt`;
    await Deno.writeTextFile(file, CONTENT);
    const sha256 = await runClient(["hash", "-q", `${url}/a%20file.txt`]);
    assert.equal(sha256.code, 0, sha256.stderr);
    const expected = await referenceHash("sha256sum", file);
    assert.equal(sha256.stdout, `${expected}  a file.txt\n`);
    for (
      const [algo, reference] of [["md5", "md5sum"], ["sha1", "sha1sum"], ["sha512", "sha512sum"]]
    ) {
      const result = await runClient(["hash", "--algo", algo!, `${url}/a%20file.txt`]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `${await referenceHash(reference!, file)}  a file.txt\n`);
    }
    // CRC-32 is only offered through XCRC: the client falls back to the X-verb.
    const crc = await runClient(["hash", "--algo", "crc32", `${url}/a%20file.txt`]);
    assert.equal(crc.code, 0, crc.stderr);
    assert.equal(crc.stdout, `${await crc32Reference(file)}  a file.txt\n`);
    const empty = `${server.root}/empty`;
    await Deno.writeFile(empty, new Uint8Array());
    const none = await runClient(["hash", `${url}/empty`]);
    assert.equal(none.stdout, `${await referenceHash("sha256sum", empty)}  empty\n`);
  },
);

withServer(
  "client hash of a multi-GiB sparse file matches Python's zlib CRC-32, waiting past --timeout for it",
  {},
  async (server, url) => {
    // CRC-32 keeps this test cheap (15 GB/s); the server tests compare SHA-256 of such files.
    const file = `${server.root}/disk.img`;
    await makeSparseFile(file, 2 ** 31 + 8 * 1024 ** 2, [0, 2 ** 31 - 1, 2 ** 31 + 5]);
    const result = await runClient([
      "hash",
      "--algo",
      "crc32",
      "--timeout",
      "1",
      `${url}/disk.img`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${await crc32Python(file)}  disk.img\n`);
  },
);

withServer(
  "client hash of a missing file exits 5, an unknown --algo 2",
  {},
  async (_server, url) => {
    const missing = await runClient(["hash", `${url}/nope.txt`]);
    assert.equal(missing.code, ExitCode.RemoteFile, missing.stderr);
    const algo = await runClient(["hash", "--algo", "sha3", `${url}/nope.txt`]);
    assert.equal(algo.code, ExitCode.Usage, algo.stderr);
    assert.match(algo.stderr, /sha3/);
  },
);

withServer(
  "get --verify and put --verify pass on identical files",
  {},
  async (server, url, local) => {
    await Deno.writeTextFile(`${server.root}/down.txt`, CONTENT);
    const got = await runClient(["get", "--verify", `${url}/down.txt`, `${local}/down.txt`]);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stderr, /verified: .*down\.txt = \/down\.txt \(SHA-256 [0-9a-f]{64}, HASH\)/);
    await Deno.writeTextFile(`${local}/up.txt`, CONTENT + "more");
    const put = await runClient(["put", "--verify", `${local}/up.txt`, `${url}/up.txt`]);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stderr, /verified: .*up\.txt = \/up\.txt \(SHA-256/);
    assert.equal(await Deno.readTextFile(`${server.root}/up.txt`), CONTENT + "more");
  },
);

withServer(
  "get --verify and put --verify exit 10 when the two files differ (a resumed transfer onto a corrupt start)",
  {},
  async (server, url, local) => {
    await Deno.writeTextFile(`${server.root}/down.txt`, CONTENT);
    // A partial local copy whose first bytes are wrong: --continue fetches only the rest.
    await Deno.writeTextFile(`${local}/down.txt`, "X" + CONTENT.slice(1, 1000));
    const got = await runClient([
      "get",
      "--continue",
      "--verify",
      `${url}/down.txt`,
      `${local}/down.txt`,
    ]);
    assert.equal(got.code, ExitCode.ChecksumMismatch, got.stderr);
    assert.match(
      got.stderr,
      /checksum mismatch with \/down\.txt: SHA-256 is [0-9a-f]{64} here but [0-9a-f]{64} on the server/,
    );
    await Deno.writeTextFile(`${server.root}/up.txt`, "Y" + CONTENT.slice(1, 1000));
    await Deno.writeTextFile(`${local}/up.txt`, CONTENT);
    const put = await runClient([
      "put",
      "--continue",
      "--verify",
      `${local}/up.txt`,
      `${url}/up.txt`,
    ]);
    assert.equal(put.code, ExitCode.ChecksumMismatch, put.stderr);
    assert.match(put.stderr, /checksum mismatch/);
  },
);

withServer("--verify needs --type binary", {}, async (_server, url, local) => {
  const result = await runClient(["get", "--verify", "--type", "ascii", `${url}/a.txt`, local]);
  assert.equal(result.code, ExitCode.Usage, result.stderr);
  assert.match(result.stderr, /--verify compares the bytes/);
});

withServer(
  "against ferry --no-hash: hash and --verify exit 11 with a clear message",
  { config: { hash: false } },
  async (server, url, local) => {
    await Deno.writeTextFile(`${server.root}/a.txt`, CONTENT);
    const hash = await runClient(["hash", `${url}/a.txt`]);
    assert.equal(hash.code, ExitCode.ChecksumUnavailable, hash.stderr);
    assert.match(
      hash.stderr,
      /127\.0\.0\.1 offers no SHA-256 checksum: it offers no checksum command/,
    );
    const got = await runClient(["get", "--verify", `${url}/a.txt`, `${local}/a.txt`]);
    assert.equal(got.code, ExitCode.ChecksumUnavailable, got.stderr);
    assert.match(got.stderr, /cannot verify files: it offers no checksum command/);
    // The download itself happened; only the verification could not.
    assert.equal(await Deno.readTextFile(`${local}/a.txt`), CONTENT);
  },
);

Deno.test("against vsftpd, which lacks HASH: hash and get --verify exit 11 with a clear message", async () => {
  await using peer = await startPeerServer("vsftpd");
  await peer.writeFile("/a.txt", CONTENT);
  const local = await Deno.makeTempDir({ prefix: "ferry-local-" });
  try {
    const url = `ftp://${peer.user}:${peer.password}@127.0.0.1:${peer.port}/a.txt`;
    const hash = await runClient(["hash", url]);
    assert.equal(hash.code, ExitCode.ChecksumUnavailable, hash.stderr);
    assert.match(
      hash.stderr,
      /offers no SHA-256 checksum: it offers no checksum command \(HASH, XSHA256/,
    );
    const got = await runClient(["get", "--verify", url, `${local}/a.txt`]);
    assert.equal(got.code, ExitCode.ChecksumUnavailable, got.stderr);
    assert.equal(await Deno.readTextFile(`${local}/a.txt`), CONTENT);
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});
