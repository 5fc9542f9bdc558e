/**
 * The README's "Running ferry as a service" examples, run here as far as
 * this machine allows: the systemd unit's ExecStart and ExecReload, the
 * container's command with its FERRY_ variables, and the logrotate snippet
 * against a real logrotate. Paths are moved into a temporary directory,
 * ports chosen at run time, and `systemctl reload` becomes the `kill -HUP`
 * it stands for.
 */

import assert from "node:assert/strict";
import { formatCredentials, hashPassword } from "../../server/auth/mod.ts";
import { RawClient } from "../helpers/raw_client.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const README = await Deno.readTextFile(`${REPO}/README.md`);

/** The body of the first fenced block of `language` after `after` in the README. */
function readmeBlock(language: string, after = ""): string {
  const start = README.indexOf("```" + language + "\n", README.indexOf(after));
  assert.ok(start >= 0, `no ${language} block in the README`);
  const body = start + language.length + 4;
  return README.slice(body, README.indexOf("```", body));
}

/** A running server process and its output. */
interface Served {
  child: Deno.ChildProcess;
  stdout: string[];
  stderr: string[];
  done: Promise<void>;
}

function spawn(command: string, args: string[], env: Record<string, string> = {}): Served {
  const child = new Deno.Command(command, {
    args,
    env,
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const collect = async (stream: ReadableStream<Uint8Array>, into: string[]) => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      into.push(...parts);
    }
    if (rest) into.push(rest);
  };
  const stdout: string[] = [];
  const stderr: string[] = [];
  const done = Promise.all([collect(child.stdout, stdout), collect(child.stderr, stderr)]).then(
    () => {},
  );
  return { child, stdout, stderr, done };
}

