import assert from "node:assert/strict";
import {
  formatFeatMlst,
  formatListLine,
  formatMlsxFacts,
  formatMlsxTime,
  type ListingEntry,
  MLST_FACTS,
  parseListLine,
  parseMlsxLine,
  parseMlsxTime,
  parseOptsMlst,
} from "../../protocol/listing.ts";

const NOW = new Date("2026-11-27T12:00:00Z");
const utc = (iso: string) => new Date(`${iso}Z`);

Deno.test("formatListLine() writes ls -l lines with defaults", () => {
  const cases: [ListingEntry, string][] = [
    [
      { name: "a.txt", type: "file", size: 1234, mtime: utc("2026-11-26T10:15:00") },
      "-rw-r--r-- 1 ftp ftp         1234 Nov 26 10:15 a.txt",
    ],
    [
      { name: "my dir", type: "dir", size: 4096, mtime: utc("2026-06-03T08:05:00") },
      "drwxr-xr-x 1 ftp ftp         4096 Jun  3 08:05 my dir",
    ],
    [
      {
        name: "bin",
        type: "link",
        size: 7,
        mtime: utc("2026-11-26T10:15:00"),
        target: "usr/bin",
      },
      "lrwxrwxrwx 1 ftp ftp            7 Nov 26 10:15 bin -> usr/bin",
    ],
    [
      {
        name: "run.sh",
        type: "file",
        size: 0,
        mtime: utc("2026-11-26T10:15:00"),
        mode: 0o4750,
        nlink: 3,
        owner: "alice",
        group: "staff",
      },
      "-rwsr-x--- 3 alice staff            0 Nov 26 10:15 run.sh",
    ],
    [
      { name: "tmp", type: "dir", size: 0, mtime: utc("2026-11-26T10:15:00"), mode: 0o1777 },
      "drwxrwxrwt 1 ftp ftp            0 Nov 26 10:15 tmp",
    ],
    [
      { name: "x", type: "file", size: 1, mtime: utc("2026-11-26T10:15:00"), mode: 0o6644 },
      "-rwSr-Sr-- 1 ftp ftp            1 Nov 26 10:15 x",
    ],
    [
      { name: "fifo", type: "other", size: 0, mtime: utc("2026-11-26T10:15:00") },
      "?rw-r--r-- 1 ftp ftp            0 Nov 26 10:15 fifo",
    ],
    [
      { name: "big", type: "file", size: 123456789012345, mtime: utc("2026-11-26T10:15:00") },
      "-rw-r--r-- 1 ftp ftp 123456789012345 Nov 26 10:15 big",
    ],
  ];
  for (const [entry, line] of cases) assert.equal(formatListLine(entry, NOW), line, entry.name);
});

Deno.test("formatListLine() shows the year for old and future dates", () => {
  const at = (iso: string) =>
    formatListLine({ name: "f", type: "file", size: 0, mtime: utc(iso) }, NOW);
  assert.equal(at("2020-01-02T03:04:05"), "-rw-r--r-- 1 ftp ftp            0 Jan  2  2020 f");
  assert.equal(at("2026-05-31T12:00:00"), "-rw-r--r-- 1 ftp ftp            0 May 31 12:00 f");
  assert.equal(at("2026-05-30T11:59:00"), "-rw-r--r-- 1 ftp ftp            0 May 30  2026 f");
  assert.equal(at("2026-11-28T11:00:00"), "-rw-r--r-- 1 ftp ftp            0 Nov 28 11:00 f");
  assert.equal(at("2026-11-28T13:00:00"), "-rw-r--r-- 1 ftp ftp            0 Nov 28  2026 f");
  assert.equal(at("2027-03-01T00:00:00"), "-rw-r--r-- 1 ftp ftp            0 Mar  1  2027 f");
});

