import assert from "node:assert/strict";
import {
  hookEnvironment,
  HookEventTranslator,
  hookPayload,
  splitPeer,
} from "../../../server/hooks/hook_event.ts";
import { firstReplyLine, MAX_REPLY_TEXT } from "../../../server/hooks/reply_line.ts";
import type { LogValue } from "../../../server/log.ts";

const time = new Date("2026-01-02T03:04:05Z");
const logged = (name: string, fields: Record<string, LogValue>) => ({
  name,
  time,
  fields: { session: 7, peer: "::ffff:10.0.0.5:40000", user: "ann", ...fields },
});

Deno.test("HookEventTranslator derives hook events from logged events", () => {
  const translator = new HookEventTranslator("/srv/ftp");
  assert.equal(translator.translate(logged("connect", {})), undefined);
  assert.equal(translator.translate(logged("login", { ok: false }))?.event, "login-failed");
  assert.equal(
    translator.translate(logged("disconnect", {})),
    undefined,
    "no logout without a login",
  );
  const login = translator.translate(logged("login", { ok: true, home: "/ann" }))!;
  assert.equal(login.event, "login");
  assert.equal(login.peer, "::ffff:10.0.0.5");
  assert.equal(login.peerPort, 40000);
  const download = translator.translate(
    logged("transfer", { verb: "RETR", path: "/a b.txt", bytes: 12, ms: 3, ok: true }),
  )!;
  assert.equal(download.event, "download");
  assert.equal(download.localPath, "/srv/ftp/ann/a b.txt");
  assert.equal(download.bytes, 12);
  assert.equal(download.durationMs, 3);
  for (const verb of ["STOR", "APPE", "STOU"]) {
    const upload = translator.translate(
      logged("transfer", { verb, path: "/u", bytes: 1, ms: 1, ok: false }),
    )!;
    assert.equal(upload.event, "upload");
    assert.equal(upload.ok, false);
    assert.equal(upload.verb, verb);
  }
  assert.equal(translator.translate(logged("transfer", { verb: "LIST", path: "/" })), undefined);
  const rename = translator.translate(logged("rename", { from: "/a", to: "/b", ok: true }))!;
  assert.deepEqual([rename.event, rename.path, rename.target, rename.localTarget], [
    "rename",
    "/a",
    "/b",
    "/srv/ftp/ann/b",
  ]);
  assert.equal(translator.translate(logged("delete", { path: "/a", ok: false }))?.ok, false);
  assert.equal(translator.translate(logged("mkdir", { path: "/d" }))?.event, "mkdir");
  assert.equal(translator.translate(logged("rmdir", { path: "/d" }))?.event, "rmdir");
  const logout = translator.translate(logged("disconnect", {}))!;
  assert.equal(logout.event, "logout");
  assert.equal(logout.user, "ann");
  assert.equal(translator.translate(logged("disconnect", {})), undefined, "one logout");
});

Deno.test("hookEnvironment() sets every FERRY_* variable; hookPayload() the same facts as JSON", () => {
  const translator = new HookEventTranslator("/srv");
  translator.translate(logged("login", { ok: true, home: "/" }));
  const event = translator.translate(
    logged("transfer", { verb: "STOR", path: "/$(x) 'q'.txt", bytes: 5, ms: 9, ok: true }),
  )!;
  assert.deepEqual(hookEnvironment(event), {
    FERRY_EVENT: "upload",
    FERRY_USER: "ann",
    FERRY_PATH: "/$(x) 'q'.txt",
    FERRY_LOCAL_PATH: "/srv/$(x) 'q'.txt",
    FERRY_TARGET: "",
    FERRY_LOCAL_TARGET: "",
    FERRY_BYTES: "5",
    FERRY_PEER: "::ffff:10.0.0.5",
    FERRY_PEER_PORT: "40000",
    FERRY_STATUS: "ok",
    FERRY_DURATION_MS: "9",
    FERRY_VERB: "STOR",
    FERRY_SESSION: "7",
    FERRY_TIME: "2026-01-02T03:04:05.000Z",
  });
  const payload = hookPayload(event);
  assert.equal(payload.bytes, 5);
  assert.equal(payload.status, "ok");
  assert.equal(payload.ok, true);
  assert.equal(payload.localPath, "/srv/$(x) 'q'.txt");
});

Deno.test("splitPeer() takes the port after the last colon", () => {
  assert.deepEqual(splitPeer("127.0.0.1:21"), { address: "127.0.0.1", port: 21 });
  assert.deepEqual(splitPeer("::1:5000"), { address: "::1", port: 5000 });
  assert.deepEqual(splitPeer("nothing"), { address: "nothing", port: 0 });
});

Deno.test("firstReplyLine() keeps one printable line of bounded length", () => {
  assert.equal(firstReplyLine("\n \r\n  Virus found:\tEICAR \r\nsecond"), "Virus found: EICAR");
  assert.equal(firstReplyLine("a\u202Eb\u0000c\u2028d"), "a b c");
  assert.equal(firstReplyLine(""), "");
  assert.equal(firstReplyLine("x".repeat(1000)).length, MAX_REPLY_TEXT);
  assert.equal([...firstReplyLine("é".repeat(500))].length, MAX_REPLY_TEXT);
});
