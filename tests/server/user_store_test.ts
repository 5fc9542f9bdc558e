import assert from "node:assert/strict";
import { join } from "node:path";
import {
  Authenticator,
  CredentialsFileStore,
  formatCredentials,
  hashPassword,
  MemoryUserStore,
  parseCredentials,
  parseUserSetting,
  UserExistsError,
  UserNotFoundError,
  type UserRecord,
  type UserStore,
} from "../../server/auth/mod.ts";

const hash = await hashPassword("pw", { cost: 1024 });

Deno.test("a credentials file of an earlier version (no settings) reads unchanged", () => {
  const text = `# old header\nalice:${hash}:/a:b:elr\n\nbob:${hash}:/:elradfmwMT\n`;
  const users = parseCredentials(text);
  assert.deepEqual(users, [
    { name: "alice", passwordHash: hash, home: "/a:b", permissions: "elr" },
    { name: "bob", passwordHash: hash, home: "/", permissions: "elradfmwMT" },
  ]);
  assert.equal(formatCredentials(users, "old header"), text.replace("\n\n", "\n"));
});

Deno.test("per-user settings round-trip through the credentials file, readable", () => {
  const alice: UserRecord = {
    name: "alice",
    passwordHash: hash,
    home: "/alice",
    permissions: "elrw",
    settings: {
      quotaSize: 10 * 2 ** 30,
      quotaFiles: 5000,
      uploadRate: 1536 * 1024,
      downloadRate: 1000,
      maxSessions: 2,
      allowFrom: ["10.0.0.0/8", "2001:db8::/32"],
      denyFrom: ["10.1.2.3/32"],
    },
  };
  const bob: UserRecord = { name: "bob", passwordHash: hash, home: "/", permissions: "elr" };
  const text = formatCredentials([alice, bob], "");
  assert.equal(
    text,
    `alice:${hash}:/alice:elrw\n` +
      "    quota_size = 10G\n    quota_files = 5000\n    upload_rate = 1536K\n" +
      "    download_rate = 1000\n    max_sessions = 2\n" +
      "    allow_from = 10.0.0.0/8, 2001:db8::/32\n    deny_from = 10.1.2.3/32\n" +
      `bob:${hash}:/:elr\n`,
  );
  assert.deepEqual(parseCredentials(text), [alice, bob]);
});

Deno.test("settings accept units and bare addresses, and reject what they cannot read", () => {
  assert.deepEqual(parseUserSetting({}, "upload_rate", "2 MiB"), { uploadRate: 2 * 2 ** 20 });
  assert.deepEqual(parseUserSetting({}, "deny_from", "192.168.0.1, ::1"), {
    denyFrom: ["192.168.0.1/32", "::1/128"],
  });
  const bad: [string, RegExp][] = [
    [`    quota_size = 1G\nalice:${hash}:/:elr\n`, /line 1: an indented setting must follow/],
    [`alice:${hash}:/:elr\n  speed = 3\n`, /line 2: unknown setting "speed"/],
    [`alice:${hash}:/:elr\n  quota_files = 3K\n`, /line 2: invalid value "3K" for quota_files/],
    [
      `alice:${hash}:/:elr\n  allow_from = 10.0.0.0/33\n`,
      /line 2: invalid CIDR block.*prefix length/,
    ],
    [`alice:${hash}:/:elr\n  allow_from = 10.1.2.3/8\n`, /line 2: invalid CIDR block.*host bits/],
    [`alice:${hash}:/:elr\n  allow_from = nowhere\n`, /line 2: invalid CIDR block/],
    [`alice:${hash}:/:elr\n  max_sessions = 1\n  max_sessions = 2\n`, /line 3: .*repeated/],
    [`alice:${hash}:/:elr\n  max_sessions 1\n`, /line 2: expected key = value/],
  ];
  for (const [text, reason] of bad) assert.throws(() => parseCredentials(text), reason);
});

/** The same contract, checked on every store. */
async function exerciseStore(store: UserStore): Promise<void> {
  const carol: UserRecord = { name: "carol", passwordHash: hash, home: "/c", permissions: "elr" };
  assert.equal(await store.lookup("carol"), undefined);
  await store.add(carol);
  assert.deepEqual(await store.lookup("carol"), carol);
  await assert.rejects(store.add(carol), UserExistsError);
  const limited = { ...carol, settings: { maxSessions: 1 } };
  await store.update(limited);
  assert.deepEqual(await store.lookup("carol"), limited);
  await assert.rejects(store.update({ ...carol, name: "nobody" }), UserNotFoundError);
  assert.deepEqual((await store.list()).map((user) => user.name), ["carol"]);
  await store.remove("carol");
  await assert.rejects(store.remove("carol"), UserNotFoundError);
  assert.deepEqual(await store.list(), []);
  await store.close();
}

Deno.test("MemoryUserStore keeps the UserStore contract", async () => {
  await exerciseStore(new MemoryUserStore());
});

Deno.test("CredentialsFileStore keeps the contract and writes the file it reads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "credentials.txt");
    await exerciseStore(await CredentialsFileStore.open(path, { missingOk: true }));
    const store = await CredentialsFileStore.open(path);
    await store.add({
      name: "dave",
      passwordHash: hash,
      home: "/",
      permissions: "elr",
      settings: { downloadRate: 2 ** 20 },
    });
    const text = await Deno.readTextFile(path);
    assert.match(text, /^# ferry credentials file/);
    assert.match(text, /\ndave:.*:\/:elr\n {4}download_rate = 1M\n$/);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const again = await CredentialsFileStore.open(path);
    assert.deepEqual((await again.lookup("dave"))?.settings, { downloadRate: 2 ** 20 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Authenticator checks logins against any UserStore, settings included", async () => {
  const store = new MemoryUserStore([{
    name: "erin",
    passwordHash: hash,
    home: "/",
    permissions: "elr",
    settings: { uploadRate: 100 },
  }]);
  const auth = new Authenticator(store);
  assert.deepEqual((await auth.authenticate("erin", "pw"))?.settings, { uploadRate: 100 });
  assert.equal(await auth.authenticate("erin", "nope"), null);
  await store.add({ name: "frank", passwordHash: hash, home: "/", permissions: "" });
  assert.equal((await auth.authenticate("frank", "pw"))?.name, "frank");
});
