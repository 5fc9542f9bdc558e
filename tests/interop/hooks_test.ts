/**
 * Events and hooks over the wire, driven by real clients (python3 ftplib,
 * curl): command hooks and their FERRY_* variables, hostile file names,
 * hanging hooks, webhooks (received, and down), pre-upload and pre-delete
 * vetoes, and a full queue.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseHookFlag } from "../../server/hooks/hook_config.ts";
import type { HookConfig } from "../../server/hooks/hook_config.ts";
import type { HookResult } from "../../server/hooks/hook_stats.ts";
import type { ServerConfig } from "../../server/config.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import { exists, peerTest, run, USER } from "./peers.ts";

const DRIVER = fileURLToPath(new URL("./ftplib_driver.py", import.meta.url));

/** A file name that a shell would run a command from, with quotes, spaces and separators. */
const HOSTILE = `it's a "quoted" name $(touch PWNED) & ; echo $HOME.txt`;
const HOSTILE_TARGET = "renamed `touch PWNED2` 'b'.txt";

/** Writes every FERRY_* variable (and whether FERRY_LOCAL_PATH exists) as one JSON line. */
const RECORDER = `
import json, os, sys
record = {k: v for k, v in os.environ.items() if k.startswith("FERRY_")}
local = record.get("FERRY_LOCAL_PATH", "")
record["localExists"] = os.path.exists(local) if local else None
record["argv"] = sys.argv[2:]
with open(sys.argv[1], "a", encoding="utf-8") as out:
    out.write(json.dumps(record) + "\\n")
`;

type Op = [string, ...(string | number)[]];

interface Scratch {
  dir: string;
  file(name: string): string;
  close(): Promise<void>;
}

async function scratch(): Promise<Scratch> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-hooks-" });
  return {
    dir,
    file: (name) => `${dir}/${name}`,
    close: () => Deno.remove(dir, { recursive: true }),
  };
}

async function serverWith(hooks: HookConfig[], config: Partial<ServerConfig> = {}) {
  return await startTestServer({ config: { hooks, ...config } });
}

/** Runs ftplib operations as alice; returns the driver's report (errors included, not thrown). */
async function ftplib(
  server: TestServer,
  ops: Op[],
  login: { name: string; password: string } = USER,
): Promise<{ results: unknown[]; error?: string }> {
  const spec = {
    host: "127.0.0.1",
    port: server.port,
    user: login.name,
    password: login.password,
    passive: true,
    ops,
  };
  const result = await run("python3", [DRIVER, JSON.stringify(spec)]);
  const last = result.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`ftplib driver printed no report: exit ${result.code}\n${result.stderr}`);
  }
}

/** Waits until `check` holds, polling; fails with `what` after 90 s (a loaded machine starts python slowly). */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function records(file: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(file).catch(() => "");
  // Only whole lines: a hook may be writing its line right now.
  const lines = text.split("\n").slice(0, -1);
  return lines.filter((line) => line !== "").map((line) => JSON.parse(line));
}

function runs(server: TestServer, event: string, result: HookResult): number {
  return server.server.hookStats?.runs(event, result) ?? 0;
}

async function processGone(pid: number): Promise<boolean> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return /^State:\s+Z/m.test(status); // a zombie is dead, only not yet reaped
  } catch {
    return true;
  }
}

