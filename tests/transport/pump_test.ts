import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import { pump } from "../../transport/pump.ts";

function source(data: Uint8Array, chunk: number) {
  let offset = 0;
  return (buffer: Uint8Array): Promise<number | null> => {
    if (offset >= data.length) return Promise.resolve(null);
    const n = Math.min(chunk, buffer.length, data.length - offset);
    buffer.set(data.subarray(offset, offset + n));
    offset += n;
    return Promise.resolve(n);
  };
}

Deno.test("pump() moves every byte in order while reads and writes overlap", async () => {
  const data = new Uint8Array(100_000).map((_, i) => (i * 7919) % 251);
  const out: Uint8Array[] = [];
  let writesInFlight = 0;
  let overlapped = false;
  const read = source(data, 3000);
  const total = await pump(
    [new Uint8Array(4096), new Uint8Array(4096)],
    async (buffer) => {
      if (writesInFlight > 0) overlapped = true;
      return await read(buffer);
    },
    async (chunk) => {
      writesInFlight++;
      const copy = chunk.slice();
      await new Promise((resolve) => setTimeout(resolve, 0));
      out.push(copy);
      writesInFlight--;
    },
  );
  assert.equal(total, data.length);
  assertSameBytes(new Uint8Array(out.flatMap((chunk) => [...chunk])), data);
  assert.ok(overlapped, "a read ran while a write was in flight");
});

Deno.test("pump() applies convert to each chunk and writes what finish returns last", async () => {
  const out: string[] = [];
  await pump(
    [new Uint8Array(2), new Uint8Array(2)],
    source(new TextEncoder().encode("abcde"), 2),
    (chunk) => {
      out.push(new TextDecoder().decode(chunk));
      return Promise.resolve();
    },
    { convert: (chunk) => chunk.map((byte) => byte - 32), finish: () => Uint8Array.of(33) },
  );
  assert.equal(out.join(""), "ABCDE!");
});

Deno.test("pump() rejects with a failed write only after it has settled", async () => {
  let settled = false;
  await assert.rejects(
    pump(
      [new Uint8Array(8), new Uint8Array(8)],
      source(new Uint8Array(64), 8),
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        settled = true;
        throw new Error("disk full");
      },
    ),
    /disk full/,
  );
  assert.ok(settled);
});