Deno.test("parseListLine() reads sample lines from common servers", () => {
  const cases: [string, string, Partial<ListingEntry>][] = [
    [
      "vsftpd",
      "-rw-r--r--    1 1000     1000         1234 Nov 26 10:15 report.pdf",
      { name: "report.pdf", type: "file", size: 1234, nlink: 1, owner: "1000", group: "1000" },
    ],
    [
      "vsftpd dir with year",
      "drwxr-xr-x    2 0        0            4096 Jan 02  2020 pub",
      { name: "pub", type: "dir", size: 4096, mtime: utc("2020-01-02T00:00:00"), mode: 0o755 },
    ],
    [
      "pure-ftpd",
      "-rw-r--r--    1 alice      users            2048 Nov 26 10:15 notes.txt",
      { name: "notes.txt", size: 2048, owner: "alice", group: "users", mode: 0o644 },
    ],
    [
      "proftpd",
      "-rw-r--r--   1 ftp      ftp           10 Nov 26 10:15 hello.txt",
      { name: "hello.txt", size: 10, mtime: utc("2026-11-26T10:15:00") },
    ],
    [
      "pyftpdlib",
      "-rw-rw-r--   1 giampaolo staff      5040 Mar 03 09:41 setup.py",
      { name: "setup.py", size: 5040, owner: "giampaolo", group: "staff", mode: 0o664 },
    ],
    [
      "name with spaces",
      "-rw-r--r--    1 1000     1000            5 Nov 26 10:15 my  file name.txt ",
      { name: "my  file name.txt ", size: 5 },
    ],
    [
      "name that looks like a date",
      "-rw-r--r-- 1 ftp ftp 5 Nov 26 10:15 x 12 Jan 01 2020 y",
      { name: "x 12 Jan 01 2020 y", size: 5, mtime: utc("2026-11-26T10:15:00") },
    ],
    [
      "symlink",
      "lrwxrwxrwx    1 0        0               7 Nov 26 10:15 bin -> usr/bin",
      { name: "bin", type: "link", target: "usr/bin", size: 7, mode: 0o777 },
    ],
    [
      "character device",
      "crw-rw-rw-    1 0        0          1,   3 Nov 26 10:15 null",
      { name: "null", type: "other", size: 0, mode: 0o666 },
    ],
    [
      "no group column",
      "-rw-r--r--   1 owner     1234 Nov 26 10:15 nogroup",
      { name: "nogroup", size: 1234, nlink: 1, owner: "owner" },
    ],
    [
      "ACL marker and special bits",
      "drwxrwsr-t+  3 root staff 96 Nov 26 10:15 shared",
      { name: "shared", type: "dir", mode: 0o3775, nlink: 3 },
    ],
    [
      "long-iso time style",
      "-rw-r--r-- 1 ftp ftp 42 2024-01-02 03:04 iso.txt",
      { name: "iso.txt", size: 42, mtime: utc("2024-01-02T03:04:00") },
    ],
    ["dot", "drwxr-xr-x 2 ftp ftp 4096 Nov 26 10:15 .", { name: ".", type: "dir" }],
    ["dotdot", "drwxr-xr-x 2 ftp ftp 4096 Nov 26 10:15 ..", { name: "..", type: "dir" }],
    [
      "CRLF",
      "-rw-r--r-- 1 ftp ftp 1 Nov 26 10:15 crlf\r\n",
      { name: "crlf", size: 1 },
    ],
    [
      "IIS directory",
      "11-26-26  10:15AM       <DIR>          my dir",
      { name: "my dir", type: "dir", size: 0, mtime: utc("2026-11-26T10:15:00") },
    ],
    [
      "IIS file",
      "11-26-26  12:05PM                 1234 file name.txt",
      { name: "file name.txt", type: "file", size: 1234, mtime: utc("2026-11-26T12:05:00") },
    ],
    [
      "IIS midnight, four-digit year",
      "01-02-1999  12:00AM                   10 old.txt",
      { name: "old.txt", size: 10, mtime: utc("1999-01-02T00:00:00") },
    ],
    [
      "MS-DOS 24-hour time",
      "11-26-26  22:15                    7 late.txt",
      { name: "late.txt", size: 7, mtime: utc("2026-11-26T22:15:00") },
    ],
  ];
  for (const [label, line, expected] of cases) {
    const entry = parseListLine(line, NOW);
    assert.ok(entry !== undefined, label);
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(entry[key as keyof ListingEntry], value, `${label}: ${key}`);
    }
  }
});

