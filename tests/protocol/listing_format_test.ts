/**
 * The listing formatters keep small caches (mode strings, the last date
 * column, the last time-val) for large directories; these properties check
 * them, over runs of entries that share or change their minute and second,
 * against the plain formatting they replaced, byte for byte.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type EntryType,
  formatListLine,
  formatMlsxFacts,
  formatMlsxTime,
  type ListingEntry,
  MLST_FACTS,
} from "../../protocol/listing.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (value: number, width = 2) => String(value).padStart(width, "0");
const defaultMode = (type: EntryType) => type === "dir" ? 0o755 : type === "link" ? 0o777 : 0o644;

/** `ls -l` permission letters, worked out bit by bit (independently of listing.ts). */
function referenceModeString(mode: number): string {
  const chars = [..."rwxrwxrwx"].map((letter, i) => (mode & (0o400 >> i)) !== 0 ? letter : "-");
  const specials = [[0o4000, 2, "s"], [0o2000, 5, "s"], [0o1000, 8, "t"]] as const;
  for (const [bit, at, letter] of specials) {
    if ((mode & bit) !== 0) chars[at] = chars[at] === "x" ? letter : letter.toUpperCase();
  }
  return chars.join("");
}

function referenceListLine(entry: ListingEntry, now: Date): string {
  const typeChar = entry.type === "dir"
    ? "d"
    : entry.type === "link"
    ? "l"
    : entry.type === "file"
    ? "-"
    : "?";
  const mode = (entry.mode ?? defaultMode(entry.type)) & 0o7777;
  const mtime = entry.mtime;
  const age = now.getTime() - mtime.getTime();
  const recent = age <= 180 * 86_400_000 && age >= -86_400_000;
  const date = `${MONTHS[mtime.getUTCMonth()]} ${String(mtime.getUTCDate()).padStart(2)} ` +
    (recent
      ? `${pad(mtime.getUTCHours())}:${pad(mtime.getUTCMinutes())}`
      : String(mtime.getUTCFullYear()).padStart(5));
  const name = entry.type === "link" && entry.target !== undefined
    ? `${entry.name} -> ${entry.target}`
    : entry.name;
  return `${typeChar}${referenceModeString(mode)} ${entry.nlink ?? 1} ${entry.owner ?? "ftp"} ` +
    `${entry.group ?? "ftp"} ${String(entry.size).padStart(12)} ${date} ${name}`;
}

function referenceTimeVal(date: Date): string {
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) throw new RangeError("out of range");
  return pad(year, 4) + pad(date.getUTCMonth() + 1) + pad(date.getUTCDate()) +
    pad(date.getUTCHours()) + pad(date.getUTCMinutes()) + pad(date.getUTCSeconds());
}

function referenceMlsx(
  entry: ListingEntry,
  facts: ReadonlySet<string>,
  perm?: string,
  unique?: string,
): string {
  let out = "";
  for (const fact of MLST_FACTS) {
    if (!facts.has(fact)) continue;
    let value: string | undefined;
    if (fact === "type") {
      value = entry.type === "file" || entry.type === "dir"
        ? entry.type
        : entry.type === "link"
        ? entry.target !== undefined && /^[^; \r\n]+$/.test(entry.target)
          ? `OS.unix=slink:${entry.target}`
          : "OS.unix=slink"
        : "OS.unix=other";
    }
    if (fact === "size" && entry.type === "file") value = String(entry.size);
    if (fact === "modify") value = referenceTimeVal(entry.mtime);
    if (fact === "perm") value = perm;
    if (fact === "unix.mode") {
      value = ((entry.mode ?? defaultMode(entry.type)) & 0o7777).toString(8).padStart(4, "0");
    }
    if (fact === "unique") value = unique;
    if (value !== undefined) out += `${fact}=${value};`;
  }
  return `${out} ${entry.name}`;
}

const NOW_MS = Date.UTC(2026, 10, 27, 12, 0, 0);
/** Times near one another (same second, same minute) and far apart (other years, the future). */
const times = fc.oneof(
  fc.integer({ min: NOW_MS - 3_000, max: NOW_MS + 3_000 }),
  fc.integer({ min: NOW_MS - 200_000, max: NOW_MS + 200_000 }),
  fc.integer({ min: NOW_MS - 181 * 86_400_000, max: NOW_MS + 2 * 86_400_000 }),
  fc.integer({ min: Date.UTC(-50, 0, 1), max: Date.UTC(9999, 11, 31) }),
  fc.constantFrom(
    NOW_MS - 180 * 86_400_000,
    NOW_MS - 180 * 86_400_000 - 1,
    NOW_MS + 86_400_000,
    NOW_MS + 86_400_001,
    -1,
    0,
    -60_001,
  ),
);
const entries = fc.record({
  name: fc.string({ minLength: 1, maxLength: 12 }),
  type: fc.constantFrom<EntryType>("file", "dir", "link", "other"),
  size: fc.oneof(fc.nat(), fc.constant(0), fc.constant(Number.MAX_SAFE_INTEGER)),
  mtime: times.map((ms) => new Date(ms)),
  mode: fc.option(fc.integer({ min: 0, max: 0o17777 }), { nil: undefined }),
  nlink: fc.option(fc.nat(), { nil: undefined }),
  target: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
}).map((entry) => {
  const clean: ListingEntry = {
    name: entry.name,
    type: entry.type,
    size: entry.size,
    mtime: entry.mtime,
  };
  if (entry.mode !== undefined) clean.mode = entry.mode;
  if (entry.nlink !== undefined) clean.nlink = entry.nlink;
  if (entry.target !== undefined) clean.target = entry.target;
  return clean;
});
/** Runs of entries, some sharing one time (as a large directory's often do). */
const runs = fc.array(
  fc.tuple(entries, fc.integer({ min: 1, max: 4 })),
  { maxLength: 30 },
).map((groups) => groups.flatMap(([entry, count]) => Array(count).fill(entry) as ListingEntry[]));
const nows = fc.constantFrom(new Date(NOW_MS), new Date(NOW_MS + 90 * 86_400_000));

Deno.test("formatListLine() matches plain ls -l formatting over runs of entries", () => {
  fc.assert(
    fc.property(runs, nows, (list, now) => {
      for (const entry of list) {
        assert.equal(formatListLine(entry, now), referenceListLine(entry, now));
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("formatMlsxFacts() and formatMlsxTime() match plain formatting over runs of entries", () => {
  const factSets = fc.subarray([...MLST_FACTS]).map((facts) => new Set(facts));
  fc.assert(
    fc.property(runs, factSets, (list, facts) => {
      for (const entry of list) {
        const year = entry.mtime.getUTCFullYear();
        if (year < 0 || year > 9999) {
          assert.throws(() => formatMlsxTime(entry.mtime), RangeError);
          continue;
        }
        assert.equal(formatMlsxTime(entry.mtime), referenceTimeVal(entry.mtime));
        assert.equal(
          formatMlsxFacts(entry, { facts, perm: "adfrw", unique: "803g1f" }),
          referenceMlsx(entry, facts, "adfrw", "803g1f"),
        );
        assert.equal(formatMlsxFacts(entry, { facts }), referenceMlsx(entry, facts));
      }
    }),
    { numRuns: 300 },
  );
});
