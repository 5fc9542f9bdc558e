import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCredentials, verifyPassword } from "../../server/auth/mod.ts";
import {
  addUser,
  changePassword,
  listUsers,
  removeUser,
  UserCommandError,
  type UserCommandOptions,
} from "../../server/cli/user_command.ts";

/** A low scrypt cost keeps the tests fast. */
const COST = 1024;
const MODULE = fileURLToPath(new URL("../../server/cli/user_command.ts", import.meta.url));
const isWindows = Deno.build.os === "windows";

async function withCredentials(
  run: (options: UserCommandOptions, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await run({ credentials: join(dir, "credentials.txt"), cost: COST }, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function rejectsWith(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof UserCommandError, String(error));
    assert.equal(error.name, "UserCommandError");
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("addUser() creates the file with a header, mode 0600 and defaults", async () => {
  await withCredentials(async (options) => {
    const user = await addUser("alice", "s3cret-pw", options);
    assert.equal(user.home, "/");
    assert.equal(user.permissions, "elradfmwMT");
    const text = await Deno.readTextFile(options.credentials);
    assert.match(text, /^# ferry credentials file/);
    assert.ok(!text.includes("s3cret-pw"));
    assert.deepEqual(parseCredentials(text), [user]);
    assert.equal(await verifyPassword("s3cret-pw", user.passwordHash), true);
    if (!isWindows) assert.equal((await Deno.stat(options.credentials)).mode! & 0o777, 0o600);
  });
});

Deno.test("addUser() normalizes the home and the permissions", async () => {
  await withCredentials(async (options) => {
    const user = await addUser("bob", "pw", { ...options, home: "shared/./bob/", perms: "wrle" });
    assert.equal(user.home, "/shared/bob");
    assert.equal(user.permissions, "elrw");
  });
});

Deno.test("addUser() appends to an existing file, keeping its header and mode", async () => {
  await withCredentials(async (options) => {
    await addUser("alice", "a", options);
    const header = "# my own header\n#\n# second paragraph\n";
    const [, ...rest] = (await Deno.readTextFile(options.credentials)).split(/^(?=alice:)/m);
    await Deno.writeTextFile(options.credentials, header + rest.join(""));
    if (!isWindows) await Deno.chmod(options.credentials, 0o640);
    await addUser("bob", "b", options);
    const text = await Deno.readTextFile(options.credentials);
    assert.ok(text.startsWith(header), text);
    assert.deepEqual((await listUsers(options)).map((user) => user.name), ["alice", "bob"]);
    if (!isWindows) assert.equal((await Deno.stat(options.credentials)).mode! & 0o777, 0o640);
  });
});

Deno.test("addUser() rejects an existing user and bad input", async () => {
  await withCredentials(async (options) => {
    await addUser("alice", "a", options);
    const before = await Deno.readTextFile(options.credentials);
    await rejectsWith(addUser("alice", "b", options), /already exists/);
    await rejectsWith(addUser("bob", "", options), /empty/);
    await rejectsWith(addUser("bo b", "b", options), /Invalid user name/);
    await rejectsWith(addUser("anonymous", "b", options), /reserved/);
    await rejectsWith(addUser("bob", "b", { ...options, perms: "elrx" }), /"x"/);
    await rejectsWith(addUser("bob", "b", { ...options, home: "/../etc" }), /climbs above/);
    await rejectsWith(addUser("bob", "b", { ...options, cost: 1000 }), /power of two/);
    assert.equal(await Deno.readTextFile(options.credentials), before);
  });
});

Deno.test("addUser() refuses to rewrite a file it cannot parse", async () => {
  await withCredentials(async (options) => {
    await Deno.writeTextFile(options.credentials, "alice:plain-password:/:elr\n");
    await rejectsWith(addUser("bob", "b", options), /Cannot parse credentials line 1/);
    assert.equal(await Deno.readTextFile(options.credentials), "alice:plain-password:/:elr\n");
  });
});

Deno.test("addUser() leaves no temporary file behind", async () => {
  await withCredentials(async (options, dir) => {
    await addUser("alice", "a", options);
    await addUser("bob", "b", options);
    await removeUser("alice", options);
    const names = await Array.fromAsync(Deno.readDir(dir), (entry) => entry.name);
    assert.deepEqual(names, ["credentials.txt"]);
  });
});

Deno.test("addUser() writes through a symlink instead of replacing it", {
  ignore: isWindows,
}, async () => {
  await withCredentials(async (options, dir) => {
    const real = join(dir, "real.txt");
    await addUser("alice", "a", { ...options, credentials: real });
    await Deno.symlink(real, options.credentials);
    await addUser("bob", "b", options);
    assert.ok((await Deno.lstat(options.credentials)).isSymlink);
    assert.equal((await listUsers({ credentials: real })).length, 2);
  });
});

Deno.test("changePassword() replaces only the hash", async () => {
  await withCredentials(async (options) => {
    const alice = await addUser("alice", "old-password", { ...options, home: "/a", perms: "elr" });
    const bob = await addUser("bob", "b", options);
    await changePassword("alice", "new-password", options);
    const [newAlice, newBob] = await listUsers(options);
    assert.deepEqual({ ...newAlice, passwordHash: "" }, { ...alice, passwordHash: "" });
    assert.deepEqual(newBob, bob);
    assert.equal(await verifyPassword("new-password", newAlice!.passwordHash), true);
    assert.equal(await verifyPassword("old-password", newAlice!.passwordHash), false);
    const text = await Deno.readTextFile(options.credentials);
    assert.ok(!text.includes("new-password") && !text.includes("old-password"));
    if (!isWindows) assert.equal((await Deno.stat(options.credentials)).mode! & 0o777, 0o600);
  });
});

Deno.test("changePassword() rejects an unknown user, an empty password, a missing file", async () => {
  await withCredentials(async (options) => {
    await rejectsWith(changePassword("alice", "x", options), /not found/);
    await addUser("alice", "a", options);
    await rejectsWith(changePassword("bob", "x", options), /User "bob" does not exist/);
    await rejectsWith(changePassword("alice", "", options), /empty/);
  });
});

Deno.test("removeUser() removes one user and rejects unknown ones", async () => {
  await withCredentials(async (options) => {
    await rejectsWith(removeUser("alice", options), /not found/);
    await addUser("alice", "a", options);
    await addUser("bob", "b", options);
    await removeUser("alice", options);
    assert.deepEqual((await listUsers(options)).map((user) => user.name), ["bob"]);
    await rejectsWith(removeUser("alice", options), /User "alice" does not exist/);
    await removeUser("bob", options);
    assert.deepEqual(await listUsers(options), []);
    assert.match(await Deno.readTextFile(options.credentials), /^# ferry credentials file/);
  });
});

Deno.test("listUsers() lists users in file order and rejects a missing file", async () => {
  await withCredentials(async (options) => {
    await rejectsWith(listUsers(options), /not found/);
    await addUser("zed", "z", options);
    await addUser("amy", "a", { ...options, home: "/amy", perms: "elr" });
    const users = await listUsers(options);
    assert.deepEqual(users.map(({ name, home, permissions }) => ({ name, home, permissions })), [
      { name: "zed", home: "/", permissions: "elradfmwMT" },
      { name: "amy", home: "/amy", permissions: "elr" },
    ]);
  });
});

/** Runs readPassword() in a child process with the given stdin; returns its outcome. */
async function readPasswordInChild(
  stdin: string,
  options: { stdin: boolean },
): Promise<{ password?: string; error?: string }> {
  const script = `
    import { readPassword } from ${JSON.stringify(MODULE)};
    try {
      console.log(JSON.stringify({ password: await readPassword(${JSON.stringify(options)}) }));
    } catch (error) {
      console.log(JSON.stringify({ error: error.name + ": " + error.message }));
    }`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const output = await child.output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

Deno.test("readPassword() reads stdin and strips one trailing newline", async () => {
  assert.deepEqual(await readPasswordInChild("pw\n", { stdin: true }), { password: "pw" });
  assert.deepEqual(await readPasswordInChild("pw\r\n", { stdin: true }), { password: "pw" });
  assert.deepEqual(await readPasswordInChild("pw", { stdin: true }), { password: "pw" });
  assert.deepEqual(await readPasswordInChild(" a b\n\n", { stdin: true }), { password: " a b\n" });
});

Deno.test("readPassword() rejects an empty password on stdin", async () => {
  for (const input of ["", "\n"]) {
    const { error } = await readPasswordInChild(input, { stdin: true });
    assert.match(error ?? "", /^UserCommandError: Password must not be empty/);
  }
});

Deno.test("readPassword() asks for --password-stdin when stdin is not a terminal", async () => {
  const { error } = await readPasswordInChild("pw\n", { stdin: false });
  assert.match(error ?? "", /^UserCommandError: .*--password-stdin/);
});

/** True if util-linux `script` can give a child process a pseudo-terminal. */
const hasScript = Deno.build.os === "linux" &&
  new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
    .outputSync().success;

/** Runs readPassword() on a pseudo-terminal, typing each chunk after the output shows its cue. */
async function readPasswordOnTerminal(steps: [cue: string, typed: string][]): Promise<string> {
  const script = `
    import { readPassword } from ${JSON.stringify(MODULE)};
    try {
      console.log("RESULT=" + JSON.stringify(await readPassword({ stdin: false })));
    } catch (error) {
      console.log("RESULT=" + error.name + ": " + error.message);
    }`;
  const command = [Deno.execPath(), "eval", "--no-check", script]
    .map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  const decoder = new TextDecoder();
  let output = "";
  const reader = child.stdout.getReader();
  const readUntil = async (cue: string) => {
    while (!output.includes(cue)) {
      const { value, done } = await reader.read();
      if (done) break;
      output += decoder.decode(value, { stream: true });
    }
  };
  for (const [cue, typed] of steps) {
    await readUntil(cue);
    await new Promise((resolve) => setTimeout(resolve, 100)); // let raw mode take effect
    await writer.write(new TextEncoder().encode(typed));
  }
  await readUntil("RESULT=");
  await readUntil("\n");
  await writer.close();
  reader.releaseLock();
  await child.stdout.cancel();
  await child.status;
  return output;
}

Deno.test("readPassword() prompts twice without echo and handles backspace", {
  ignore: !hasScript,
}, async () => {
  const output = await readPasswordOnTerminal([
    ["Password: ", "ab\x7fc\u00e9\x7fd\x1b[A\r"],
    ["Repeat password: ", "acd\r"],
  ]);
  assert.match(output, /RESULT="acd"/);
  assert.ok(!output.includes("acd\r") && !output.includes("abc"), output);
});

Deno.test("readPassword() rejects entries that do not match", { ignore: !hasScript }, async () => {
  const output = await readPasswordOnTerminal([
    ["Password: ", "abc\r"],
    ["Repeat password: ", "abd\r"],
  ]);
  assert.match(output, /RESULT=UserCommandError: Passwords do not match/);
});

Deno.test("readPassword() is cancelled by Ctrl-C", { ignore: !hasScript }, async () => {
  const output = await readPasswordOnTerminal([["Password: ", "ab\x03"]]);
  assert.match(output, /RESULT=UserCommandError: Cancelled/);
});
