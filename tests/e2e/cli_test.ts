import assert from "node:assert/strict";
import { runProgram } from "../helpers/run_program.ts";
import { readReadyLine, serveArgs, startServe } from "./cli_helpers.ts";
import { testCertificate } from "../helpers/tls_client.ts";

const main = new URL("../../main.ts", import.meta.url).pathname;

function run(args: string[], stdin?: string, permissions = ["--allow-all"]) {
  return runProgram(Deno.execPath(), ["run", ...permissions, main, ...args], {
    ...(stdin === undefined ? {} : { stdin }),
    timeoutMs: 30_000,
  });
}

/** Writes `dir`/creds.txt with the user demo (password demo) through `ferry user add`. */
async function demoCredentials(dir: string): Promise<string> {
  const creds = `${dir}/creds.txt`;
  const added = await run(
    ["user", "add", "demo", "--password-stdin", "--credentials", creds],
    "demo\n",
  );
  assert.equal(added.code, 0, added.stderr);
  return creds;
}

Deno.test("ferry --help and every subcommand's --help exit 0 and describe the command", async () => {
  for (
    const args of [
      ["--help"],
      ["serve", "--help"],
      ["user", "--help"],
      ["user", "add", "--help"],
      ["user", "passwd", "--help"],
      ["user", "remove", "--help"],
      ["user", "list", "--help"],
    ]
  ) {
    const result = await run(args);
    assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stdout, /Usage: ferry/);
  }
});

