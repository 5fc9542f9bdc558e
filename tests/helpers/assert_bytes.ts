/**
 * Byte-for-byte comparison for tests. `assert.deepEqual` on two large byte
 * arrays that differ builds a line-by-line diff of both: for 300 kB that
 * took gigabytes and minutes, and one failed transfer check took the whole
 * test run down with it. This reports the lengths and the first difference.
 *
 * @module
 */

import { AssertionError } from "node:assert";

/** How many bytes around the first difference the message shows. */
const WINDOW = 16;

function hexAround(bytes: Uint8Array, at: number): string {
  const start = Math.max(0, at - WINDOW / 2);
  const end = Math.min(bytes.length, start + WINDOW);
  const shown = Array.from(bytes.subarray(start, end), (b) => b.toString(16).padStart(2, "0"));
  return `${start > 0 ? "… " : ""}${shown.join(" ")}${end < bytes.length ? " …" : ""}`;
}

/** The first offset at which `a` and `b` differ (the shorter length if one is a prefix), or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const shared = Math.min(a.length, b.length);
  for (let i = 0; i < shared; i++) {
    if (a[i] !== b[i]) return i;
  }
  return a.length === b.length ? -1 : shared;
}

/**
 * Throws an `AssertionError` unless `actual` holds exactly the bytes of
 * `expected`; the message names both lengths and the first differing offset.
 *
 * @example
 * ```ts ignore
 * assertSameBytes(await Deno.readFile(`${root}/up.bin`), content, "uploaded file");
 * ```
 */
export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  const at = firstDifference(actual, expected);
  if (at < 0) return;
  const where = at === Math.min(actual.length, expected.length)
    ? `one is a prefix of the other`
    : `first difference at offset ${at}: got ${hexAround(actual, at)}, expected ${
      hexAround(expected, at)
    }`;
  throw new AssertionError({
    message: `${what}: ${actual.length} bytes, expected ${expected.length}; ${where}`,
    actual: `${actual.length} bytes`,
    expected: `${expected.length} bytes`,
    operator: "assertSameBytes",
  });
}
