/**
 * Defects found when ferry was tried from outside (issue 11), each checked
 * over the wire: REIN, a command line without LF, the idle timer during a
 * throttled login, and the answer to verbs ferry does not implement.
 */

import assert from "node:assert/strict";
import { RawClient, text, withServer } from "../helpers/raw_client.ts";
import { COMMANDS } from "../../server/commands.ts";
import { DIGIT_VERBS } from "../../protocol/command.ts";

const encoder = new TextEncoder();

Deno.test("REIN is refused with 502 and leaves the login as it was", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    assert.equal((await client.read()).code, 220);
    await client.expect("USER alice", 331);
    await client.expect("REIN", 502);
    // Still awaiting the password: REIN did not silently start over.
    await client.expect("PASS wonderland", 230);
    await client.expect("REIN", 502);
    // Still logged in, in the same directory.
    await client.expect("MKD sub", 257);
    await client.expect("CWD sub", 250);
    await client.expect("REIN", 502);
    assert.match(text(await client.expect("PWD", 257)), /"\/sub"/);
  });
});

Deno.test("a line past the 4 KiB cap is answered 500 at once, before its LF, and only once", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    await client.sendRaw(`MKD ${"x".repeat(5000)}`);
    const reply = await client.read(); // no LF sent yet
    assert.equal(reply.code, 500);
    assert.match(text(reply), /too long/i);
    await client.sendRaw("y".repeat(20_000));
    await client.sendRaw("\r\n");
    await client.expect("NOOP", 200); // no second 500 for the same line
    assert.equal([...Deno.readDirSync(server.root)].length, 0);
  });
});

Deno.test("more than 1 MiB discarded from one line closes the connection with 421 and a log line", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.login(server.port));
    const chunk = encoder.encode("A".repeat(64 * 1024));
    // The 500 comes at the cap; the connection ends once 1 MiB more has been thrown away.
    const sending = (async () => {
      for (let i = 0; i < 20; i++) await client.sendRaw(chunk);
    })().catch(() => {}); // the server may close while bytes are still in flight
    assert.equal((await client.read()).code, 500);
    const closing = await client.read();
    assert.equal(closing.code, 421);
    assert.equal(await client.waitForClose(), true);
    await sending;
    assert.ok(server.logs.some((line) => / runaway-line .*discarded=/.test(line)), "log line");
    const other = track(await RawClient.login(server.port));
    await other.expect("NOOP", 200); // the server stays up for everyone else
  });
});

Deno.test("the idle timer stands still while the server delays a failed login", async () => {
  // The throttle's second delay (500 ms) is longer than the idle timeout (300 ms).
  await withServer({ config: { idleTimeoutMs: 300 } }, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    assert.equal((await client.read()).code, 220);
    await client.expect("USER alice", 331);
    await client.expect("PASS wrong", 530); // 250 ms
    await client.expect("USER alice", 331);
    const started = performance.now();
    await client.expect("PASS wrong again", 530); // 500 ms, past the idle timeout: not 421
    assert.ok(performance.now() - started >= 450, "the throttle did delay the reply");
    await client.expect("NOOP", 200);
    // Idleness itself still ends the session.
    assert.equal((await client.read()).code, 421);
  });
});

Deno.test("every verb ferry does not implement gets 502, before and after login; a non-verb gets 500", async () => {
  const unimplemented = ["FROB", "REIN", "SMNT", "LPRT", "LPSV", "CCC", "ADAT", "MIC"]
    .concat([...DIGIT_VERBS]).filter((verb) => !COMMANDS.has(verb));
  assert.ok(unimplemented.length >= 8);
  await withServer({}, async (server, track) => {
    const anonymous = track(await RawClient.connect(server.port));
    assert.equal((await anonymous.read()).code, 220);
    const client = track(await RawClient.login(server.port));
    for (const session of [anonymous, client]) {
      for (const verb of unimplemented) {
        const reply = await session.command(`${verb} file.txt`);
        assert.equal(reply.code, 502, `${verb}: ${text(reply)}`);
        assert.match(text(reply), new RegExp(`${verb} not implemented`));
      }
      for (const line of ["RETR1 x", "12", "XSHA2 x", "AB"]) {
        assert.equal((await session.command(line)).code, 500, line);
      }
    }
  });
});
