import assert from "node:assert/strict";
import { RawClient, text, withServer } from "../helpers/raw_client.ts";
import {
  cksum,
  crc32Reference,
  makeSparseFile,
  referenceHash,
} from "../helpers/checksum_reference.ts";

const SMALL = "The quick brown fox jumps over the lazy dog\n".repeat(300);

const USERS = [
  { name: "alice", password: "wonderland", home: "/", permissions: "elradfmwMT" },
  { name: "lister", password: "listonly", home: "/", permissions: "el" },
  { name: "jailed", password: "jailpass", home: "/home/jailed", permissions: "elr" },
];

/** The hex of a `213 ALGO start-end hex path` reply, after checking its other fields. */
function hashReply(reply: { code: number; lines: string[] }, algo: string, range: string): string {
  assert.equal(reply.code, 213, text(reply));
  const match = /^(\S+) (\d+-\d+) ([0-9a-f]+) (.+)$/.exec(reply.lines.at(-1)!);
  assert.ok(match, text(reply));
  assert.equal(match[1], algo);
  assert.equal(match[2], range);
  return match[3]!;
}

Deno.test("FEAT lists HASH with the session's algorithm starred and the X-verbs; OPTS HASH shows and selects it", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const feat = text(await client.expect("FEAT", 211));
    assert.match(feat, /^ HASH SHA-1;SHA-256\*;SHA-512;MD5$/m);
    for (const verb of ["XCRC", "XMD5", "XSHA1", "XSHA256", "XSHA512"]) {
      assert.match(feat, new RegExp(`^ ${verb}$`, "m"));
    }
    assert.equal(text(await client.expect("OPTS HASH", 200)), "SHA-256");
    assert.equal(text(await client.expect("OPTS HASH sha-512", 200)), "SHA-512");
    assert.match(text(await client.expect("FEAT", 211)), /^ HASH SHA-1;SHA-256;SHA-512\*;MD5$/m);
    await client.expect("OPTS HASH CRC-37", 501);
    assert.equal(text(await client.expect("OPTS HASH", 200)), "SHA-512");
    assert.match(text(await client.expect("HELP", 214)), /HASH/);
    assert.equal(
      text(await client.expect("HELP xsha256", 214)),
      "Syntax: XSHA256 <path> [<start> <end>]",
    );
  });
});

Deno.test("HASH and the X-verbs match sha256sum, sha1sum, sha512sum, md5sum and gzip's CRC-32 on empty and small files", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/empty.txt`, "");
    await Deno.writeTextFile(`${server.root}/small file.txt`, SMALL);
    const client = track(await RawClient.login(server.port));
    for (const name of ["empty.txt", "small file.txt"]) {
      const file = `${server.root}/${name}`;
      const size = (await Deno.stat(file)).size;
      const range = `0-${Math.max(0, size - 1)}`;
      for (
        const [algo, command] of [["SHA-256", "sha256sum"], ["SHA-1", "sha1sum"], ["MD5", "md5sum"]]
      ) {
        await client.expect(`OPTS HASH ${algo}`, 200);
        const reply = await client.command(`HASH ${name}`);
        assert.equal(hashReply(reply, algo!, range), await referenceHash(command!, file));
        assert.ok(reply.lines.at(-1)!.endsWith(` ${name}`), text(reply));
      }
      await client.expect("OPTS HASH SHA-512", 200);
      assert.equal(
        hashReply(await client.command(`HASH ${name}`), "SHA-512", range),
        await cksum("sha512", file),
      );
      const x = async (verb: string) => text(await client.expect(`${verb} ${name}`, 250));
      assert.equal(await x("XSHA256"), await referenceHash("sha256sum", file));
      assert.equal(await x("XSHA1"), await cksum("sha1", file));
      assert.equal(await x("XSHA512"), await referenceHash("sha512sum", file));
      assert.equal(await x("XMD5"), await cksum("md5", file));
      assert.equal(await x("XCRC"), await crc32Reference(file));
    }
  });
});

Deno.test("RANG and X-verb offsets hash part of a file; bad ranges are refused", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/a.txt`, SMALL);
    const file = `${server.root}/a.txt`;
    const client = track(await RawClient.login(server.port));
    // RANG's end is inclusive: bytes 100..1099.
    await client.expect("RANG 100 1099", 350);
    const part = await referenceHash("sha256sum", file, { skip: 100, count: 1000 });
    assert.equal(hashReply(await client.command("HASH a.txt"), "SHA-256", "100-1099"), part);
    // The range was for that one HASH.
    const whole = await referenceHash("sha256sum", file);
    assert.equal(
      hashReply(await client.command("HASH a.txt"), "SHA-256", `0-${SMALL.length - 1}`),
      whole,
    );
    // A range past the end stops at the end of the file.
    await client.expect(`RANG 10 ${SMALL.length + 50}`, 350);
    assert.equal(
      hashReply(await client.command("HASH a.txt"), "SHA-256", `10-${SMALL.length - 1}`),
      await referenceHash("sha256sum", file, { skip: 10 }),
    );
    // The X-verbs' end is exclusive (GlobalSCAPE, ProFTPD).
    assert.equal(
      text(await client.expect("XSHA256 a.txt 100 1100", 250)),
      part,
    );
    assert.equal(
      text(await client.expect('XMD5 "a.txt" 0 10', 250)),
      await referenceHash("md5sum", file, { skip: 0, count: 10 }),
    );
    await client.expect(`XMD5 a.txt 0 ${SMALL.length + 1}`, 501);
    await client.expect("XCRC a.txt 10 10", 501);
    await client.expect("RANG 9 5", 501);
    await client.expect("RANG x y", 501);
    await client.expect("RANG 1 0", 350);
    await client.expect("RANG 0 10", 350);
    // ferry's RETR takes no range: refused rather than sending the whole file.
    await client.expect("RETR a.txt", 504);
    await client.expect(`RANG ${SMALL.length + 1} ${SMALL.length + 5}`, 350);
    await client.expect("HASH a.txt", 554);
  });
});

