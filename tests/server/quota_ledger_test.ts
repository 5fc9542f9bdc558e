import assert from "node:assert/strict";
import { measureDirectory, QuotaLedger } from "../../server/user_limits/quota_ledger.ts";

Deno.test("measureDirectory counts bytes and regular files, recursively, not following links", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/a`, new Uint8Array(10));
    await Deno.mkdir(`${dir}/sub/deeper`, { recursive: true });
    await Deno.writeFile(`${dir}/sub/b`, new Uint8Array(20));
    await Deno.writeFile(`${dir}/sub/deeper/c`, new Uint8Array(30));
    await Deno.symlink("/etc/passwd", `${dir}/link`);
    assert.deepEqual(await measureDirectory(dir), { bytes: 60, files: 3 });
    assert.deepEqual(await measureDirectory(`${dir}/missing`), { bytes: 0, files: 0 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a change counts in every measured home that contains it, and only there", async () => {
  const sizes: Record<string, { bytes: number; files: number }> = {
    "/r": { bytes: 100, files: 2 },
    "/r/alice": { bytes: 40, files: 1 },
    "/r/bob": { bytes: 60, files: 1 },
  };
  const ledger = new QuotaLedger((dir) => Promise.resolve({ ...sizes[dir]! }));
  await ledger.usage("/r");
  await ledger.usage("/r/alice");
  ledger.apply("/r/alice/new", 5, 1);
  ledger.apply("/r/alicex/other", 7, 1); // a sibling with a common prefix is not inside
  assert.deepEqual(ledger.cached("/r"), { bytes: 112, files: 4 });
  assert.deepEqual(ledger.cached("/r/alice"), { bytes: 45, files: 2 });
  assert.equal(ledger.cached("/r/bob"), undefined, "not measured: nothing kept");
  assert.equal(ledger.wouldExceed("/r/alice", { quotaSize: 50 }, 5, 0), false, "exactly full");
  assert.equal(ledger.wouldExceed("/r/alice", { quotaSize: 50 }, 6, 0), true);
  assert.equal(ledger.wouldExceed("/r/alice", { quotaFiles: 2 }, 0, 1), true);
  assert.equal(ledger.wouldExceed("/r/alice", { quotaFiles: 2 }, 100, 0), false, "no size cap");
  assert.equal(ledger.wouldExceed("/r/alice", {}, 1e12, 1e6), false, "unlimited");
  ledger.limit("/r/alice", { quotaSize: 50, quotaFiles: 3 });
  assert.equal(ledger.reserve("/r/alice/f", 6, 0), false, "refused: past the size quota");
  assert.equal(ledger.reserve("/r/bob/f", 6, 0), true, "another home is not limited");
  assert.equal(ledger.reserve("/r/alice/f", 5, 1), true, "exactly to the limits");
  assert.equal(ledger.reserve("/r/alice/g", 0, 1), false, "refused: past the file quota");
  assert.deepEqual(ledger.cached("/r/alice"), { bytes: 50, files: 3 });
  ledger.limit("/r/alice", {});
  assert.equal(ledger.reserve("/r/alice/g", 1000, 1), true, "limits cleared");
  ledger.apply("/r/alice/new", -10000, -50);
  assert.deepEqual(ledger.cached("/r/alice"), { bytes: 0, files: 0 }, "never negative");
  ledger.forget();
  assert.equal(ledger.cached("/r"), undefined);
});

Deno.test("changes made while a home is measured are not lost, and one measure serves all", async () => {
  let measures = 0;
  let finish!: (usage: { bytes: number; files: number }) => void;
  const ledger = new QuotaLedger(() => {
    measures++;
    return new Promise((resolve) => (finish = resolve));
  });
  const first = ledger.usage("/h");
  const second = ledger.usage("/h");
  ledger.apply("/h/x", 10, 1);
  finish({ bytes: 100, files: 3 });
  assert.deepEqual(await first, { bytes: 110, files: 4 });
  assert.equal(await second, await first);
  assert.equal(measures, 1);
});