peerTest(
  "python3",
  "command hooks get every event in FERRY_* variables, and a name with quotes, spaces and $(…) arrives unharmed with nothing executed",
  async () => {
    const tmp = await scratch();
    const recorder = tmp.file("record.py");
    await Deno.writeTextFile(recorder, RECORDER);
    const out = tmp.file("events.jsonl");
    // One hook from the --hook flag syntax, the same way `ferry serve --hook` reads it.
    const hook = parseHookFlag(`*=python3 ${recorder} ${out} fixed-arg`);
    const server = await serverWith([hook]);
    try {
      const local = tmp.file("upload.bin");
      await Deno.writeTextFile(local, "hello hooks\n");
      const report = await ftplib(server, [["mkd", "box"], ["stor", local, `box/${HOSTILE}`]]);
      assert.equal(report.error, undefined, report.error);
      // Hooks run in the background: the upload's sees the file before the next session moves it.
      await until(() => runs(server, "upload", "ok") === 1, "the upload hook");
      const more = await ftplib(server, [
        ["retr", `box/${HOSTILE}`, tmp.file("back.bin")],
        ["rename", `box/${HOSTILE}`, `box/${HOSTILE_TARGET}`],
        ["delete", `box/${HOSTILE_TARGET}`],
        ["rmd", "box"],
      ]);
      assert.equal(more.error, undefined, more.error);
      const failed = await ftplib(server, [], { name: "alice", password: "not-it" });
      assert.match(failed.error ?? "", /530/);
      const expected = [
        "login",
        "mkdir",
        "upload",
        "logout",
        "login",
        "download",
        "rename",
        "delete",
        "rmdir",
        "logout",
        "login-failed",
      ];
      await until(
        async () => (await records(out)).length >= expected.length,
        "every hook run",
      );
      await until(() => runs(server, "login-failed", "ok") === 1, "the login-failed hook");
      const seen = await records(out);
      assert.deepEqual(
        [...seen.map((record) => record.FERRY_EVENT)].sort(),
        [...expected].sort(),
      );
      const byEvent = (name: string) => seen.find((record) => record.FERRY_EVENT === name)!;
      const upload = byEvent("upload");
      assert.equal(upload.FERRY_PATH, `/box/${HOSTILE}`);
      assert.equal(upload.FERRY_LOCAL_PATH, `${server.root}/box/${HOSTILE}`);
      assert.equal(upload.localExists, true, "FERRY_LOCAL_PATH names the uploaded file");
      assert.equal(upload.FERRY_BYTES, "12");
      assert.equal(upload.FERRY_VERB, "STOR");
      assert.equal(upload.FERRY_STATUS, "ok");
      assert.equal(upload.FERRY_USER, "alice");
      assert.equal(upload.FERRY_PEER, "127.0.0.1");
      assert.match(String(upload.FERRY_PEER_PORT), /^\d+$/);
      assert.match(String(upload.FERRY_DURATION_MS), /^\d+$/);
      assert.deepEqual(upload.argv, ["fixed-arg"]);
      const download = byEvent("download");
      assert.equal(download.FERRY_PATH, `/box/${HOSTILE}`);
      assert.equal(download.FERRY_BYTES, "12");
      const rename = byEvent("rename");
      assert.equal(rename.FERRY_PATH, `/box/${HOSTILE}`);
      assert.equal(rename.FERRY_TARGET, `/box/${HOSTILE_TARGET}`);
      assert.equal(rename.FERRY_LOCAL_TARGET, `${server.root}/box/${HOSTILE_TARGET}`);
      assert.equal(byEvent("delete").FERRY_PATH, `/box/${HOSTILE_TARGET}`);
      assert.equal(byEvent("delete").localExists, false);
      assert.equal(byEvent("mkdir").FERRY_PATH, "/box");
      assert.equal(byEvent("rmdir").FERRY_PATH, "/box");
      assert.equal(byEvent("login-failed").FERRY_STATUS, "failed");
      assert.equal(byEvent("login-failed").FERRY_USER, "alice");
      assert.equal(byEvent("logout").FERRY_USER, "alice");
      // Nothing in the names ran: no file from `touch` anywhere a shell would have made it.
      for (const dir of [Deno.cwd(), server.root, `${server.root}/box`, tmp.dir]) {
        for (const name of ["PWNED", "PWNED2"]) {
          assert.equal(await exists(`${dir}/${name}`), false, `${dir}/${name} was created`);
        }
      }
      assert.equal(runs(server, "upload", "ok"), 1);
    } finally {
      await server.close();
      await tmp.close();
    }
  },
);

