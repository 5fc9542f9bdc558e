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
  usage(): HeapUsage {
    return { used: this.used, free: this.free };
  }
  trim(): boolean {
    this.trims++;
    return true;
  }
}

Deno.test("MemoryReturn trims when the heap holds much free and has moved since the last trim", () => {
  const memory = new CountingMemory();
  const memoryReturn = MemoryReturn.start(memory, 60_000)!;
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

Deno.test("MemoryReturn looks on its own, every interval", async () => {
  const memory = new CountingMemory();
  memory.free = RETURN_FREE_BYTES * 2;
  const memoryReturn = MemoryReturn.start(memory, 20)!;
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