Deno.test("a path that ends in two numbers is a file name when such a file exists", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/report 2020 2021`, "numbers");
    const client = track(await RawClient.login(server.port));
    assert.equal(
      text(await client.expect("XSHA1 report 2020 2021", 250)),
      await referenceHash("sha1sum", `${server.root}/report 2020 2021`),
    );
  });
});

Deno.test("checksums of multi-GiB sparse files match sha256sum and md5sum, whole and past 4 GiB", async () => {
  await withServer({}, async (server, track) => {
    const big = `${server.root}/big.img`;
    // 2 GiB + 64 MiB, with data at the start, across 2^31 and at the end.
    const bigSize = 2 ** 31 + 64 * 1024 ** 2;
    await makeSparseFile(big, bigSize, [0, 2 ** 31 - 3, bigSize - 7]);
    const huge = `${server.root}/huge.img`;
    await makeSparseFile(huge, 5 * 1024 ** 3 + 12345, [2 ** 32 - 5, 5 * 1024 ** 3]);
    const client = track(
      await RawClient.login(server.port, "alice", "wonderland", { timeoutMs: 120_000 }),
    );
    const size = (await Deno.stat(big)).size;
    assert.equal(
      hashReply(await client.command("HASH big.img"), "SHA-256", `0-${size - 1}`),
      await referenceHash("sha256sum", big),
    );
    // Past 4 GiB: the last 64 MiB (with data at 5 GiB) and a MiB across 2^32.
    const hugeSize = (await Deno.stat(huge)).size;
    const tail = hugeSize - 64 * 1024 ** 2;
    assert.equal(
      text(await client.expect(`XMD5 huge.img ${tail} ${hugeSize}`, 250)),
      await referenceHash("md5sum", huge, { skip: tail }),
    );
    const across = 2 ** 32 - 512 * 1024;
    await client.expect(`RANG ${across} ${across + 1024 ** 2 - 1}`, 350);
    assert.equal(
      hashReply(
        await client.command("HASH huge.img"),
        "SHA-256",
        `${across}-${across + 1024 ** 2 - 1}`,
      ),
      await referenceHash("sha256sum", huge, { skip: across, count: 1024 ** 2 }),
    );
  });
});

Deno.test("checksums need permission r and stay in the jail", async () => {
  await withServer({ users: USERS }, async (server, track) => {
    await Deno.mkdir(`${server.root}/home/jailed`, { recursive: true });
    await Deno.writeTextFile(`${server.root}/secret.txt`, "top secret");
    await Deno.writeTextFile(`${server.root}/home/jailed/mine.txt`, "mine");
    await Deno.symlink(`${server.root}/secret.txt`, `${server.root}/home/jailed/link.txt`);
    const lister = track(await RawClient.login(server.port, "lister", "listonly"));
    await lister.expect("HASH secret.txt", 552);
    await lister.expect("XSHA256 secret.txt", 550);
    const jailed = track(await RawClient.login(server.port, "jailed", "jailpass"));
    await jailed.expect("HASH ../../secret.txt", 550);
    await jailed.expect("XMD5 /../secret.txt", 550);
    await jailed.expect("XCRC link.txt", 550);
    await jailed.expect("HASH link.txt", 550);
    assert.equal(
      hashReply(await jailed.command("HASH /mine.txt"), "SHA-256", "0-3"),
      await referenceHash("sha256sum", `${server.root}/home/jailed/mine.txt`),
    );
  });
});

Deno.test("checksums of a directory, a FIFO or a missing file are refused without hanging", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/dir`);
    const fifo = new Deno.Command("mkfifo", { args: [`${server.root}/pipe`] });
    assert.equal((await fifo.output()).code, 0);
    const client = track(await RawClient.login(server.port));
    await client.expect("HASH dir", 553);
    await client.expect("XSHA256 dir", 550);
    await client.expect("HASH pipe", 550);
    await client.expect("XCRC pipe", 550);
    await client.expect("HASH missing", 550);
    await client.expect("XMD5 missing", 550);
    await client.expect("HASH", 501);
    await client.expect("NOOP", 200);
  });
});

