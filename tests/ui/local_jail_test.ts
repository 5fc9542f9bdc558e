import assert from "node:assert/strict";
import { LocalJail, LocalPathError, virtualParts } from "../../client/ui/local_jail.ts";
import { parseListen } from "../../client/ui/ui_command.ts";
import { ClientError } from "../../client/errors.ts";

Deno.test("virtualParts() splits a virtual path and refuses .., . and unsafe parts", () => {
  assert.deepEqual(virtualParts("/"), []);
  assert.deepEqual(virtualParts("/a/b c.txt"), ["a", "b c.txt"]);
  assert.deepEqual(virtualParts("a//b/"), ["a", "b"]);
  for (const bad of ["/..", "/a/../b", "/.", "/a\\b", "/a\0b", "/C:x", "/a\nb"]) {
    assert.throws(() => virtualParts(bad), LocalPathError, bad);
  }
});

Deno.test("LocalJail never resolves a path or a new name outside its root", async () => {
  const base = await Deno.makeTempDir({ prefix: "ferry-jail-" });
  try {
    await Deno.mkdir(`${base}/root/sub`, { recursive: true });
    await Deno.mkdir(`${base}/outside`);
    await Deno.writeTextFile(`${base}/outside/secret`, "s");
    await Deno.symlink(`${base}/outside`, `${base}/root/out`);
    await Deno.symlink(`${base}/outside/secret`, `${base}/root/sub/secret-link`);
    await Deno.symlink(`${base}/root/sub`, `${base}/root/in`);
    const jail = await LocalJail.open(`${base}/root`);
    assert.equal(await jail.directory("/in"), `${jail.root}/sub`);
    await assert.rejects(jail.directory("/out"), LocalPathError);
    await assert.rejects(jail.file("/sub/secret-link"), LocalPathError);
    await assert.rejects(jail.child("/out", "x"), LocalPathError);
    await assert.rejects(jail.child("/sub", "secret-link"), /symbolic link/);
    await assert.rejects(jail.child("/", ".."), LocalPathError);
    await assert.rejects(jail.mkdir("/out", "made"), LocalPathError);
    await assert.rejects(jail.rename("/sub", "../moved"), LocalPathError);
    const names = (await jail.list("/sub")).map((entry) => `${entry.name}:${entry.type}`);
    assert.deepEqual(names, ["secret-link:link"], "a link out is listed as a link, not followed");
    await jail.remove("/out");
    assert.equal(await Deno.readTextFile(`${base}/outside/secret`), "s");
    await assert.rejects(jail.remove("/"), LocalPathError);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("parseListen() takes ADDRESS:PORT, [IPv6]:PORT or a port", () => {
  assert.deepEqual(parseListen("127.0.0.1:8080"), { hostname: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListen("[::1]:0"), { hostname: "::1", port: 0 });
  assert.deepEqual(parseListen("localhost:9000"), { hostname: "127.0.0.1", port: 9000 });
  assert.deepEqual(parseListen("9000"), { hostname: "127.0.0.1", port: 9000 });
  for (const bad of ["", "127.0.0.1", "127.0.0.1:70000", "::1:80", "a:b"]) {
    assert.throws(() => parseListen(bad), ClientError, bad);
  }
});
