import assert from "node:assert/strict";
import { assertSameBytes, firstDifference } from "./assert_bytes.ts";

Deno.test("assertSameBytes passes equal bytes and names the first difference of large unequal ones", () => {
  const expected = new Uint8Array(4 * 1024 * 1024).map((_, i) => i % 251);
  assertSameBytes(expected.slice(), expected);
  const changed = expected.slice();
  changed[3_000_000] = 7;
  assert.throws(
    () => assertSameBytes(changed, expected, "up.bin"),
    /^AssertionError.*up\.bin: 4194304 bytes, expected 4194304; first difference at offset 3000000/,
  );
  assert.throws(
    () => assertSameBytes(expected.subarray(0, 65536), expected),
    /65536 bytes, expected 4194304; one is a prefix of the other/,
  );
  assert.equal(firstDifference(new Uint8Array([1, 2]), new Uint8Array([1, 2])), -1);
  assert.equal(firstDifference(new Uint8Array([1, 2]), new Uint8Array([1, 3])), 1);
});