Deno.test("--hash-max-size refuses larger checksums: 556 for HASH, 550 for the X-verbs", async () => {
  await withServer({ config: { hashMaxSize: 10 } }, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/ten.txt`, "0123456789");
    await Deno.writeTextFile(`${server.root}/eleven.txt`, "0123456789A");
    const client = track(await RawClient.login(server.port));
    await client.expect("HASH ten.txt", 213);
    await client.expect("HASH eleven.txt", 556);
    await client.expect("XCRC eleven.txt", 550);
    await client.expect("XCRC eleven.txt 0 10", 250);
  });
});

Deno.test("--no-hash removes the checksum commands from FEAT and HELP and answers 502", async () => {
  await withServer({ config: { hash: false } }, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/a.txt`, "a");
    const client = track(await RawClient.login(server.port));
    const feat = text(await client.expect("FEAT", 211));
    assert.doesNotMatch(feat, /HASH|XCRC|XMD5|XSHA/);
    assert.doesNotMatch(text(await client.expect("HELP", 214)), /HASH|RANG|XCRC|XMD5|XSHA/);
    for (const verb of ["HASH", "RANG", "XCRC", "XMD5", "XSHA1", "XSHA256", "XSHA512"]) {
      await client.expect(`${verb} a.txt`, 502);
    }
    await client.expect("HELP HASH", 501);
    await client.expect("OPTS HASH", 501);
  });
});

Deno.test("while a checksum runs, its session answers NOOP and STAT, refuses a second one with 450, and ABOR stops it", async () => {
  await withServer({}, async (server, track) => {
    await makeSparseFile(`${server.root}/big.img`, 4 * 1024 ** 3, []);
    await Deno.writeTextFile(`${server.root}/small.txt`, "small");
    const client = track(await RawClient.login(server.port));
    await client.expect("OPTS HASH SHA-512", 200);
    await client.send("HASH big.img");
    assert.equal((await client.command("NOOP")).code, 200);
    const status = await client.command("STAT");
    assert.equal(status.code, 211);
    assert.match(text(status), /HASH SHA-512 of \/big\.img in progress: \d+ of 4294967296 bytes/);
    await client.expect("XMD5 small.txt", 450);
    await client.expect("HASH small.txt", 450);
    await client.send("ABOR");
    const aborted = await client.read();
    assert.equal(aborted.code, 426, text(aborted));
    assert.equal((await client.read()).code, 226);
    // The session is usable again, and the next checksum runs.
    assert.equal(
      text(await client.expect("XMD5 small.txt", 250)),
      await referenceHash("md5sum", `${server.root}/small.txt`),
    );
    assert.ok(
      server.logs.some((line) => /checksum/.test(line) && /ok=false|"ok":false/.test(line)),
    );
  });
});

Deno.test("a large checksum never stalls other sessions: another session's NOOP is answered meanwhile", async () => {
  await withServer({}, async (server, track) => {
    await makeSparseFile(`${server.root}/big.img`, 512 * 1024 ** 2, []);
    const hasher = track(
      await RawClient.login(server.port, "alice", "wonderland", { timeoutMs: 120_000 }),
    );
    const other = track(await RawClient.login(server.port));
    await hasher.expect("OPTS HASH SHA-512", 200);
    await hasher.send("HASH big.img");
    const hashed = hasher.read();
    let finished = false;
    hashed.then(() => finished = true, () => finished = true);
    const noops: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await other.expect("NOOP", 200);
      noops.push(performance.now() - started);
    }
    assert.equal(finished, false, "the hash ended before the other session's NOOPs did");
    const reply = await hashed;
    assert.equal(reply.code, 213, text(reply));
    console.log(
      `NOOP round trips during a 512 MiB SHA-512: max ${
        Math.max(...noops).toFixed(1)
      } ms over ${noops.length}`,
    );
  });
});
