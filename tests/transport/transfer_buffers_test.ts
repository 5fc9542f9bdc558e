import assert from "node:assert/strict";
import { BufferPool, DEFAULT_LIMIT_BYTES } from "../../transport/buffer_pool.ts";
import { pump } from "../../transport/pump.ts";
import { TransferBuffers } from "../../transport/transfer_buffers.ts";

const KiB = 1024;
const sizes = [16 * KiB, 64 * KiB, 256 * KiB, 1024 * KiB] as const;

/** A source of `total` bytes that fills every buffer it is given. */
function source(total: number) {
  let left = total;
  return (buffer: Uint8Array): Promise<number | null> => {
    if (left === 0) return Promise.resolve(null);
    const n = Math.min(left, buffer.length);
    buffer.fill(7, 0, n);
    left -= n;
    return Promise.resolve(n);
  };
}

Deno.test("TransferBuffers start at the smallest size and grow while the peer keeps up", async () => {
  const pool = new BufferPool({ sizes });
  const buffers = new TransferBuffers(pool);
  const seen: number[] = [];
  await pump(buffers, source(8 * 1024 * KiB), (chunk) => {
    seen.push(chunk.length);
    buffers.keptUp();
    return Promise.resolve();
  });
  buffers.release();
  assert.equal(seen[0], 16 * KiB);
  assert.ok(seen.includes(64 * KiB) && seen.includes(256 * KiB));
  assert.equal(seen.at(-2), 1024 * KiB, "grown to the largest size");
  assert.equal(pool.stats.outCount, 0);
});

Deno.test("TransferBuffers shrink again when the peer falls behind", () => {
  const pool = new BufferPool({ sizes });
  const buffers = new TransferBuffers(pool);
  for (let i = 0; i < 3; i++) buffers.keptUp();
  assert.equal(buffers.get(0).length, 1024 * KiB);
  buffers.fellBehind();
  buffers.fellBehind();
  assert.equal(buffers.get(0).length, 64 * KiB);
  assert.equal(pool.stats.outBytes, 64 * KiB, "the larger buffer went back");
  buffers.release();
});

Deno.test("TransferBuffers never grow past the size that holds the expected bytes", () => {
  const pool = new BufferPool({ sizes });
  const buffers = new TransferBuffers(pool, { expectedBytes: 40 * KiB });
  for (let i = 0; i < 5; i++) buffers.keptUp();
  assert.equal(buffers.get(0).length, 64 * KiB);
  buffers.release();
});

Deno.test("the default pool hands out at most 4 MiB in buffers above the smallest", () => {
  const pool = new BufferPool({ sizes });
  const large: Uint8Array[] = [];
  for (let buffer = pool.take(1024 * KiB); buffer; buffer = pool.take(1024 * KiB)) {
    large.push(buffer);
  }
  assert.equal(large.length * 1024 * KiB, DEFAULT_LIMIT_BYTES);
  assert.equal(DEFAULT_LIMIT_BYTES, 4 * 1024 * KiB);
  assert.ok(pool.take(16 * KiB), "the smallest is still granted");
});

Deno.test("many TransferBuffers together stay within the pool's limit", () => {
  const limit = 4 * 1024 * KiB;
  const pool = new BufferPool({ sizes, limitBytes: limit });
  const transfers = Array.from({ length: 100 }, () => new TransferBuffers(pool));
  for (let round = 0; round < 5; round++) {
    for (const buffers of transfers) {
      buffers.get(0);
      buffers.get(1);
      buffers.keptUp();
    }
  }
  // Each transfer may hold its two smallest buffers past the limit, nothing more.
  assert.ok(pool.stats.peakOutBytes <= limit + 100 * 2 * 16 * KiB, `${pool.stats.peakOutBytes}`);
  assert.ok(transfers.some((buffers) => buffers.get(0).length > 16 * KiB), "some grew");
  for (const buffers of transfers) buffers.release();
  assert.equal(pool.stats.outCount, 0);
  assert.equal(pool.stats.outBytes, 0);
});

Deno.test("TransferBuffers all go back when a transfer fails in a read or a write", async () => {
  const pool = new BufferPool({ sizes });
  for (const failing of ["read", "write"] as const) {
    const buffers = new TransferBuffers(pool);
    const read = source(4 * 1024 * KiB);
    let chunks = 0;
    await assert.rejects(
      async () => {
        try {
          await pump(
            buffers,
            (buffer) => {
              if (failing === "read" && chunks === 3) throw new Error("reset");
              return read(buffer);
            },
            async () => {
              chunks++;
              buffers.keptUp();
              await new Promise((resolve) => setTimeout(resolve, 0));
              if (failing === "write" && chunks === 3) throw new Error("reset");
            },
          );
        } finally {
          buffers.release();
        }
      },
      /reset/,
    );
    assert.equal(pool.stats.outCount, 0, `after a failed ${failing}`);
  }
  pool.trim();
  assert.equal(pool.stats.slabs, 0);
});

Deno.test("TransferBuffers refuse use after release, and release twice is harmless", () => {
  const pool = new BufferPool({ sizes });
  const buffers = new TransferBuffers(pool);
  buffers.get(0);
  buffers.release();
  buffers.release();
  assert.throws(() => buffers.get(1), Error);
  assert.equal(pool.stats.outCount, 0);
});
