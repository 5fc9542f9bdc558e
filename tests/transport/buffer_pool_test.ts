import assert from "node:assert/strict";
import { BufferPool, SLAB_BYTES } from "../../transport/buffer_pool.ts";

const KiB = 1024;
const sizes = [16 * KiB, 64 * KiB, 256 * KiB] as const;

Deno.test("BufferPool.take() grants the smallest size always and larger ones only within the limit", () => {
  const pool = new BufferPool({ sizes, limitBytes: 512 * KiB });
  const large = [pool.take(256 * KiB), pool.take(256 * KiB)];
  assert.ok(large.every((buffer) => buffer?.length === 256 * KiB));
  assert.equal(pool.take(64 * KiB), undefined, "past the limit");
  const small = Array.from({ length: 10 }, () => pool.take(16 * KiB));
  assert.ok(small.every((buffer) => buffer?.length === 16 * KiB), "the smallest past the limit");
  assert.equal(pool.stats.outCount, 12);
  assert.equal(pool.stats.outBytes, 512 * KiB + 160 * KiB);
  pool.release(large[0]!);
  assert.equal(pool.take(64 * KiB)?.length, 64 * KiB, "room again once one came back");
  pool.trim();
});

Deno.test("BufferPool.take() refuses a size it does not hand out", () => {
  const pool = new BufferPool({ sizes });
  assert.throws(() => pool.take(1000), RangeError);
});

Deno.test("BufferPool hands out buffers that do not overlap, and reuses returned ones", () => {
  const pool = new BufferPool({ sizes, limitBytes: SLAB_BYTES });
  const taken = [16, 64, 16, 256, 64, 16].map((k) => pool.take(k * KiB)!);
  const ranges = taken.map((b) => [b.byteOffset, b.byteOffset + b.length] as const)
    .sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i]![0] >= ranges[i - 1]![1]);
  assert.ok(taken.every((b) => b.buffer === taken[0]!.buffer), "all from one slab");
  for (const buffer of taken) pool.release(buffer);
  assert.equal(pool.stats.outBytes, 0);
  // Returned parts join again: the whole slab can give out its largest blocks.
  const whole = Array.from({ length: SLAB_BYTES / (256 * KiB) }, () => pool.take(256 * KiB));
  assert.ok(whole.every((buffer) => buffer !== undefined));
  for (const buffer of whole) pool.release(buffer!);
  pool.trim();
});

Deno.test("BufferPool frees a slab once nothing in it is in use (trim, or after lingerMs)", async () => {
  const pool = new BufferPool({ sizes, lingerMs: 20 });
  const buffer = pool.take(64 * KiB)!;
  const memory = buffer.buffer;
  assert.equal(pool.stats.slabs, 1);
  pool.trim();
  assert.equal(pool.stats.slabs, 1, "kept while a buffer is out");
  pool.release(buffer);
  for (let i = 0; i < 100 && pool.stats.slabs > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(pool.stats.slabs, 0);
  assert.equal(memory.byteLength, 0, "the slab's memory was freed (detached)");
});

Deno.test("BufferPool.release() ignores a buffer returned twice or not its own", () => {
  const pool = new BufferPool({ sizes });
  const buffer = pool.take(16 * KiB)!;
  pool.release(buffer);
  pool.release(buffer);
  pool.release(new Uint8Array(16 * KiB));
  assert.deepEqual(pool.stats, { outCount: 0, outBytes: 0, slabs: 1, peakOutBytes: 16 * KiB });
  pool.trim();
  assert.equal(pool.stats.slabs, 0);
});

Deno.test("BufferPool refuses sizes that do not each divide the next", () => {
  assert.throws(() => new BufferPool({ sizes: [] }), RangeError);
  assert.throws(() => new BufferPool({ sizes: [64, 16] }), RangeError);
  assert.throws(() => new BufferPool({ sizes: [16 * KiB, 48 * KiB] }), RangeError);
});
