import assert from "node:assert/strict";
import { unquotePath } from "../../protocol/virtual_path.ts";
import { RawClient, text, withServer, withTimeout } from "../helpers/raw_client.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The control-stream text after the greeting, split into CRLF-terminated lines. */
function replyLines(client: RawClient): string[] {
  return client.transcript.split("\r\n").slice(0, -1);
}

Deno.test("../ paths of a jailed user stay inside the home", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/top-secret.txt`, "root only");
    const client = track(await RawClient.login(server.port, "jailed", "jailpass"));
    for (
      const path of [
        "../../../etc/passwd",
        "../top-secret.txt",
        "../../top-secret.txt",
        "/../../top-secret.txt",
        "..\\..\\top-secret.txt",
        "/etc/passwd",
      ]
    ) {
      assert.equal((await client.download(`RETR ${path}`)).final.code, 550, path);
      assert.equal((await client.command(`SIZE ${path}`)).code, 550, path);
    }
    assert.equal((await client.download("RETR ../../credentials.txt")).final.code, 550);
    await client.expect("CWD /../..", 250);
    assert.equal(unquotePath(text(await client.expect("PWD", 257))), "/");
    await client.expect("CWD ..\\..\\etc", 550);
    assert.equal((await client.command("DELE ../../top-secret.txt")).code, 550);
    assert.equal(await Deno.readTextFile(`${server.root}/top-secret.txt`), "root only");
  });
});

Deno.test("MKD ../x by a jailed user creates the directory inside the home", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port, "jailed", "jailpass"));
    const reply = await client.expect("MKD ../x", 257);
    assert.equal(unquotePath(text(reply)), "/x");
    assert.equal((await Deno.stat(`${server.root}/home/jailed/x`)).isDirectory, true);
    await assert.rejects(Deno.stat(`${server.root}/home/x`), Deno.errors.NotFound);
    await client.expect("MKD ..\\..\\y", 257);
    assert.equal((await Deno.stat(`${server.root}/home/jailed/y`)).isDirectory, true);
  });
});

Deno.test("STOR ../../f by a jailed user lands inside the home", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port, "jailed", "jailpass"));
    assert.equal((await client.upload("STOR ../../escaped.txt", "inside")).final.code, 226);
    assert.equal(await Deno.readTextFile(`${server.root}/home/jailed/escaped.txt`), "inside");
    await assert.rejects(Deno.stat(`${server.root}/escaped.txt`), Deno.errors.NotFound);
  });
});

Deno.test("LIST of the jailed user's root shows only the home", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/top-secret.txt`, "root only");
    const client = track(await RawClient.login(server.port, "jailed", "jailpass"));
    await client.upload("STOR mine.txt", "mine");
    for (const line of ["NLST", "NLST ..", "NLST /../.."]) {
      const names = decoder.decode((await client.download(line)).data);
      assert.equal(names, "mine.txt\r\n", line);
    }
  });
});

