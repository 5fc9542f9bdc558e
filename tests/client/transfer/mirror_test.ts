import assert from "node:assert/strict";
import {
  isSafeEntryName,
  planMirror,
  type Tree,
  type TreeEntry,
} from "../../../client/transfer/mirror.ts";

const t0 = new Date("2024-05-01T10:00:00Z");
const later = new Date("2024-05-01T10:00:05Z");
const file = (size: number, mtime = t0): TreeEntry => ({ type: "file", size, mtime });
const dir: TreeEntry = { type: "dir", size: 0, mtime: t0 };

Deno.test("isSafeEntryName() accepts ordinary names", () => {
  for (const name of ["a.txt", ".hidden", "a b", "..x", "x..", "ünï"]) {
    assert.equal(isSafeEntryName(name), true, name);
  }
});

Deno.test("isSafeEntryName() rejects separators, NUL, dot names and absolute paths", () => {
  for (
    const name of [
      "",
      ".",
      "..",
      "../evil",
      "/etc/x",
      "a/b",
      "a\\b",
      "..\\x",
      "a\0b",
      "C:x",
      "a\nb",
    ]
  ) {
    assert.equal(isSafeEntryName(name), false, JSON.stringify(name));
  }
});

Deno.test("planMirror() transfers files missing on the target and creates their directories", () => {
  const source: Tree = new Map([["d", dir], ["d/e", dir], ["d/e/f.txt", file(3)], ["a", file(1)]]);
  const plan = planMirror(source, new Map());
  assert.deepEqual(plan.mkdirs, ["d", "d/e"]);
  assert.deepEqual(plan.transfers.map((t) => t.path), ["a", "d/e/f.txt"]);
  assert.equal(plan.upToDate, 0);
});

Deno.test("planMirror() transfers files whose size or time differ, and only those", () => {
  const source: Tree = new Map([
    ["same", file(5)],
    ["size", file(6)],
    ["time", file(5, later)],
    ["ms", file(5, new Date(t0.getTime() + 900))],
  ]);
  const target: Tree = new Map([
    ["same", file(5)],
    ["size", file(5)],
    ["time", file(5)],
    ["ms", file(5)],
  ]);
  const plan = planMirror(source, target);
  assert.deepEqual(plan.transfers.map((t) => t.path), ["size", "time"]);
  assert.equal(plan.upToDate, 2);
});

Deno.test("planMirror() compares times by the listing's resolution", () => {
  const source: Tree = new Map([["a", file(1, later)]]);
  const target: Tree = new Map([["a", file(1)]]);
  assert.equal(planMirror(source, target, { timeResolutionMs: 60_000 }).transfers.length, 0);
});

Deno.test("planMirror() can count a newer target as current when times cannot be set", () => {
  const plan = planMirror(new Map([["a", file(1)]]), new Map([["a", file(1, later)]]), {
    newerTargetIsCurrent: true,
  });
  assert.equal(plan.transfers.length, 0);
  assert.equal(
    planMirror(new Map([["a", file(1)]]), new Map([["a", file(1, later)]]))
      .transfers.length,
    1,
  );
});

Deno.test("planMirror() skips type conflicts and everything under a conflicting directory", () => {
  const source: Tree = new Map([["x", dir], ["x/y", file(1)], ["z", file(1)]]);
  const target: Tree = new Map([["x", file(1)], ["z", dir]]);
  const plan = planMirror(source, target);
  assert.deepEqual(plan.conflicts, ["x", "z"]);
  assert.deepEqual(plan.transfers, []);
});

Deno.test("planMirror() deletes extraneous entries only with delete, files first then deepest dirs", () => {
  const source: Tree = new Map([["keep", file(1)]]);
  const target: Tree = new Map([
    ["keep", file(1)],
    ["old", dir],
    ["old/sub", dir],
    ["old/sub/f", file(1)],
    ["g", file(2)],
  ]);
  assert.deepEqual(planMirror(source, target).deletes, []);
  assert.deepEqual(planMirror(source, target, { delete: true }).deletes, [
    { path: "g", type: "file" },
    { path: "old/sub/f", type: "file" },
    { path: "old/sub", type: "dir" },
    { path: "old", type: "dir" },
  ]);
});