peerTest(
  "curl",
  "a hook that hangs is killed at its timeout and counted; sessions go on meanwhile",
  async () => {
    const tmp = await scratch();
    const pidFile = tmp.file("pid");
    const server = await serverWith([{
      events: ["upload"],
      command: ["/bin/sh", "-c", `echo $$ > '${pidFile}'; exec sleep 600`],
      timeoutMs: 1500,
    }]);
    try {
      const local = tmp.file("a.txt");
      await Deno.writeTextFile(local, "a");
      const base = `ftp://${USER.name}:${USER.password}@127.0.0.1:${server.port}`;
      const first = await run("curl", ["-sS", "-T", local, `${base}/first.txt`]);
      assert.equal(first.code, 0, first.stderr);
      await until(() => exists(pidFile), "the hook to start");
      const pid = Number((await Deno.readTextFile(pidFile)).trim());
      await until(async () => !(await processGone(pid)), "the hook process");
      // While it hangs, the server answers: another upload, a listing, a download.
      const second = await run("curl", ["-sS", "-T", local, `${base}/second.txt`]);
      assert.equal(second.code, 0, second.stderr);
      const listing = await run("curl", ["-sS", `${base}/`]);
      assert.equal(listing.code, 0, listing.stderr);
      assert.match(listing.stdout, /first\.txt/);
      assert.match(listing.stdout, /second\.txt/);
      await until(() => runs(server, "upload", "timeout") === 2, "both runs to time out");
      assert.equal(await processGone(pid), true, "the hanging hook was killed");
      assert.ok(
        server.logs.some((line) => /hook-failed .*event=upload .*result=timeout/.test(line)),
        server.logs.join("\n"),
      );
    } finally {
      await server.close();
      await tmp.close();
    }
  },
);

/** A loopback port that nothing listens on (bound, then released). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

peerTest(
  "curl",
  "a webhook whose server is down is logged and counted, and the upload and session are unharmed",
  async () => {
    const tmp = await scratch();
    const server = await serverWith([{
      events: ["upload", "download"],
      url: `http://127.0.0.1:${closedPort()}/hook`,
      timeoutMs: 5000,
    }]);
    try {
      const local = tmp.file("a.txt");
      await Deno.writeTextFile(local, "webhook down");
      const url = `ftp://${USER.name}:${USER.password}@127.0.0.1:${server.port}/down.txt`;
      const put = await run("curl", ["-sS", "-T", local, url]);
      assert.equal(put.code, 0, put.stderr);
      const get = await run("curl", ["-sS", url]);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(get.stdout, "webhook down");
      await until(
        () => runs(server, "upload", "error") === 1 && runs(server, "download", "error") === 1,
        "both webhook runs to fail",
      );
      assert.ok(
        server.logs.some((line) =>
          /hook-failed .*event=upload .*hook=http:\/\/127\.0\.0\.1:\d+\/hook .*result=error/.test(
            line,
          )
        ),
        server.logs.join("\n"),
      );
    } finally {
      await server.close();
      await tmp.close();
    }
  },
);

peerTest("python3", "a webhook receives one JSON object per event", async () => {
  const tmp = await scratch();
  const received: { body: Record<string, unknown>; type: string | null; auth: string | null }[] =
    [];
  const hookServer = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      received.push({
        body: await request.json(),
        type: request.headers.get("content-type"),
        auth: request.headers.get("authorization"),
      });
      return new Response("thanks");
    },
  );
  const server = await serverWith([{
    events: ["upload", "rename", "logout"],
    url: `http://127.0.0.1:${hookServer.addr.port}/ftp-events?key=1`,
    headers: { Authorization: "Bearer test-token" },
  }]);
  try {
    const local = tmp.file("a.bin");
    await Deno.writeFile(local, new Uint8Array(1000));
    const report = await ftplib(server, [
      ["stor", local, "in file.bin"],
      ["rename", "in file.bin", "done file.bin"],
    ]);
    assert.equal(report.error, undefined, report.error);
    await until(() => received.length === 3, "three webhook calls");
    await until(() => runs(server, "logout", "ok") === 1, "the logout webhook's count");
    const upload = received.find((call) => call.body.event === "upload")!;
    assert.equal(upload.type, "application/json");
    assert.equal(upload.auth, "Bearer test-token");
    assert.equal(upload.body.path, "/in file.bin");
    assert.equal(upload.body.localPath, `${server.root}/in file.bin`);
    assert.equal(upload.body.bytes, 1000);
    assert.equal(upload.body.ok, true);
    assert.equal(upload.body.status, "ok");
    assert.equal(upload.body.user, "alice");
    assert.equal(upload.body.peer, "127.0.0.1");
    assert.equal(upload.body.verb, "STOR");
    assert.equal(typeof upload.body.durationMs, "number");
    assert.ok(!Number.isNaN(Date.parse(String(upload.body.time))));
    const rename = received.find((call) => call.body.event === "rename")!;
    assert.equal(rename.body.path, "/in file.bin");
    assert.equal(rename.body.target, "/done file.bin");
    assert.ok(received.some((call) => call.body.event === "logout"));
    assert.equal(runs(server, "upload", "ok"), 1);
  } finally {
    await server.close();
    await hookServer.shutdown();
    await tmp.close();
  }
});

/** A pre-upload policy: names ending in .exe are refused with a message, the rest allowed. */
const POLICY = `case "$FERRY_PATH" in
  *.exe) printf '\\n  No executables:\\t%s\\r\\nsecond line\\n' "$FERRY_PATH"; exit 1 ;;
  *) exit 0 ;;
esac`;

