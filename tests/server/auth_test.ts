import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Authenticator,
  checkUserName,
  formatCredentials,
  hashPassword,
  normalizeHome,
  parseCredentials,
  parsePermissions,
  PERMISSION_LETTERS,
  READ_ONLY_PERMISSIONS,
  type UserRecord,
  verifyPassword,
} from "../../server/auth/mod.ts";

/** A low scrypt cost keeps the tests fast; verification reads N from the hash. */
const COST = 1024;

async function user(
  name: string,
  password: string,
  extra: Partial<UserRecord> = {},
): Promise<UserRecord> {
  return {
    name,
    passwordHash: await hashPassword(password, { cost: COST }),
    home: "/",
    permissions: PERMISSION_LETTERS,
    ...extra,
  };
}

Deno.test("parsePermissions() returns the letters deduplicated in canonical order", () => {
  assert.equal(parsePermissions("wrle"), "elrw");
  assert.equal(parsePermissions("TMwmfdarle"), PERMISSION_LETTERS);
  assert.equal(parsePermissions("rrrlle"), READ_ONLY_PERMISSIONS);
  assert.equal(parsePermissions(""), "");
});

Deno.test("parsePermissions() rejects an unknown letter and names it", () => {
  assert.throws(() => parsePermissions("elrx"), (error: unknown) => {
    assert.ok(error instanceof RangeError);
    assert.match(error.message, /"x"/);
    return true;
  });
  assert.throws(() => parsePermissions("E"), RangeError);
  assert.throws(() => parsePermissions("e l"), RangeError);
});

Deno.test("normalizeHome() normalizes to a rooted path without climbing out", () => {
  assert.equal(normalizeHome("/"), "/");
  assert.equal(normalizeHome("pub"), "/pub");
  assert.equal(normalizeHome("//pub/./incoming/"), "/pub/incoming");
  assert.equal(normalizeHome("/a/../b"), "/b");
  assert.equal(normalizeHome("/a/.."), "/");
  assert.throws(() => normalizeHome("/../etc"), RangeError);
  assert.throws(() => normalizeHome("/a/../../etc"), RangeError);
  assert.throws(() => normalizeHome(".."), RangeError);
  assert.throws(() => normalizeHome(""), RangeError);
  assert.throws(() => normalizeHome("/a\nb"), RangeError);
});

Deno.test("checkUserName() accepts the allowed characters and rejects reserved names", () => {
  checkUserName("alice.b_c-d@example.org");
  checkUserName("a".repeat(64));
  assert.throws(() => checkUserName(""), RangeError);
  assert.throws(() => checkUserName("a".repeat(65)), RangeError);
  assert.throws(() => checkUserName("al ice"), RangeError);
  assert.throws(() => checkUserName("al:ice"), RangeError);
  assert.throws(() => checkUserName("Anonymous"), /reserved/);
  assert.throws(() => checkUserName("FTP"), /reserved/);
});

