import assert from "node:assert/strict";
import {
  formatBytes,
  formatDuration,
  formatProgressLine,
  ProgressBar,
} from "../../../client/transfer/progress.ts";

Deno.test("formatBytes() uses binary units", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(3 * 1024 * 1024), "3.0 MiB");
});

Deno.test("formatDuration() prints m:ss and h:mm:ss, and --:-- when unknown", () => {
  assert.equal(formatDuration(75), "1:15");
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(formatDuration(Infinity), "--:--");
});

Deno.test("formatProgressLine() shows percentage, rate and ETA within the width", () => {
  const line = formatProgressLine({ label: "a.bin", bytes: 512, total: 1024, rate: 256 }, 80);
  assert.match(line, /^a\.bin \[#+ +\] {2}50% 512 B 256 B\/s ETA 0:02$/);
  assert.ok(line.length < 80);
  const long = formatProgressLine({ label: "x".repeat(200), bytes: 1, total: 2, rate: 1 }, 60);
  assert.ok(long.length <= 59);
});

Deno.test("formatProgressLine() without a total shows bytes and rate only", () => {
  assert.equal(
    formatProgressLine({ label: "f", bytes: 2048, total: undefined, rate: 1024 }, 80),
    "f 2.0 KiB 1.0 KiB/s",
  );
});

Deno.test("ProgressBar draws nothing when disabled", () => {
  const written: string[] = [];
  const bar = new ProgressBar("f", 10, { enabled: false, write: (text) => written.push(text) });
  bar.track()(5, 10);
  bar.finish();
  assert.deepEqual(written, []);
  assert.equal(bar.bytes, 5);
});

Deno.test("ProgressBar adds each file's increments and ends its line when finished", () => {
  const written: string[] = [];
  let now = 0;
  const bar = new ProgressBar("f", 10, {
    enabled: true,
    write: (text) => written.push(text),
    now: () => now,
    columns: 80,
  });
  const first = bar.track();
  const second = bar.track();
  now = 1000;
  first(3, 10);
  first(4, 10);
  now = 2000;
  second(2, 10);
  bar.finish();
  assert.equal(bar.bytes, 6);
  assert.match(written.at(-2)!, /^\rf .* 60% /);
  assert.equal(written.at(-1), "\n");
});
