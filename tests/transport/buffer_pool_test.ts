import assert from "node:assert/strict";
import { BufferPool } from "../../transport/buffer_pool.ts";

const KiB = 1024;
const sizes = [16 * KiB, 64 * KiB, 256 * KiB] as const;

Deno.test("BufferPool.take() grants the smallest size always and larger ones only within the limit", () => {
  const pool = new BufferPool({ sizes, limitBytes: 512 * KiB, keepBytes: 0 });
  const large = [pool.take(256 * KiB), pool.take(256 * KiB)];
  assert.ok(large.every((buffer) => buffer?.length === 256 * KiB));
  assert.equal(pool.take(64 * KiB), undefined, "past the limit");
  const small = Array.from({ length: 10 }, () => pool.take(16 * KiB));
  assert.ok(small.every((buffer) => buffer?.length === 16 * KiB), "the smallest past the limit");
  assert.equal(pool.stats.outCount, 12);
  assert.equal(pool.stats.outBytes, 512 * KiB + 160 * KiB);
  pool.release(large[0]!);
  assert.equal(pool.take(64 * KiB)?.length, 64 * KiB, "room again once one came back");
});

Deno.test("BufferPool.take() refuses a size it does not hand out", () => {
  const pool = new BufferPool({ sizes });
  assert.throws(() => pool.take(1000), RangeError);
});

Deno.test("BufferPool.release() keeps buffers up to its keep size and frees the rest at once", () => {
  const pool = new BufferPool({ sizes, limitBytes: 4096 * KiB, keepBytes: 300 * KiB });
  const taken = [pool.take(256 * KiB)!, pool.take(256 * KiB)!, pool.take(16 * KiB)!];
  for (const buffer of taken) pool.release(buffer);
  assert.equal(pool.stats.outBytes, 0);
  assert.equal(pool.stats.idleBytes, 256 * KiB + 16 * KiB);
  assert.equal(taken[0]!.length, 256 * KiB, "kept for reuse");
  assert.equal(taken[1]!.length, 0, "freed: detached");
  assert.equal(taken[1]!.buffer.byteLength, 0);
  assert.equal(pool.take(256 * KiB), taken[0], "a kept buffer is reused");
});

Deno.test("BufferPool.release() ignores a buffer returned twice or not its own", () => {
  const pool = new BufferPool({ sizes, keepBytes: 0 });
  const buffer = pool.take(16 * KiB)!;
  pool.release(buffer);
  pool.release(buffer);
  pool.release(new Uint8Array(16 * KiB));
  assert.deepEqual(pool.stats, { outCount: 0, outBytes: 0, idleBytes: 0, peakOutBytes: 16 * KiB });
});

Deno.test("BufferPool.trim() frees every kept buffer", () => {
  const pool = new BufferPool({ sizes });
  const buffer = pool.take(64 * KiB)!;
  pool.release(buffer);
  assert.equal(pool.stats.idleBytes, 64 * KiB);
  pool.trim();
  assert.equal(pool.stats.idleBytes, 0);
  assert.equal(buffer.length, 0);
});

Deno.test("BufferPool refuses sizes that are not positive and increasing", () => {
  assert.throws(() => new BufferPool({ sizes: [] }), RangeError);
  assert.throws(() => new BufferPool({ sizes: [64, 16] }), RangeError);
});
