import assert from "node:assert/strict";
import { unquotePath } from "../../protocol/virtual_path.ts";
import { RawClient, text, withServer } from "../helpers/raw_client.ts";

Deno.test("PWD and XPWD answer 257 with the quoted working directory", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const pwd = await client.expect("PWD", 257);
    assert.match(text(pwd), /^"\/" /);
    const xpwd = await client.expect("XPWD", 257);
    assert.equal(unquotePath(text(xpwd)), "/");
  });
});

Deno.test("CWD and XCWD change into a directory with 250", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/a/b`, { recursive: true });
    const client = track(await RawClient.login(server.port));
    await client.expect("CWD a", 250);
    assert.equal(unquotePath(text(await client.expect("PWD", 257))), "/a");
    await client.expect("XCWD b", 250);
    assert.equal(unquotePath(text(await client.expect("PWD", 257))), "/a/b");
    await client.expect("CWD /", 250);
    assert.equal(unquotePath(text(await client.expect("PWD", 257))), "/");
  });
});

Deno.test("CWD to a file or a missing directory answers 550 and keeps the directory", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/a`);
    await Deno.writeTextFile(`${server.root}/a/file.txt`, "x");
    const client = track(await RawClient.login(server.port));
    await client.expect("CWD a", 250);
    await client.expect("CWD file.txt", 550);
    await client.expect("CWD missing", 550);
    assert.equal(unquotePath(text(await client.expect("PWD", 257))), "/a");
  });
});

Deno.test("CWD without an argument answers 501", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("CWD", 501);
  });
});

Deno.test("CDUP and XCUP go to the parent, and stop at the root", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/a/b`, { recursive: true });
    const client = track(await RawClient.login(server.port));
    await client.expect("CWD /a/b", 250);
    assert.equal((await client.command("CDUP")).code, 250);
    assert.equal(unquotePath(text(await client.expect("PWD", 257))), "/a");
    assert.equal((await client.command("XCUP")).code, 250);
    assert.equal(unquotePath(text(await client.expect("PWD", 257))), "/");
    assert.equal((await client.command("CDUP")).code, 250);
    assert.equal(unquotePath(text(await client.expect("PWD", 257))), "/");
  });
});

Deno.test("CDUP with an argument answers 501", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("CDUP x", 501);
  });
});

Deno.test("MKD and XMKD create directories and answer 257 with the quoted path", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const mkd = await client.expect("MKD one", 257);
    assert.equal(unquotePath(text(mkd)), "/one");
    await client.expect("CWD one", 250);
    const xmkd = await client.expect("XMKD two", 257);
    assert.equal(unquotePath(text(xmkd)), "/one/two");
    assert.equal((await Deno.stat(`${server.root}/one/two`)).isDirectory, true);
  });
});

Deno.test("MKD of an existing directory or in a missing parent answers 550", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.expect("MKD one", 257);
    await client.expect("MKD one", 550);
    await client.expect("MKD missing/child", 550);
  });
});

Deno.test("a directory named with a double quote is quoted with doubled quotes", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const mkd = await client.expect('MKD say "hi"', 257);
    assert.equal(text(mkd).slice(0, text(mkd).lastIndexOf('"') + 1), '"/say ""hi"""');
    await client.expect('CWD say "hi"', 250);
    const pwd = await client.expect("PWD", 257);
    assert.match(text(pwd), /^"\/say ""hi""" /);
    assert.equal(unquotePath(text(pwd)), '/say "hi"');
  });
});

Deno.test("RMD and XRMD remove empty directories with 250", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/one`);
    await Deno.mkdir(`${server.root}/two`);
    const client = track(await RawClient.login(server.port));
    await client.expect("RMD one", 250);
    await client.expect("XRMD /two", 250);
    await assert.rejects(Deno.stat(`${server.root}/one`), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(`${server.root}/two`), Deno.errors.NotFound);
  });
});

Deno.test("RMD of a non-empty directory answers 550 and leaves it", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/full`);
    await Deno.writeTextFile(`${server.root}/full/x`, "x");
    const client = track(await RawClient.login(server.port));
    await client.expect("RMD full", 550);
    assert.equal((await Deno.stat(`${server.root}/full/x`)).isFile, true);
  });
});

Deno.test("RMD of a missing directory, a file or the root answers 550", async () => {
  await withServer({}, async (server, track) => {
    await Deno.writeTextFile(`${server.root}/file.txt`, "x");
    const client = track(await RawClient.login(server.port));
    await client.expect("RMD missing", 550);
    await client.expect("RMD file.txt", 550);
    await client.expect("RMD /", 550);
    assert.equal((await Deno.stat(`${server.root}/file.txt`)).isFile, true);
  });
});

Deno.test("a read-only user may CWD but not MKD or RMD", async () => {
  await withServer({}, async (server, track) => {
    await Deno.mkdir(`${server.root}/dir`);
    const client = track(await RawClient.login(server.port, "reader", "readonly"));
    await client.expect("CWD dir", 250);
    await client.expect("MKD new", 550);
    await client.expect("RMD /dir", 550);
    assert.equal((await Deno.stat(`${server.root}/dir`)).isDirectory, true);
  });
});