peerTest(
  "curl",
  "pre-upload: a refusing hook answers 550 with its first line and nothing is written; allowed uploads go through",
  async () => {
    const tmp = await scratch();
    const server = await serverWith([
      { events: ["pre-upload"], command: ["/bin/sh", "-c", POLICY] },
      { events: ["upload"], command: ["/bin/true"] },
    ]);
    try {
      const local = tmp.file("a.txt");
      await Deno.writeTextFile(local, "payload");
      const base = `ftp://${USER.name}:${USER.password}@127.0.0.1:${server.port}`;
      const refused = await run("curl", ["-sS", "-v", "-T", local, `${base}/tool.exe`]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /< 550 No executables: \/tool\.exe\r?\n/);
      assert.equal(await exists(`${server.root}/tool.exe`), false, "nothing written");
      const appended = await run("curl", [
        "-sS",
        "-v",
        "--append",
        "-T",
        local,
        `${base}/more.exe`,
      ]);
      assert.match(appended.stderr, /< 550 No executables: \/more\.exe/);
      assert.equal(await exists(`${server.root}/more.exe`), false, "nothing appended");
      const client = await RawClient.login(server.port);
      try {
        const stou = await client.upload("STOU unique.exe", "x");
        assert.equal(stou.final.code, 550);
        assert.equal(stou.final.lines[0], "No executables: /unique.exe");
        assert.equal(stou.preliminary, undefined, "refused before the data connection opened");
        await client.expect("NOOP", 200);
      } finally {
        await client.close();
      }
      const allowed = await run("curl", ["-sS", "-T", local, `${base}/notes.txt`]);
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.equal(await Deno.readTextFile(`${server.root}/notes.txt`), "payload");
      assert.equal(runs(server, "pre-upload", "failed"), 3);
      assert.equal(runs(server, "pre-upload", "ok"), 1);
      await until(() => runs(server, "upload", "ok") === 1, "the upload hook");
      assert.ok(
        server.logs.some((line) => /hook-refused .*event=pre-upload .*verb=STOR/.test(line)),
        server.logs.join("\n"),
      );
      const entries = [];
      for await (const entry of Deno.readDir(server.root)) entries.push(entry.name);
      assert.deepEqual(entries, ["notes.txt"], "no file or temporary left behind");
    } finally {
      await server.close();
      await tmp.close();
    }
  },
);

peerTest(
  "curl",
  "pre-upload: a webhook's non-2xx refuses with its body's first line, and a hook's timeout refuses too",
  async () => {
    const tmp = await scratch();
    const hookServer = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => {
        const body = await request.json();
        return body.path === "/ok.txt"
          ? new Response(null, { status: 204 })
          : new Response(`Quota policy says no to ${body.path}\nmore`, { status: 403 });
      },
    );
    const server = await serverWith([
      { events: ["pre-upload"], url: `http://127.0.0.1:${hookServer.addr.port}/check` },
    ]);
    const slow = await serverWith([
      { events: ["pre-upload"], command: ["sleep", "600"], timeoutMs: 500 },
    ]);
    try {
      const local = tmp.file("a.txt");
      await Deno.writeTextFile(local, "payload");
      const url = (port: number, name: string) =>
        `ftp://${USER.name}:${USER.password}@127.0.0.1:${port}/${name}`;
      const refused = await run("curl", ["-sS", "-v", "-T", local, url(server.port, "big.iso")]);
      assert.match(refused.stderr, /< 550 Quota policy says no to \/big\.iso\r?\n/);
      assert.equal(await exists(`${server.root}/big.iso`), false);
      const allowed = await run("curl", ["-sS", "-T", local, url(server.port, "ok.txt")]);
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.equal(await exists(`${server.root}/ok.txt`), true);
      const timedOut = await run("curl", ["-sS", "-v", "-T", local, url(slow.port, "late.txt")]);
      assert.match(timedOut.stderr, /< 550 Upload refused: the policy check timed out\./);
      assert.equal(await exists(`${slow.root}/late.txt`), false);
      assert.equal(runs(slow, "pre-upload", "timeout"), 1);
    } finally {
      await server.close();
      await slow.close();
      await hookServer.shutdown();
      await tmp.close();
    }
  },
);