Deno.test("parseListLine() picks the year of year-less dates relative to now", () => {
  const mtime = (line: string, now: Date) => parseListLine(line, now)?.mtime.toISOString();
  const line = (date: string) => `-rw-r--r-- 1 ftp ftp 0 ${date} f`;
  assert.equal(mtime(line("Nov 26 10:15"), NOW), "2026-11-26T10:15:00.000Z");
  assert.equal(mtime(line("Nov 28 11:00"), NOW), "2026-11-28T11:00:00.000Z");
  assert.equal(mtime(line("Dec 31 23:59"), NOW), "2025-12-31T23:59:00.000Z");
  assert.equal(
    mtime(line("Jan  1 00:00"), new Date("2026-12-31T12:00:00Z")),
    "2027-01-01T00:00:00.000Z",
  );
  assert.equal(mtime(line("Feb 29 10:00"), NOW), "2024-02-29T10:00:00.000Z");
});

Deno.test("parseListLine() returns undefined for total lines and garbage", () => {
  for (
    const line of [
      "total 8",
      "total 0",
      "",
      "hello world",
      "-rw-r--r-- 1 ftp ftp 1 Foo 26 10:15 bad-month",
      "-rw-r--r-- 1 ftp ftp 1 Nov 32 10:15 bad-day",
      "-rw-r--r-- 1 ftp ftp 1 Nov 26 25:15 bad-hour",
      "13-26-26  10:15AM       <DIR>          bad-month",
      "11-26-26  13:15PM       <DIR>          bad-hour",
    ]
  ) {
    assert.equal(parseListLine(line, NOW), undefined, line);
  }
});

Deno.test("formatListLine() round-trips through parseListLine()", () => {
  const entries: ListingEntry[] = [
    { name: "a b  c.txt", type: "file", size: 99, mtime: utc("2026-11-26T10:15:00") },
    { name: "old", type: "dir", size: 4096, mtime: utc("2019-07-04T00:00:00"), mode: 0o700 },
    {
      name: "ln",
      type: "link",
      size: 3,
      mtime: utc("2026-10-01T01:02:00"),
      target: "a b",
      mode: 0o777,
    },
    {
      name: " leading",
      type: "file",
      size: 0,
      mtime: utc("2026-11-27T00:00:00"),
      mode: 0o2755,
      nlink: 5,
      owner: "bob",
      group: "wheel",
    },
  ];
  for (const entry of entries) {
    const expected = { nlink: 1, owner: "ftp", group: "ftp", ...entry };
    expected.mode ??= entry.type === "dir" ? 0o755 : 0o644;
    assert.deepEqual(parseListLine(formatListLine(entry, NOW), NOW), expected, entry.name);
  }
});

Deno.test("MLST_FACTS lists the supported facts in order", () => {
  assert.deepEqual(MLST_FACTS, ["type", "size", "modify", "perm", "unix.mode", "unique"]);
});