Deno.test("hashPassword() makes a self-describing salted scrypt hash", async () => {
  const hash = await hashPassword("s3cret", { cost: COST });
  assert.match(hash, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
  assert.ok(!hash.includes("s3cret"));
  assert.notEqual(await hashPassword("s3cret", { cost: COST }), hash);
});

Deno.test("hashPassword() uses N=16384 by default", async () => {
  assert.match(await hashPassword("x"), /^scrypt\$16384\$8\$1\$/);
});

Deno.test("hashPassword() rejects a cost that is not a power of two", async () => {
  await assert.rejects(hashPassword("x", { cost: 1000 }), RangeError);
  await assert.rejects(hashPassword("x", { cost: 1 }), RangeError);
});

Deno.test("verifyPassword() accepts the right password and rejects a wrong one", async () => {
  const hash = await hashPassword("correct horse", { cost: COST });
  assert.equal(await verifyPassword("correct horse", hash), true);
  assert.equal(await verifyPassword("correct horse ", hash), false);
  assert.equal(await verifyPassword("", hash), false);
});

Deno.test("verifyPassword() handles non-ASCII passwords", async () => {
  const hash = await hashPassword("pässwörd🔑", { cost: COST });
  assert.equal(await verifyPassword("pässwörd🔑", hash), true);
  assert.equal(await verifyPassword("passwort🔑", hash), false);
});

Deno.test("verifyPassword() works with any parameters read from the hash", async () => {
  for (const cost of [2, 256, 4096]) {
    assert.equal(await verifyPassword("x", await hashPassword("x", { cost })), true);
  }
  // A hash from elsewhere with r=4, p=2 and a 64-byte key.
  const { scryptSync } = await import("node:crypto");
  const salt = new Uint8Array(16).fill(7);
  const key = scryptSync("other", salt, 64, { N: 512, r: 4, p: 2 });
  const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
  const hash = `scrypt$512$4$2$${b64(salt)}$${b64(new Uint8Array(key))}`;
  assert.equal(await verifyPassword("other", hash), true);
  assert.equal(await verifyPassword("wrong", hash), false);
});

Deno.test("verifyPassword() returns false on a malformed hash instead of throwing", async () => {
  const good = await hashPassword("x", { cost: COST });
  const parts = good.split("$");
  const malformed = [
    "",
    "x",
    "plain-text-password",
    good.replace("scrypt", "bcrypt"),
    `${good}$extra`,
    parts.slice(0, 5).join("$"),
    good.replace("$1024$", "$1000$"), // N not a power of two
    good.replace("$1024$", "$0$"),
    good.replace("$1024$", "$1073741824$"), // N too large
    good.replace("$1024$", "$-1024$"),
    good.replace("$8$1$", "$0$1$"),
    good.replace("$8$1$", "$8$0$"),
    [...parts.slice(0, 4), "!!!", parts[5]].join("$"), // salt not base64
    [...parts.slice(0, 5), "AAAA"].join("$"), // key too short
  ];
  for (const hash of malformed) {
    assert.equal(await verifyPassword("x", hash), false, hash);
  }
});

Deno.test("parseCredentials() and formatCredentials() round-trip", async () => {
  const users = [
    await user("alice", "a", { home: "/alice", permissions: "elr" }),
    await user("bob@example.org", "b", { home: "/shared/bob", permissions: "elradfmw" }),
    await user("carol", "c", { home: "/odd:name", permissions: "" }),
  ];
  const text = formatCredentials(users);
  assert.match(text, /^# /);
  assert.ok(text.endsWith("\n"));
  assert.deepEqual(parseCredentials(text), users);
  assert.deepEqual(parseCredentials(formatCredentials(users, "")), users);
  assert.equal(formatCredentials([], ""), "");
});

Deno.test("formatCredentials() writes a custom header as comments", async () => {
  const text = formatCredentials([await user("alice", "a")], "Line one\n\nLine three");
  assert.match(text, /^# Line one\n#\n# Line three\nalice:scrypt\$/);
});

Deno.test("formatCredentials() rejects invalid records and duplicates", async () => {
  const alice = await user("alice", "a");
  assert.throws(() => formatCredentials([alice, alice]), /Duplicate/);
  assert.throws(() => formatCredentials([{ ...alice, name: "a:b" }]), RangeError);
  assert.throws(() => formatCredentials([{ ...alice, permissions: "z" }]), RangeError);
  assert.throws(() => formatCredentials([{ ...alice, passwordHash: "secret" }]), RangeError);
});

Deno.test("parseCredentials() ignores comments, blank lines and CRLF, and normalizes", async () => {
  const hash = await hashPassword("x", { cost: COST });
  const text = `# comment\n\n   \n  # indented comment\r\nalice:${hash}:pub/./in/:wrle\r\n`;
  assert.deepEqual(parseCredentials(text), [
    { name: "alice", passwordHash: hash, home: "/pub/in", permissions: "elrw" },
  ]);
});

Deno.test("parseCredentials() reports the line number of a bad line", async () => {
  const hash = await hashPassword("x", { cost: COST });
  const cases: [string, RegExp][] = [
    [`alice:${hash}:/`, /fields/],
    [`alice:${hash}:/:elrx`, /"x"/],
    [`alice:not-a-hash:/:elr`, /hash/],
    [`al ice:${hash}:/:elr`, /user name/],
    [`:${hash}:/:elr`, /user name/],
    [`anonymous:${hash}:/:elr`, /reserved/],
    [`Ftp:${hash}:/:elr`, /reserved/],
    [`alice:${hash}:/../etc:elr`, /climbs above/],
    [`alice:${hash}::elr`, /empty/],
    [`alice:${hash}:/:elr\nalice:${hash}:/:elr`, /duplicate user "alice"/],
  ];
  for (const [bad, reason] of cases) {
    const text = `# header\n\nok:${hash}:/:elr\n${bad}\n`;
    const lineNumber = bad.includes("\n") ? 5 : 4;
    assert.throws(() => parseCredentials(text), (error: unknown) => {
      assert.ok(error instanceof SyntaxError, bad);
      assert.ok(
        error.message.startsWith(`Cannot parse credentials line ${lineNumber}: `),
        error.message,
      );
      assert.match(error.message, reason);
      return true;
    });
  }
});

Deno.test("Authenticator.authenticate() accepts the right password only", async () => {
  const alice = await user("alice", "s3cret", { home: "/alice", permissions: "elr" });
  const auth = new Authenticator([alice]);
  assert.deepEqual(await auth.authenticate("alice", "s3cret"), alice);
  assert.equal(await auth.authenticate("alice", "wrong"), null);
  assert.equal(await auth.authenticate("Alice", "s3cret"), null);
  assert.equal(await auth.authenticate("bob", "s3cret"), null);
});

Deno.test("Authenticator rejects duplicate and invalid users", async () => {
  const alice = await user("alice", "a");
  assert.throws(() => new Authenticator([alice, alice]), /Duplicate/);
  assert.throws(() => new Authenticator([{ ...alice, name: "ftp" }]), /reserved/);
});

Deno.test("Authenticator lets anonymous users in read-only with any password", async () => {
  const auth = new Authenticator([await user("alice", "a")], { anonymous: { home: "pub/" } });
  for (const name of ["anonymous", "ANONYMOUS", "ftp", "Ftp"]) {
    assert.equal(auth.isAnonymousName(name), true);
    assert.deepEqual(await auth.authenticate(name, "me@example.org"), {
      name: "anonymous",
      passwordHash: "",
      home: "/pub",
      permissions: READ_ONLY_PERMISSIONS,
    });
  }
  assert.deepEqual((await auth.authenticate("ftp", ""))?.permissions, "elr");
  assert.equal(auth.isAnonymousName("alice"), false);
});

Deno.test("Authenticator refuses anonymous users unless enabled", async () => {
  const auth = new Authenticator([await user("alice", "a")]);
  assert.equal(auth.isAnonymousName("anonymous"), false);
  assert.equal(await auth.authenticate("anonymous", "me@example.org"), null);
  assert.equal(await auth.authenticate("ftp", ""), null);
});

Deno.test("Authenticator.authenticate() spends comparable time on unknown users", async () => {
  // A cost high enough that scrypt dominates the timing noise.
  const cost = 4096;
  const alice = { ...(await user("alice", "a")), passwordHash: await hashPassword("a", { cost }) };
  const auth = new Authenticator([alice]);
  const time = async (name: string): Promise<number> => {
    const start = performance.now();
    assert.equal(await auth.authenticate(name, "wrong"), null);
    return performance.now() - start;
  };
  await time("alice");
  await time("nobody"); // warm up
  const known: number[] = [];
  const unknown: number[] = [];
  for (let run = 0; run < 5; run++) {
    known.push(await time("alice"));
    unknown.push(await time("nobody"));
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[2] ?? NaN;
  const ratio = median(unknown) / median(known);
  assert.ok(ratio > 0.3 && ratio < 3, `unknown/known time ratio ${ratio.toFixed(2)}`);
});

Deno.test("Authenticator.fromFile() reads a credentials file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "credentials.txt");
    const alice = await user("alice", "a");
    await Deno.writeTextFile(path, formatCredentials([alice]));
    const auth = await Authenticator.fromFile(path, { anonymous: { home: "/" } });
    assert.deepEqual(await auth.authenticate("alice", "a"), alice);
    assert.equal(auth.isAnonymousName("ftp"), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Authenticator.fromFile() throws NotFound for a missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "missing.txt");
    await assert.rejects(Authenticator.fromFile(path), (error: unknown) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      assert.match(error.message, /missing\.txt/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Authenticator.fromFile() throws SyntaxError for a bad file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "credentials.txt");
    await Deno.writeTextFile(path, "# ok\nalice:plain:/:elr\n");
    await assert.rejects(Authenticator.fromFile(path), /Cannot parse credentials line 2/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the shipped credentials.txt has the demo user with password demo", async () => {
  const path = fileURLToPath(new URL("../../credentials.txt", import.meta.url));
  const auth = await Authenticator.fromFile(path);
  const demo = await auth.authenticate("demo", "demo");
  assert.equal(demo?.home, "/");
  assert.equal(demo?.permissions, "elradfmwMT");
});

Deno.test("Authenticator remembers a verified login: the same password logs in again without scrypt", async () => {
  const hash = await hashPassword("correct horse", { cost: 16384 });
  const auth = new Authenticator([{
    name: "carol",
    passwordHash: hash,
    home: "/",
    permissions: "elr",
  }]);
  const timed = async (password: string) => {
    const started = performance.now();
    const user = await auth.authenticate("carol", password);
    return { user, ms: performance.now() - started };
  };
  const first = await timed("correct horse");
  assert.equal(first.user?.name, "carol");
  const again = await timed("correct horse");
  assert.equal(again.user?.name, "carol");
  assert.ok(again.ms < first.ms / 5, `cached ${again.ms} ms vs first ${first.ms} ms`);
  const wrong = await timed("wrong horse");
  assert.equal(wrong.user, null);
  assert.ok(wrong.ms > again.ms * 5, `a wrong password still pays scrypt (${wrong.ms} ms)`);
});

Deno.test("Authenticator verifies simultaneous logins with the same password once", async () => {
  const hash = await hashPassword("same", { cost: 16384 });
  const auth = new Authenticator([{
    name: "dave",
    passwordHash: hash,
    home: "/",
    permissions: "elr",
  }]);
  const started = performance.now();
  const single = await new Authenticator([{
    name: "dave",
    passwordHash: hash,
    home: "/",
    permissions: "elr",
  }])
    .authenticate("dave", "same");
  const one = performance.now() - started;
  assert.equal(single?.name, "dave");
  const begun = performance.now();
  const users = await Promise.all(
    Array.from({ length: 20 }, () => auth.authenticate("dave", "same")),
  );
  const twenty = performance.now() - begun;
  assert.ok(users.every((user) => user?.name === "dave"));
  assert.ok(twenty < one * 4, `20 simultaneous logins took ${twenty} ms, one took ${one} ms`);
});
