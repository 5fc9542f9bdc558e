import assert from "node:assert/strict";
import { LocalSessionSlots } from "../../server/user_limits/session_slots.ts";

Deno.test("session slots: a user holds at most max, a release frees one once, users are apart", async () => {
  const slots = new LocalSessionSlots();
  const a = await slots.acquire("alice", 2);
  const b = await slots.acquire("alice", 2);
  assert.ok(a && b);
  assert.equal(await slots.acquire("alice", 2), undefined);
  assert.ok(await slots.acquire("bob", 1), "another user has slots of their own");
  assert.ok(await slots.acquire("alice"), "no max: counted, never refused");
  assert.equal(await slots.count("alice"), 3);
  a.release();
  a.release(); // a second release does nothing
  assert.equal(await slots.count("alice"), 2);
  b.release();
  assert.ok(await slots.acquire("alice", 2));
});
