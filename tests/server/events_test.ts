import assert from "node:assert/strict";
import { RawClient, withServer } from "../helpers/raw_client.ts";
import type { ServerEvent } from "../../server/events.ts";
import { ServerEvents } from "../../server/events.ts";

Deno.test("the server hands every logged session event to its observers, with session, peer and user", async () => {
  await withServer({}, async (server, track) => {
    const seen: ServerEvent[] = [];
    const stop = server.server.events.on((event) => seen.push(event));
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.expect("USER alice", 331);
    await client.expect("PASS wrong", 530);
    await client.expect("USER alice", 331);
    await client.expect("PASS wonderland", 230);
    await client.expect("MKD made", 257);
    await client.expect("QUIT", 221);
    await new Promise((resolve) => setTimeout(resolve, 50));
    stop();
    const names = seen.map((event) => event.name);
    for (const name of ["connect", "login", "mkdir", "disconnect"]) {
      assert.ok(names.includes(name), `${name} observed (saw ${names.join(",")})`);
    }
    const logins = seen.filter((event) => event.name === "login");
    assert.deepEqual(logins.map((event) => event.fields.ok), [false, true]);
    const mkdir = seen.find((event) => event.name === "mkdir")!;
    assert.equal(mkdir.fields.user, "alice");
    assert.equal(mkdir.fields.path, "/made");
    assert.match(String(mkdir.fields.peer), /^127\.0\.0\.1:\d+$/);
    assert.equal(typeof mkdir.fields.session, "number");
    assert.ok(mkdir.time instanceof Date);
    assert.equal(JSON.stringify(seen).includes("wonderland"), false, "no password in events");
  });
});

Deno.test("a listener that throws never reaches the emitter, and a removed one hears nothing", () => {
  const events = new ServerEvents();
  const heard: string[] = [];
  events.on(() => {
    throw new Error("observer failure");
  });
  const stop = events.on((event) => heard.push(event.name));
  assert.equal(events.observed, true);
  events.emit("one", {});
  stop();
  events.emit("two", {});
  assert.deepEqual(heard, ["one"]);
});