Deno.test("a symlink leading outside the root cannot be followed", async () => {
  const outside = await Deno.makeTempDir({ prefix: "ferry-outside-" });
  try {
    await Deno.writeTextFile(`${outside}/secret.txt`, "outside");
    await withServer({}, async (server, track) => {
      await Deno.symlink(outside, `${server.root}/escape`);
      await Deno.symlink(`${outside}/secret.txt`, `${server.root}/secret-link.txt`);
      const client = track(await RawClient.login(server.port));
      await client.expect("CWD escape", 550);
      assert.equal((await client.download("RETR escape/secret.txt")).final.code, 550);
      assert.equal((await client.download("RETR secret-link.txt")).final.code, 550);
      assert.equal((await client.download("LIST escape")).final.code, 550);
      assert.equal((await client.download("NLST escape")).final.code, 550);
      assert.equal((await client.download("MLSD escape")).final.code, 550);
      await client.expect("SIZE secret-link.txt", 550);
      await client.expect("MDTM secret-link.txt", 550);
      await client.expect("STAT escape", 550);
      await client.expect("MLST escape", 550);
      await client.expect("MFMT 20000101000000 secret-link.txt", 550);
      await client.expect("SITE CHMOD 777 secret-link.txt", 550);
      assert.equal((await client.upload("STOR escape/planted.txt", "x")).final.code, 550);
      assert.equal((await client.upload("STOR secret-link.txt", "overwritten")).final.code, 550);
      assert.equal((await client.upload("APPE secret-link.txt", "appended")).final.code, 550);
      await client.expect("MKD escape/newdir", 550);
      await client.expect("DELE escape/secret.txt", 550);
      await client.expect("RNFR escape/secret.txt", 550);
      for (const verb of ["LIST", "MLSD"]) {
        const listing = decoder.decode((await client.download(verb)).data);
        assert.match(listing, /escape/, verb);
        assert.ok(!listing.includes(outside), `${verb} reveals no real path: ${listing}`);
      }
    });
    assert.deepEqual([...Deno.readDirSync(outside)].map((entry) => entry.name), ["secret.txt"]);
    assert.equal(await Deno.readTextFile(`${outside}/secret.txt`), "outside");
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("RNTO cannot move a file out through a symlink", async () => {
  const outside = await Deno.makeTempDir({ prefix: "ferry-outside-" });
  try {
    await withServer({}, async (server, track) => {
      await Deno.symlink(outside, `${server.root}/escape`);
      await Deno.writeTextFile(`${server.root}/f.txt`, "x");
      const client = track(await RawClient.login(server.port));
      await client.expect("RNFR f.txt", 350);
      await client.expect("RNTO escape/f.txt", 550);
      assert.equal(await Deno.readTextFile(`${server.root}/f.txt`), "x");
    });
    assert.deepEqual([...Deno.readDirSync(outside)], []);
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("STOR through a dangling symlink to outside is refused", async () => {
  const outside = await Deno.makeTempDir({ prefix: "ferry-outside-" });
  try {
    await withServer({}, async (server, track) => {
      await Deno.symlink(`${outside}/created.txt`, `${server.root}/dangling.txt`);
      const client = track(await RawClient.login(server.port));
      assert.equal((await client.upload("STOR dangling.txt", "planted")).final.code, 550);
      assert.equal((await client.upload("APPE dangling.txt", "planted")).final.code, 550);
      await client.expect("NOOP", 200);
    });
    await assert.rejects(Deno.stat(`${outside}/created.txt`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("a dangling symlink with a relative target inside the root lists its target", async () => {
  await withServer({}, async (server, track) => {
    await Deno.symlink("not-yet.txt", `${server.root}/pending.txt`);
    const client = track(await RawClient.login(server.port));
    const listing = decoder.decode((await client.download("LIST")).data);
    assert.match(listing, /^l.* pending\.txt -> not-yet\.txt\r$/m);
  });
});

Deno.test("a symlink that stays inside the root can be followed", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/real`);
    await Deno.writeTextFile(`${server.root}/real/f.txt`, "inside");
    await Deno.symlink(`${server.root}/real`, `${server.root}/alias`);
    const client = track(await RawClient.login(server.port));
    await client.expect("CWD alias", 250);
    assert.equal(decoder.decode((await client.download("RETR f.txt")).data), "inside");
  });
});

Deno.test("file names with spaces and UTF-8 work for STOR, RETR and LIST", async () => {
  await withServer({}, async (server, track) => {
    const name = "naïve файл ☃.txt";
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    assert.equal((await client.upload(`STOR ${name}`, "unicode")).final.code, 226);
    assert.equal(await Deno.readTextFile(`${server.root}/${name}`), "unicode");
    assert.equal(decoder.decode((await client.download(`RETR ${name}`)).data), "unicode");
    const listing = decoder.decode((await client.download("LIST")).data);
    assert.match(listing, / naïve файл ☃\.txt\r\n/);
    const names = decoder.decode((await client.download("NLST")).data);
    assert.equal(names, `${name}\r\n`);
    assert.equal(text(await client.expect(`SIZE ${name}`, 213)), "7");
    await client.expect("MKD  leading space", 257);
    assert.equal((await Deno.stat(`${server.root}/ leading space`)).isDirectory, true);
  });
});

Deno.test("a file name containing CR answers 501 and echoes no raw CR", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    client.transcript = "";
    await client.sendRaw("STOR a\rb\r\n");
    assert.equal((await client.read()).code, 501);
    await client.sendRaw("RETR a\0b\r\n");
    assert.equal((await client.read()).code, 501);
    const lines = replyLines(client);
    assert.equal(lines.length, 2);
    for (const line of lines) assert.doesNotMatch(line, /[\r\n\0]/);
    await assert.rejects(Deno.stat(`${server.root}/a\rb`), Deno.errors.NotFound);
  });
});

Deno.test("MKD a<CR>230 x cannot forge a second reply line", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    client.transcript = "";
    await client.sendRaw("MKD a\r230 x\r\n");
    const reply = await client.read();
    assert.equal(reply.code, 501);
    await client.expect("NOOP", 200);
    const lines = replyLines(client);
    assert.equal(lines.length, 2, JSON.stringify(client.transcript));
    assert.match(lines[0]!, /^501 /);
    assert.match(lines[1]!, /^200 /);
    assert.equal([...Deno.readDirSync(server.root)].length, 0);
  });
});

Deno.test("a bare LF inside an argument ends the line and the rest is its own command", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.sendRaw("MKD a\n230 x\r\n");
    assert.equal((await client.read()).code, 257);
    assert.equal((await client.read()).code, 500);
    await client.expect("NOOP", 200);
  });
});

Deno.test("an echoed argument never puts a forged line in a reply", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    client.transcript = "";
    await client.expect("HELP FOO 230 x", 501);
    await client.expect("TYPE X 230", 501);
    await client.expect("MKD 230 hello", 257);
    for (const line of replyLines(client)) assert.match(line, /^\d{3} /);
  });
});

Deno.test("a 10 KB line answers 500 and the session still answers NOOP", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.sendRaw(`MKD ${"x".repeat(10 * 1024)}\r\n`);
    assert.equal((await client.read()).code, 500);
    await client.expect("NOOP", 200);
    assert.equal([...Deno.readDirSync(server.root)].length, 0);
  });
});

Deno.test("a 1 MB line without LF is discarded, answered with 500, and the server stays up", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const chunk = encoder.encode("A".repeat(64 * 1024));
    for (let i = 0; i < 16; i++) await client.sendRaw(chunk);
    const other = track(await RawClient.login(server.port));
    await other.expect("NOOP", 200);
    await client.sendRaw("\r\n");
    assert.equal((await client.read()).code, 500);
    await client.expect("NOOP", 200);
  });
});

Deno.test("invalid UTF-8 in a command answers 501", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.sendRaw(new Uint8Array([...encoder.encode("MKD bad"), 0xc3, 0x28, 13, 10]));
    assert.equal((await client.read()).code, 501);
    await client.sendRaw(new Uint8Array([0x80, 0x81, 13, 10]));
    assert.equal((await client.read()).code, 501);
    await client.expect("NOOP", 200);
    assert.equal([...Deno.readDirSync(server.root)].length, 0);
  });
});

Deno.test("Telnet IAC IP and IAC DM before ABOR are dropped", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.sendRaw(new Uint8Array([255, 244, 255, 242, ...encoder.encode("ABOR\r\n")]));
    assert.equal((await client.read()).code, 225);
    await client.sendRaw(new Uint8Array([255, 251, 1, ...encoder.encode("NOOP\r\n")]));
    assert.equal((await client.read()).code, 200);
  });
});

Deno.test("Telnet IP and DM before ABOR during a transfer still abort it", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeFile(`${server.root}/big.bin`, new Uint8Array(64 * 1024 * 1024));
    const client = track(await RawClient.login(server.port));
    await client.expect("TYPE I", 200);
    const data = await client.pasv();
    try {
      await client.command("RETR big.bin");
      await withTimeout(data.read(new Uint8Array(1024)), 5000, "first data");
      await client.sendRaw(new Uint8Array([255, 244, 255, 242, ...encoder.encode("ABOR\r\n")]));
      assert.equal((await client.read()).code, 426);
      assert.equal((await client.read()).code, 226);
    } finally {
      data.close();
    }
  });
});

Deno.test("random bytes on one session do not disturb another", async () => {
  await withServer({}, async (server, track) => {
    const other = track(await RawClient.login(server.port));
    for (let round = 0; round < 5; round++) {
      const noisy = track(await RawClient.connect(server.port));
      await noisy.read();
      const noise = new Uint8Array(64 * 1024);
      crypto.getRandomValues(noise);
      await noisy.sendRaw(noise).catch(() => {});
      await noisy.sendRaw("\r\nNOOP\r\n").catch(() => {});
      await noisy.close();
      await other.expect("NOOP", 200);
    }
    const fresh = track(await RawClient.login(server.port));
    await fresh.expect("PWD", 257);
  });
});

Deno.test("a NUL byte in a command answers 501", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.sendRaw("MKD a\0b\r\n");
    assert.equal((await client.read()).code, 501);
    assert.equal([...Deno.readDirSync(server.root)].length, 0);
  });
});