peerTest(
  "python3",
  "pre-delete: a refusing hook answers DELE and RMD with 550 and its text; the file and folder stay",
  async () => {
    const tmp = await scratch();
    const server = await serverWith([{
      events: ["pre-delete"],
      command: [
        "/bin/sh",
        "-c",
        `case "$FERRY_PATH" in /keep*) echo "Kept by policy: $FERRY_VERB $FERRY_PATH"; exit 1;; esac`,
      ],
    }]);
    try {
      await Deno.mkdir(`${server.root}/keep dir`);
      await Deno.writeTextFile(`${server.root}/keep me.txt`, "stay");
      await Deno.writeTextFile(`${server.root}/scrap.txt`, "go");
      const dele = await ftplib(server, [["delete", "keep me.txt"]]);
      assert.match(dele.error ?? "", /550 Kept by policy: DELE \/keep me\.txt/);
      const rmd = await ftplib(server, [["rmd", "keep dir"]]);
      assert.match(rmd.error ?? "", /550 Kept by policy: RMD \/keep dir/);
      assert.equal(await Deno.readTextFile(`${server.root}/keep me.txt`), "stay");
      assert.equal((await Deno.stat(`${server.root}/keep dir`)).isDirectory, true);
      const allowed = await ftplib(server, [["delete", "scrap.txt"]]);
      assert.equal(allowed.error, undefined, allowed.error);
      assert.equal(await exists(`${server.root}/scrap.txt`), false);
      assert.equal(runs(server, "pre-delete", "failed"), 2);
      assert.equal(runs(server, "pre-delete", "ok"), 1);
    } finally {
      await server.close();
      await tmp.close();
    }
  },
);

peerTest(
  "curl",
  "background hook runs past the queue's size are dropped and counted, never delaying the session",
  async () => {
    const tmp = await scratch();
    const release = tmp.file("release");
    const server = await serverWith([{
      events: ["mkdir"],
      // Each run waits for the test's signal: the first holds the one slot, two wait, three drop.
      command: ["/bin/sh", "-c", `while [ ! -e '${release}' ]; do sleep 0.05; done`],
    }], { maxConcurrentHooks: 1, hookQueueSize: 2 });
    try {
      const base = `ftp://${USER.name}:${USER.password}@127.0.0.1:${server.port}/`;
      const first = await run("curl", ["-sS", "-Q", "MKD d1", base]);
      assert.equal(first.code, 0, first.stderr);
      const stats = server.server.hookStats!;
      await until(() => stats.snapshot().running === 1, "the first run");
      const quotes = ["d2", "d3", "d4", "d5", "d6"].flatMap((dir) => ["-Q", `MKD ${dir}`]);
      const made = await run("curl", ["-sS", ...quotes, base]);
      assert.equal(made.code, 0, made.stderr);
      for (const dir of ["d1", "d2", "d3", "d4", "d5", "d6"]) {
        assert.equal(await exists(`${server.root}/${dir}`), true, `${dir} made`);
      }
      assert.equal(stats.dropped, 3);
      assert.equal(stats.snapshot().queued, 2);
      assert.equal(
        server.logs.filter((line) => /hook-dropped .*event=mkdir/.test(line)).length,
        3,
      );
      await Deno.writeTextFile(release, "");
      await until(() => runs(server, "mkdir", "ok") === 3, "the held runs to finish");
      assert.equal(stats.snapshot().queued, 0);
    } finally {
      await Deno.writeTextFile(release, "").catch(() => {});
      await server.close();
      await tmp.close();
    }
  },
);
