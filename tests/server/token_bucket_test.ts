import assert from "node:assert/strict";
import { sleep, takeAll, TokenBucket } from "../../server/user_limits/token_bucket.ts";

const MiB = 1024 * 1024;

Deno.test("a bucket lets a burst through, then paces takers to its rate", () => {
  const bucket = new TokenBucket(MiB, 0);
  assert.equal(bucket.delayFor(MiB / 4, 0), undefined, "a quarter second of burst goes at once");
  const delay = bucket.delayFor(MiB / 2, 0);
  assert.ok(
    delay !== undefined && Math.abs(delay - 500) < 1e-6,
    `half a MiB owed: 500 ms (${delay})`,
  );
  // Over ten simulated seconds of a taker that sleeps what it is told, the rate holds.
  let now = 500;
  let moved = 0;
  while (now < 10_500) {
    const wait = bucket.delayFor(64 * 1024, now) ?? 0;
    moved += 64 * 1024;
    now += wait;
  }
  const rate = moved / (now / 1000);
  assert.ok(Math.abs(rate - MiB) / MiB < 0.05, `held within 5 %: ${rate}`);
});

Deno.test("two takers of one bucket get equal shares", () => {
  const bucket = new TokenBucket(4 * MiB, 0);
  const wakeAt = [0, 0];
  const moved = [0, 0];
  let now = 0;
  while (now < 20_000) {
    const taker = wakeAt[0]! <= wakeAt[1]! ? 0 : 1;
    now = wakeAt[taker]!;
    const chunk = bucket.chunkSize(MiB);
    wakeAt[taker] = now + (bucket.delayFor(chunk, now) ?? 0);
    moved[taker]! += chunk;
  }
  const [a, b] = moved as [number, number];
  assert.ok(Math.abs(a - b) / (a + b) < 0.05, `equal shares: ${a} and ${b}`);
  const total = (a + b) / (now / 1000);
  assert.ok(Math.abs(total - 4 * MiB) / (4 * MiB) < 0.05, `the sum holds the cap: ${total}`);
});

Deno.test("a new rate applies from the next take; a bad rate is refused", () => {
  const bucket = new TokenBucket(MiB);
  bucket.rate = 2 * MiB;
  assert.equal(bucket.rate, 2 * MiB);
  assert.equal(bucket.chunkSize(MiB), Math.floor((2 * MiB) / 20));
  assert.equal(new TokenBucket(1000).chunkSize(MiB), 4096, "never below 4 KiB");
  bucket.rate = Infinity;
  assert.equal(bucket.delayFor(1e12), undefined, "a lifted cap never waits");
  bucket.rate = 1000;
  assert.ok(bucket.delayFor(1e6)! > 0, "and a cap set again paces");
  assert.throws(() => new TokenBucket(0), RangeError);
  assert.throws(() => (bucket.rate = -1), RangeError);
});

Deno.test("takeAll waits for the slowest cap, and a wait ends on abort", async () => {
  const fast = new TokenBucket(100 * MiB);
  const slow = new TokenBucket(MiB);
  assert.equal(takeAll([fast, slow], 1024), undefined);
  const wait = takeAll([fast, slow], 2 * MiB);
  assert.ok(wait !== undefined, "the slow cap makes it wait");
  const controller = new AbortController();
  const aborted = sleep(60_000, controller.signal);
  controller.abort(new Error("ABOR"));
  await assert.rejects(aborted, /ABOR/);
  await assert.rejects(sleep(1, AbortSignal.abort(new Error("early"))), /early/);
  const stop = new AbortController();
  const pending = takeAll([slow], 4 * MiB, stop.signal)!;
  stop.abort(new Error("done"));
  await assert.rejects(pending, /done/);
  const started = performance.now();
  await wait; // the slow cap's debt (about 1.75 s), then it resolves
  assert.ok(performance.now() - started > 500, "it really waited");
});