Deno.test("formatMlsxFacts() writes enabled facts in order, then one space and the name", () => {
  const file: ListingEntry = {
    name: "a b.txt",
    type: "file",
    size: 10,
    mtime: utc("2026-11-26T10:15:00"),
  };
  const dir: ListingEntry = {
    name: "sub",
    type: "dir",
    size: 4096,
    mtime: utc("2026-11-26T10:15:00"),
    mode: 0o750,
  };
  const all = new Set(MLST_FACTS);
  assert.equal(
    formatMlsxFacts(file, { facts: all, perm: "adfrw", unique: "802U1" }),
    "type=file;size=10;modify=20261126101500;perm=adfrw;unix.mode=0644;unique=802U1; a b.txt",
  );
  assert.equal(
    formatMlsxFacts(file, { facts: all }),
    "type=file;size=10;modify=20261126101500;unix.mode=0644; a b.txt",
  );
  assert.equal(
    formatMlsxFacts(dir, { facts: all, perm: "flcdmpe" }),
    "type=dir;modify=20261126101500;perm=flcdmpe;unix.mode=0750; sub",
  );
  assert.equal(
    formatMlsxFacts({ ...dir, name: "." }, { facts: new Set(["type"]), typeOverride: "cdir" }),
    "type=cdir; .",
  );
  assert.equal(
    formatMlsxFacts(file, { facts: new Set(["size", "type"]), typeOverride: "pdir" }),
    "type=pdir; a b.txt",
  );
  assert.equal(formatMlsxFacts(file, { facts: new Set() }), " a b.txt");
  assert.equal(
    formatMlsxFacts(
      { name: "l", type: "link", size: 1, mtime: utc("2026-11-26T10:15:00"), target: "/t" },
      { facts: new Set(["type", "size"]) },
    ),
    "type=OS.unix=slink:/t; l",
  );
});

Deno.test("formatFeatMlst() stars the enabled facts", () => {
  assert.equal(
    formatFeatMlst(new Set(["type", "size", "modify", "perm"])),
    "type*;size*;modify*;perm*;unix.mode;unique;",
  );
  assert.equal(formatFeatMlst(new Set()), "type;size;modify;perm;unix.mode;unique;");
  assert.equal(
    formatFeatMlst(new Set(MLST_FACTS)),
    "type*;size*;modify*;perm*;unix.mode*;unique*;",
  );
});

Deno.test("parseMlsxLine() reads facts and names from real servers", () => {
  const cases: [string, Partial<ListingEntry>, [string, string][]][] = [
    [
      "Type=file;Size=1830;Modify=19940916055648;Perm=r; hatch.c",
      { name: "hatch.c", type: "file", size: 1830, mtime: utc("1994-09-16T05:56:48") },
      [["type", "file"], ["perm", "r"]],
    ],
    [
      " Type=file;Size=1024990;Perm=r; /tmp/cap60.pl198.tar.gz",
      { name: "/tmp/cap60.pl198.tar.gz", size: 1024990 },
      [["size", "1024990"]],
    ],
    [
      "type=cdir;sizd=4096;modify=20261126101500;UNIX.mode=0755;UNIX.uid=0; .",
      { name: ".", type: "dir", size: 4096, mode: 0o755 },
      [["unix.mode", "0755"], ["unix.uid", "0"]],
    ],
    [
      "type=pdir;modify=20261126101500; ..",
      { name: "..", type: "dir" },
      [],
    ],
    [
      "modify=20261126101500.123;perm=adfrw;size=5;type=file;unique=803U1;UNIX.group=100;" +
      "UNIX.groupname=users;UNIX.mode=0644;UNIX.owner=1000;UNIX.ownername=alice; a;b c.txt\r\n",
      {
        name: "a;b c.txt",
        size: 5,
        mtime: new Date("2026-11-26T10:15:00.123Z"),
        mode: 0o644,
        owner: "alice",
        group: "users",
      },
      [["unique", "803U1"], ["unix.owner", "1000"]],
    ],
    [
      "Type=OS.unix=slink:/foobar;Perm=;Unique=keVO1+4G4; foobar",
      { name: "foobar", type: "link", target: "/foobar" },
      [["perm", ""], ["type", "OS.unix=slink:/foobar"]],
    ],
    [
      "Type=OS.unix=chr-13/29;Perm=;Unique=keVO1+5G4; device",
      { name: "device", type: "other", size: 0, mtime: new Date(0) },
      [],
    ],
    [
      "type=file;modify=garbage; f",
      { name: "f", mtime: new Date(0) },
      [["modify", "garbage"]],
    ],
  ];
  for (const [line, expected, facts] of cases) {
    const parsed = parseMlsxLine(line);
    assert.equal(parsed.name, parsed.entry.name, line);
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(parsed.entry[key as keyof ListingEntry], value, `${line}: ${key}`);
    }
    for (const [key, value] of facts) assert.equal(parsed.facts.get(key), value, `${line}: ${key}`);
  }
});