async function until<T>(what: string, served: Served, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out waiting for ${what}; stderr:\n${served.stderr.join("\n")}`);
}

function reloads(served: Served): Record<string, unknown>[] {
  return served.stderr.filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line))
    .filter((record) => record.event === "reload");
}

async function stop(served: Served): Promise<number> {
  try {
    served.child.kill("SIGTERM");
  } catch {
    // already gone
  }
  const status = await served.child.status;
  await served.done;
  return status.code;
}

async function makeUsers(file: string): Promise<void> {
  const passwordHash = await hashPassword("secret", { cost: 1024 });
  await Deno.writeTextFile(
    file,
    formatCredentials([{ name: "alice", passwordHash, home: "/", permissions: "elradfmwMT" }]),
  );
}

async function upload(port: number, name: string): Promise<void> {
  const client = await RawClient.login(port, "alice", "secret");
  try {
    await client.command("TYPE I");
    const result = await client.upload(`STOR ${name}`, new Uint8Array(2048));
    assert.equal(result.final.code, 226);
    await client.command("QUIT");
  } finally {
    await client.close();
  }
}

Deno.test("the README's systemd ExecStart runs with only its permissions, and ExecReload reloads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-unit-" });
  const paths: [string, string][] = [
    ["/usr/local/bin/deno", Deno.execPath()],
    ["/opt/ferry", REPO],
    ["/etc/ferry", `${dir}/etc`],
    ["/srv/ftp", `${dir}/srv`],
    ["/var/log/ferry", `${dir}/log`],
  ];
  const unit = readmeBlock("ini", "### systemd");
  let execStart = /^ExecStart=((?:.*\\\n)*.*)$/m.exec(unit)?.[1]?.replace(/\\\n\s*/g, "");
  assert.ok(execStart);
  for (const [from, to] of paths) execStart = execStart.replaceAll(from, to);
  const [command, ...args] = execStart.split(/\s+/);
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(unit, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
  assert.match(unit, /^User=ferry$/m);
  for (const sub of ["etc", "srv", "log"]) await Deno.mkdir(`${dir}/${sub}`);
  await makeUsers(`${dir}/etc/credentials.txt`);
  const settings = (extra: string) =>
    [
      'host = ["127.0.0.1"]',
      "port = 0",
      `root = "${dir}/srv"`,
      `credentials = "${dir}/etc/credentials.txt"`,
      'log_format = "json"',
      `xferlog = "${dir}/log/xferlog"`,
      `log_file = "${dir}/log/ferry.log"`,
      extra,
    ].join("\n");
  await Deno.writeTextFile(`${dir}/etc/ferry.toml`, settings(""));
  const served = spawn(command!, args);
  try {
    const ready = await until("the ready line", served, () => served.stdout[0]);
    const port = Number(/:(\d+) serving/.exec(ready)?.[1]);
    await upload(port, "a.bin");
    await Deno.writeTextFile(`${dir}/etc/ferry.toml`, settings("max_sessions = 50"));
    served.child.kill("SIGHUP"); // what ExecReload does
    const logged = () =>
      Deno.readTextFileSync(`${dir}/log/ferry.log`).trim().split("\n").map((line) =>
        JSON.parse(line)
      );
    const reload = await until(
      "the reload line",
      served,
      () => logged().find((record) => record.event === "reload"),
    );
    assert.ok(logged().some((record) => record.event === "transfer" && record.path === "/a.bin"));
    assert.equal(served.stderr.filter((line) => line.startsWith("{")).length, 0);
    assert.equal(reload.ok, true, JSON.stringify(reload));
    assert.equal(reload.changed, "max_sessions");
    const xferlog = await Deno.readTextFile(`${dir}/log/xferlog`);
    assert.match(xferlog, / 2048 \/a\.bin b _ i r alice ftp 0 \* c\n$/);
  } finally {
    const code = await stop(served);
    await Deno.remove(dir, { recursive: true });
    assert.equal(code, 0, served.stderr.join("\n"));
  }
});

Deno.test("the README's container command runs from FERRY_ variables alone; its logrotate snippet rotates the xferlog", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-container-" });
  const dockerfile = readmeBlock("dockerfile", "### A container");
  const cmd = /^CMD (\[[^\]]*\])/m.exec(dockerfile.replace(/\\\n\s*/g, ""))?.[1];
  assert.ok(cmd, dockerfile);
  const args = (JSON.parse(cmd) as string[]).map((arg) =>
    arg.replaceAll("/data", `${dir}/data`).replaceAll("/etc/ferry", `${dir}/etc`)
  );
  const run = readmeBlock("sh", "### A container");
  const env: Record<string, string> = {};
  for (const [, name, value] of run.matchAll(/-e (FERRY_[A-Z_]+)=(\S+)/g)) {
    env[name!] = value!.replaceAll("/data", `${dir}/data`).replaceAll("/etc/ferry", `${dir}/etc`);
  }
  assert.ok(Object.keys(env).length >= 8, JSON.stringify(env));
  // Loopback and free ports here; no traffic goes to the example's public address.
  Object.assign(env, {
    FERRY_HOST: "127.0.0.1",
    FERRY_PORT: "0",
    FERRY_METRICS: "127.0.0.1:0",
    FERRY_PASV_ADDRESS: "127.0.0.1",
  });
  delete env.FERRY_PASV_PORTS;
  await Deno.mkdir(`${dir}/data`);
  await Deno.mkdir(`${dir}/etc`);
  await makeUsers(`${dir}/etc/credentials.txt`);
  const served = spawn(Deno.execPath(), args, env);
  try {
    const ready = await until("the ready line", served, () => served.stdout[0]);
    const port = Number(/:(\d+) serving/.exec(ready)?.[1]);
    const metrics = /metrics on (\S+)/.exec(ready)?.[1]!;
    assert.match(ready, new RegExp(`serving ${dir}/data/srv`));
    assert.equal((await fetch(metrics.replace("/metrics", "/healthz"))).status, 200);
    await upload(port, "one.bin");
    await upload(port, "two.bin");
    const xferlog = env.FERRY_XFERLOG!;
    assert.equal((await Deno.readTextFile(xferlog)).trim().split("\n").length, 2);

    const snippet = readmeBlock("logrotate").replace("/var/log/ferry/xferlog", xferlog)
      .replace("systemctl reload ferry", `kill -HUP ${served.child.pid}`);
    await Deno.writeTextFile(`${dir}/logrotate.conf`, snippet);
    const rotate = await new Deno.Command("/usr/sbin/logrotate", {
      args: ["--force", "--state", `${dir}/logrotate.state`, `${dir}/logrotate.conf`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(rotate.code, 0, new TextDecoder().decode(rotate.stderr));
    const reload = await until("the reload line", served, () => reloads(served)[0]);
    assert.equal(reload.ok, true);
    await upload(port, "three.bin");
    const rotated = (await Deno.readTextFile(`${xferlog}.1`)).trim().split("\n");
    const current = (await Deno.readTextFile(xferlog)).trim().split("\n");
    assert.deepEqual(rotated.map((line) => line.split(/ +/)[8]), ["/one.bin", "/two.bin"]);
    assert.deepEqual(current.map((line) => line.split(/ +/)[8]), ["/three.bin"]);
    assert.equal((await Deno.stat(xferlog)).mode! & 0o777, 0o640);
  } finally {
    const code = await stop(served);
    await Deno.remove(dir, { recursive: true });
    assert.equal(code, 0, served.stderr.join("\n"));
  }
});