Deno.test("ferry with an unknown option exits 2 with a usage message", async () => {
  const result = await run(["serve", "--no-such-flag"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown option/);
});

Deno.test("ferry user add, passwd, list and remove manage the credentials file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/creds.txt`;
    let result = await run(
      [
        "user",
        "add",
        "bob",
        "--password-stdin",
        "--credentials",
        file,
        "--home",
        "/bob",
        "--perms",
        "elr",
      ],
      "s3cret\n",
    );
    assert.equal(result.code, 0, result.stderr);
    const text = await Deno.readTextFile(file);
    assert.match(text, /^bob:scrypt\$/m);
    assert.doesNotMatch(text, /s3cret/);
    result = await run(["user", "list", "--credentials", file]);
    assert.equal(result.stdout.trim(), "bob\t/bob\telr");
    result = await run(["user", "add", "bob", "--password-stdin", "--credentials", file], "x\n");
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bob/);
    result = await run(
      ["user", "passwd", "bob", "--password-stdin", "--credentials", file],
      "new\n",
    );
    assert.equal(result.code, 0, result.stderr);
    assert.notEqual(await Deno.readTextFile(file), text);
    result = await run(["user", "remove", "bob", "--credentials", file]);
    assert.equal(result.code, 0, result.stderr);
    result = await run(["user", "list", "--credentials", file]);
    assert.equal(result.stdout.trim(), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry serve without read permission on the root says which flag is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/creds.txt`, "");
    const result = await run(
      ["serve", "--port", "0", "--root", `${dir}/srv`, "--credentials", `${dir}/creds.txt`],
      undefined,
      ["--allow-net", `--allow-read=${dir}/creds.txt`],
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Missing Deno permissions: --allow-read=.*srv/);
    assert.match(result.stderr, /--allow-write=/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry serve with narrowed permissions prints its addresses, serves, and stops on SIGINT", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const creds = await demoCredentials(dir);
    const server = startServe(dir, creds, {
      permissions: [`--allow-net`, `--allow-read=${dir}`, `--allow-write=${dir}/srv`],
    });
    const ready = await readReadyLine(server);
    const match = /ferry listening on ftp:\/\/127\.0\.0\.1:(\d+) serving (.*)$/.exec(ready);
    assert.ok(match, ready);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(match[1]) });
    const buffer = new Uint8Array(1024);
    const n = await conn.read(buffer);
    assert.match(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), /^220 /);
    conn.close();
    server.child.kill("SIGINT");
    const status = await server.child.status;
    assert.equal(status.code, 0);
    await server.drained;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry serve --help works with only the serve task's narrowed permissions", async () => {
  const result = await run(["serve", "--help"], undefined, [
    "--allow-net",
    "--allow-read=./srv,./credentials.txt",
    "--allow-write=./srv",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Usage: ferry serve/);
});

Deno.test("ferry serve with broad permissions serves from a child narrowed to the root", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const creds = `${dir}/creds.txt`;
    await Deno.writeTextFile(creds, "");
    const server = startServe(dir, creds);
    await readReadyLine(server);
    const pid = server.child.pid;
    const children = (await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`)).trim();
    assert.match(children, /^\d+$/, "exactly one child process");
    const cmdline = (await Deno.readTextFile(`/proc/${children}/cmdline`)).split("\0");
    const realRoot = await Deno.realPath(`${dir}/srv`);
    assert.ok(
      cmdline.includes(`--allow-write=${realRoot}`) || cmdline.includes(`--allow-write=${dir}/srv`),
      cmdline.join(" "),
    );
    assert.ok(
      cmdline.some((arg) => arg.startsWith("--allow-read=") && arg.includes(creds)),
      cmdline.join(" "),
    );
    assert.ok(!cmdline.includes("--allow-all") && !cmdline.includes("-A"), cmdline.join(" "));
    // The client's FFI permission (OpenSSL, for TLS session reuse) never reaches the server.
    assert.ok(!cmdline.some((arg) => arg.startsWith("--allow-ffi")), cmdline.join(" "));
    server.child.kill("SIGTERM");
    assert.equal((await server.child.status).code, 0);
    await server.drained;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry serve with FTPS and broad permissions: the narrowed child may load libssl alone and runs TLS on OpenSSL", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const creds = await demoCredentials(dir);
    const { cert, key } = await testCertificate();
    const server = startServe(dir, creds, { extra: ["--tls-cert", cert, "--tls-key", key] });
    const ready = await readReadyLine(server);
    const port = /127\.0\.0\.1:(\d+)/.exec(ready)?.[1];
    const pid = server.child.pid;
    const child = (await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`)).trim();
    const cmdline = (await Deno.readTextFile(`/proc/${child}/cmdline`)).split("\0");
    const ffi = cmdline.filter((arg) => arg.startsWith("--allow-ffi"));
    assert.equal(ffi.length, 1, cmdline.join(" "));
    assert.match(ffi[0]!, /^--allow-ffi=\/.*\/libssl\.so\.3$/, "scoped to the one library");
    await Deno.writeTextFile(`${dir}/srv/a.txt`, "over OpenSSL");
    const got = await runProgram("curl", [
      "-sS",
      "--ssl-reqd",
      "-k",
      `ftp://demo:demo@127.0.0.1:${port}/a.txt`,
    ], { timeoutMs: 30_000 });
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, "over OpenSSL");
    server.child.kill("SIGTERM");
    assert.equal((await server.child.status).code, 0);
    await server.drained;
    const logs = server.errors.join("\n");
    assert.match(logs, /tls-engine engine=openssl library=\/.*libssl\.so\.3/, logs);
    assert.match(logs, /data-tls .*reused=true ok=true/, logs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry serve without --allow-ffi falls back to node:tls and says why; --tls-engine openssl then refuses to start", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const creds = `${dir}/creds.txt`;
    await Deno.writeTextFile(creds, "");
    await Deno.mkdir(`${dir}/srv`);
    const { cert, key } = await testCertificate();
    const permissions = [
      "--allow-net",
      `--allow-read=${dir},${cert},${key}`,
      `--allow-write=${dir}/srv`,
    ];
    const tls = ["--tls-cert", cert, "--tls-key", key];
    const server = startServe(dir, creds, { extra: tls, permissions });
    await readReadyLine(server);
    server.child.kill("SIGTERM");
    assert.equal((await server.child.status).code, 0);
    await server.drained;
    const logs = server.errors.join("\n");
    assert.match(logs, /tls-engine engine=node reason="?Deno's --allow-ffi was not given/, logs);
    const refused = await run(
      serveArgs(dir, creds, [...tls, "--tls-engine", "openssl"]),
      undefined,
      permissions,
    );
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--tls-engine openssl needs Deno's --allow-ffi and libssl 3/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry cert make writes a self-signed certificate and a 0600 key, and refuses to overwrite", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const args = ["cert", "make", "--out-cert", `${dir}/c.pem`, "--out-key", `${dir}/k.pem`];
    const made = await run(args);
    assert.equal(made.code, 0, made.stderr);
    assert.match(await Deno.readTextFile(`${dir}/c.pem`), /^-----BEGIN CERTIFICATE-----/);
    assert.equal((await Deno.stat(`${dir}/k.pem`)).mode! & 0o777, 0o600);
    const text = await new Deno.Command("openssl", {
      args: ["x509", "-in", `${dir}/c.pem`, "-noout", "-text"],
      stdout: "piped",
    }).output();
    const described = new TextDecoder().decode(text.stdout);
    assert.match(described, /DNS:localhost/);
    assert.match(described, /IP Address:127\.0\.0\.1/);
    const again = await run(args);
    assert.notEqual(again.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