Deno.test("parseMlsxLine() throws SyntaxError without a facts separator", () => {
  for (const line of ["", "name", "type=file name", "type=file;size=1 x; y", "noequals; x"]) {
    assert.throws(() => parseMlsxLine(line), SyntaxError, line);
  }
});

Deno.test("formatMlsxFacts() round-trips through parseMlsxLine()", () => {
  const entries: ListingEntry[] = [
    { name: "sp ace;semi", type: "file", size: 77, mtime: utc("2026-01-02T03:04:05"), mode: 0o600 },
    { name: "d", type: "dir", size: 0, mtime: utc("2000-02-29T23:59:59"), mode: 0o755 },
  ];
  for (const entry of entries) {
    const line = formatMlsxFacts(entry, { facts: new Set(MLST_FACTS), perm: "r" });
    assert.deepEqual(parseMlsxLine(line).entry, entry, line);
    assert.deepEqual(parseMlsxLine(` ${line}`).entry, entry, line);
  }
});

Deno.test("formatMlsxTime() writes YYYYMMDDHHMMSS in UTC", () => {
  assert.equal(formatMlsxTime(utc("2026-11-26T10:15:00")), "20261126101500");
  assert.equal(formatMlsxTime(new Date("2026-01-02T03:04:05.999+02:00")), "20260102010405");
  assert.equal(formatMlsxTime(utc("0999-12-31T23:59:59")), "09991231235959");
  assert.throws(() => formatMlsxTime(new Date(NaN)), RangeError);
  assert.throws(() => formatMlsxTime(utc("+010000-01-01T00:00:00")), RangeError);
});

Deno.test("parseMlsxTime() reads time-vals with optional fractions", () => {
  const cases: [string, string][] = [
    ["20261126101500", "2026-11-26T10:15:00.000Z"],
    ["20261126101500.5", "2026-11-26T10:15:00.500Z"],
    ["20261126101500.123456", "2026-11-26T10:15:00.123Z"],
    ["00500101000000", "0050-01-01T00:00:00.000Z"],
    ["20240229235959", "2024-02-29T23:59:59.000Z"],
    ["20161231235960", "2017-01-01T00:00:00.000Z"],
  ];
  for (const [text, iso] of cases) assert.equal(parseMlsxTime(text).toISOString(), iso, text);
  const now = utc("2026-11-26T10:15:00");
  assert.deepEqual(parseMlsxTime(formatMlsxTime(now)), now);
});

Deno.test("parseMlsxTime() throws SyntaxError on bad input", () => {
  for (
    const text of [
      "",
      "2026112610150",
      "202611261015000",
      "20261126101500.",
      "20261126 101500",
      "20261326101500",
      "20260026101500",
      "20261100101500",
      "20260230101500",
      "20250229101500",
      "20261126241500",
      "20261126106000",
      "20261126101561",
      "x0261126101500",
    ]
  ) {
    assert.throws(() => parseMlsxTime(text), SyntaxError, text);
  }
});

Deno.test("parseOptsMlst() keeps the known facts, case-insensitively", () => {
  assert.deepEqual(parseOptsMlst("type;size;"), new Set(["type", "size"]));
  assert.deepEqual(
    parseOptsMlst("Type;UNIX.mode;Perm;X.hidden;"),
    new Set(["type", "unix.mode", "perm"]),
  );
  assert.deepEqual(parseOptsMlst("modify"), new Set(["modify"]));
  assert.deepEqual(parseOptsMlst(""), new Set());
  assert.deepEqual(parseOptsMlst(";;bogus;"), new Set());
});
