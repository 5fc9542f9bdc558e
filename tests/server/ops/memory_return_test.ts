/**
 * Giving the C allocator's free memory back: glibc's own counters and
 * `malloc_trim` through FFI, and the server's periodic look that trims
 * only past its threshold.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type HeapUsage,
  type NativeMemory,
  nativeMemory,
} from "../../../transport/native_memory.ts";
import { MemoryReturn, RETURN_FREE_BYTES } from "../../../server/ops/memory_return.ts";
import { BufferPool, SLAB_BYTES } from "../../../transport/buffer_pool.ts";

Deno.test("nativeMemory reaches glibc's allocator through libssl: free bytes grow after a free, trim gives them back", () => {
  const memory = nativeMemory();
  assert.ok(memory, "glibc and libssl 3 are on this machine, and the test runs with --allow-all");
  // 64 KiB blocks (under glibc's mmap threshold: from the heap), every other one freed: holes.
  const blocks = Array.from({ length: 128 }, () => new ArrayBuffer(64 * 1024));
  for (const block of blocks) new Uint8Array(block).fill(1);
  const before = memory.usage();
  for (let i = 0; i < blocks.length; i += 2) blocks[i]!.transfer(0);
  const freed = memory.usage();
  assert.ok(freed.free - before.free >= 32 * 64 * 1024, `free ${before.free} -> ${freed.free}`);
  assert.ok(before.used - freed.used >= 32 * 64 * 1024, `used ${before.used} -> ${freed.used}`);
  assert.equal(typeof memory.trim(), "boolean");
  for (let i = 1; i < blocks.length; i += 2) blocks[i]!.transfer(0);
});

/** An allocator that reports what it is told and counts its trims (which, as glibc's, leave the counts). */
class CountingMemory implements NativeMemory {
  used = 0;
  free = 0;
  trims = 0;
  dropped: Uint8Array[] = [];
  usage(): HeapUsage {
    return { used: this.used, free: this.free };
  }
  trim(): boolean {
    this.trims++;
    return true;
  }
  dropPages(view: Uint8Array): boolean {
    this.dropped.push(view);
    return true;
  }
}

Deno.test("MemoryReturn trims when the heap holds much free and has moved since the last trim", () => {
  const memory = new CountingMemory();
  const memoryReturn = MemoryReturn.start(memory, { intervalMs: 60_000 })!;
  try {
    memory.free = RETURN_FREE_BYTES;
    memoryReturn.check();
    assert.equal(memory.trims, 0, "at the threshold: left to be reused");
    memory.free = RETURN_FREE_BYTES + 1;
    memoryReturn.check();
    assert.equal(memory.trims, 1);
    assert.equal(memoryReturn.trims, 1);
    memoryReturn.check();
    memoryReturn.check();
    assert.equal(memory.trims, 1, "an idle heap is trimmed once, not at every look");
    memory.used = RETURN_FREE_BYTES * 3; // a new burst fills the holes
    memory.free = 0;
    memoryReturn.check();
    assert.equal(memory.trims, 1, "busy, little free: nothing to give back");
    memory.used = 0;
    memory.free = RETURN_FREE_BYTES * 3; // the burst is over
    memoryReturn.check();
    assert.equal(memory.trims, 2);
  } finally {
    memoryReturn.stop();
  }
});

/** Resident KiB of this process's mappings (all of them). */
function residentKiB(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

Deno.test("nativeMemory.dropPages gives back a free pool block's pages: they read as zeros, the process shrinks", () => {
  const memory = nativeMemory()!;
  const pool = new BufferPool({ lingerMs: 60_000, limitBytes: SLAB_BYTES });
  try {
    const held = pool.take(pool.smallest)!; // keeps the slab
    const blocks: Uint8Array[] = [];
    for (let i = 0; i < 8; i++) blocks.push(pool.take(1 << 20)!);
    for (const block of blocks) block.fill(7); // resident now
    for (const block of blocks) pool.release(block);
    const before = residentKiB();
    let freeBlocks = 0;
    pool.dropFreePages((block) => {
      freeBlocks++;
      assert.ok(memory.dropPages(block));
    });
    const after = residentKiB();
    assert.ok(freeBlocks >= 8, `${freeBlocks} free blocks`);
    assert.ok(before - after >= 7 * 1024, `RSS ${before} -> ${after} KiB`);
    const again = pool.take(1 << 20)!;
    assert.equal(again.length, 1 << 20);
    // A dropped page reads as zeros (the block's edges, inside a page shared with its
    // neighbour, may keep their bytes: nothing is promised about a free block's content).
    assert.equal(again[again.length >> 1], 0);
    pool.release(again);
    pool.release(held);
  } finally {
    pool.trim();
  }
});

Deno.test("MemoryReturn gives back the pool's free blocks at every look", () => {
  const memory = new CountingMemory();
  const pool = new BufferPool({ lingerMs: 60_000 });
  const memoryReturn = MemoryReturn.start(memory, { pool, intervalMs: 60_000 })!;
  try {
    const buffer = pool.take(pool.smallest)!;
    memoryReturn.check();
    const blocks = memory.dropped.length;
    assert.ok(blocks > 0 && blocks < SLAB_BYTES / (1 << 20), `${blocks} blocks`);
    assert.ok(
      !memory.dropped.some((block) => block.byteOffset === buffer.byteOffset),
      "not the one in use",
    );
    pool.release(buffer);
  } finally {
    memoryReturn.stop();
    pool.trim();
  }
});

Deno.test("MemoryReturn looks on its own, every interval", async () => {
  const memory = new CountingMemory();
  memory.free = RETURN_FREE_BYTES * 2;
  const memoryReturn = MemoryReturn.start(memory, { intervalMs: 20 })!;
  try {
    const deadline = Date.now() + 5_000;
    while (memory.trims === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(memory.trims, 1);
  } finally {
    memoryReturn.stop();
  }
});

Deno.test("MemoryReturn.start without an allocator to reach does nothing", () => {
  assert.equal(MemoryReturn.start(undefined), undefined);
});
