/**
 * `ferry user add|set|show|quota-scan` with per-user settings: the logic,
 * and the real CLI through `deno run main.ts`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseCredentials } from "../../server/auth/mod.ts";
import {
  addUser,
  formatUserReport,
  settingChanges,
  setUser,
  showUser,
  UserCommandError,
} from "../../server/cli/user_command.ts";
import { runProgram } from "../helpers/run_program.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const KiB = 1024;

Deno.test("settingChanges reads the flags: sizes with units, repeated networks, --no-… clears", () => {
  assert.deepEqual(
    settingChanges({
      quotaSize: "10G",
      quotaFiles: "5000",
      uploadRate: "2M",
      allowFrom: ["10.0.0.0/8", "2001:db8::/32"],
      denyFrom: [],
      downloadRate: false,
    }),
    {
      set: {
        quotaSize: 10 * 2 ** 30,
        quotaFiles: 5000,
        uploadRate: 2 * 2 ** 20,
        allowFrom: ["10.0.0.0/8", "2001:db8::/32"],
      },
      clear: ["downloadRate"],
    },
  );
  assert.deepEqual(settingChanges({ quota: false }).clear, ["quotaSize", "quotaFiles"]);
  assert.throws(() => settingChanges({ quotaFiles: "3K" }), UserCommandError);
  assert.throws(() => settingChanges({ allowFrom: ["10.1.2.3/8"] }), UserCommandError);
});

Deno.test("add with settings, set changes and clears, show counts the home's usage", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const credentials = join(dir, "credentials.txt");
    const options = { credentials, cost: 1024 };
    await addUser("carol", "pw", {
      ...options,
      home: "/carol",
      settings: settingChanges({ quotaSize: "1M", maxSessions: "2" }).set,
    });
    let record = await setUser(
      "carol",
      settingChanges({ downloadRate: "4M", maxSessions: false }),
      options,
    );
    assert.deepEqual(record.settings, { quotaSize: 2 ** 20, downloadRate: 4 * 2 ** 20 });
    assert.deepEqual(
      parseCredentials(await Deno.readTextFile(credentials))[0]!.settings,
      record.settings,
    );
    record = await setUser("carol", settingChanges({ quota: false, downloadRate: false }), {
      ...options,
      perms: "elr",
    });
    assert.equal(record.settings, undefined, "no settings left: none written");
    assert.equal(record.permissions, "elr");
    await Deno.mkdir(join(dir, "srv/carol/sub"), { recursive: true });
    await Deno.writeFile(join(dir, "srv/carol/a"), new Uint8Array(3 * KiB));
    await Deno.writeFile(join(dir, "srv/carol/sub/b"), new Uint8Array(KiB));
    const report = await showUser("carol", { credentials, root: join(dir, "srv") });
    assert.deepEqual(report.usage, { bytes: 4 * KiB, files: 2 });
    assert.match(formatUserReport(report), /usage 4096 bytes, 2 files\nquota_size unlimited/);
    await assert.rejects(setUser("nobody", settingChanges({}), options), /does not exist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the CLI: user add --quota-size, set --no-quota, show --json, quota-scan", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const credentials = join(dir, "credentials.txt");
    const ferry = (args: string[], stdin?: string) =>
      runProgram("deno", ["run", "-A", MAIN, "user", ...args, "--credentials", credentials], {
        ...(stdin === undefined ? {} : { stdin }),
        cwd: dir,
      });
    let result = await ferry([
      "add",
      "dave",
      "--password-stdin",
      "--home",
      "/dave",
      "--quota-size",
      "10G",
      "--upload-rate",
      "2M",
      "--allow-from",
      "10.0.0.0/8",
      "--allow-from",
      "127.0.0.1",
    ], "davepw\n");
    assert.equal(result.code, 0, result.stderr);
    result = await ferry(["set", "dave", "--no-quota", "--max-sessions", "3"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /next SIGHUP/);
    await Deno.mkdir(join(dir, "srv/dave"), { recursive: true });
    await Deno.writeTextFile(join(dir, "srv/dave/f"), "12345");
    result = await ferry(["show", "dave", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      name: "dave",
      home: "/dave",
      permissions: "elradfmwMT",
      settings: {
        uploadRate: 2 * 2 ** 20,
        maxSessions: 3,
        allowFrom: ["10.0.0.0/8", "127.0.0.1/32"],
      },
      usage: { bytes: 5, files: 1 },
    });
    result = await ferry(["quota-scan", "dave"]);
    assert.match(result.stdout, /dave: 5 bytes in 1 files under \/dave/);
    result = await ferry(["set", "dave", "--quota-files", "lots"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /quota_files/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
