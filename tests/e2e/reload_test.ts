import assert from "node:assert/strict";
import { type CliProcess, readReadyLine, startCli } from "./cli_helpers.ts";
import { format, RawClient, readAll, withTimeout } from "../helpers/raw_client.ts";
import { TlsTestClient } from "../helpers/tls_client.ts";
import { makeCertificate } from "../../server/cli/cert_command.ts";

const main = new URL("../../main.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const BIG = 48 * 1024 * 1024;

/** Runs `ferry user ACTION NAME` through the real CLI; returns its stdout. */
async function userCommand(action: string, name: string, credentials: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main, "user", action, name, "--credentials", credentials]
      .concat(action === "remove" ? [] : ["--password-stdin"]),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  if (action !== "remove") await writer.write(encoder.encode(`${name}-pw\n`));
  await writer.close();
  const output = await child.output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout);
}

/** The JSON log records the server wrote on stderr so far. */
function records(cli: CliProcess): Record<string, unknown>[] {
  return cli.errors.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
}

/** Sends SIGHUP and waits for the reload's log record. */
async function reload(cli: CliProcess): Promise<Record<string, unknown>> {
  const before = records(cli).filter((record) => record.event === "reload").length;
  cli.child.kill("SIGHUP");
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const reloads = records(cli).filter((record) => record.event === "reload");
    if (reloads.length > before) return reloads[before]!;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`No reload line; stderr: ${cli.errors.join("\n")}`);
}

async function canLogin(port: number, user: string, password: string): Promise<boolean> {
  const client = await RawClient.connect(port);
  try {
    await client.read();
    await client.command(`USER ${user}`);
    return (await client.command(`PASS ${password}`)).code === 230;
  } finally {
    await client.close();
  }
}

async function serverCertificate(port: number): Promise<string> {
  const client = await TlsTestClient.connect(port);
  try {
    await client.authTls();
    return client.tlsSocket.getPeerCertificate().fingerprint256;
  } finally {
    client.close();
  }
}

function settingsFile(dir: string, port: number, extra = ""): string {
  return [
    'host = ["127.0.0.1"]',
    `port = ${port}`,
    `root = "${dir}/srv"`,
    `credentials = "${dir}/credentials.txt"`,
    `tls_cert = "${dir}/cert.pem"`,
    `tls_key = "${dir}/key.pem"`,
    'log_format = "json"',
    `xferlog = "${dir}/xferlog"`,
    'metrics = "127.0.0.1:0"',
    extra,
  ].join("\n");
}

async function metric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(url)).text();
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

Deno.test({
  name:
    "SIGHUP to a real `ferry serve`: new users for new logins while a transfer runs on, a bad config keeps the old state, a port change needs a restart, a new certificate for new handshakes",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-reload-" });
  const credentials = `${dir}/credentials.txt`;
  const config = `${dir}/ferry.toml`;
  await Deno.mkdir(`${dir}/srv`);
  await Deno.writeFile(`${dir}/srv/big.bin`, new Uint8Array(BIG).fill(7));
  const first = await makeCertificate({ outCert: `${dir}/a.pem`, outKey: `${dir}/a.key` });
  const second = await makeCertificate({ outCert: `${dir}/b.pem`, outKey: `${dir}/b.key` });
  await Deno.copyFile(first.cert, `${dir}/cert.pem`);
  await Deno.copyFile(first.key, `${dir}/key.pem`);
  assert.match(await userCommand("add", "alice", credentials), /next SIGHUP/);
  await Deno.writeTextFile(config, settingsFile(dir, 0));
  // --allow-all: the installed-ferry case, which relaunches a narrowed child and forwards SIGHUP.
  const cli = startCli(["serve", "--config", config]);
  let transfer: RawClient | undefined;
  try {
    const ready = await readReadyLine(cli);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(ready)?.[1]);
    const metricsUrl = /metrics on (\S+)/.exec(ready)?.[1];
    assert.ok(port > 0 && metricsUrl, ready);
    const firstFingerprint = await serverCertificate(port);

    // A running transfer, paused mid-way by a client that stops reading.
    transfer = await RawClient.login(port, "alice", "alice-pw");
    await transfer.command("TYPE I");
    const data = await transfer.passiveData();
    await transfer.send("RETR big.bin");
    assert.ok([125, 150].includes((await transfer.read()).code));
    const dataConn = await data.conn();
    const head = new Uint8Array(64 * 1024);
    assert.ok((await dataConn.read(head)) !== null);

    // 1. The users file changes: bob is added and alice removed.
    assert.match(
      await userCommand("add", "bob", credentials),
      /running ferry server .* next SIGHUP/,
    );
    assert.match(await userCommand("remove", "alice", credentials), /next SIGHUP/);
    assert.equal(await canLogin(port, "bob", "bob-pw"), false, "not before the reload");
    const usersReload = await reload(cli);
    assert.equal(usersReload.ok, true, JSON.stringify(usersReload));
    assert.equal(usersReload.changed, "users");
    assert.equal(await canLogin(port, "bob", "bob-pw"), true);
    assert.equal(await canLogin(port, "alice", "alice-pw"), false);
    // alice's running transfer went on untouched.
    const rest = await withTimeout(readAll(dataConn), 60_000, "rest of the transfer");
    const final = await transfer.read();
    assert.equal(final.code, 226, format(final));
    assert.equal(rest.length + 64 * 1024 >= BIG, true);
    assert.equal((await transfer.command("NOOP")).code, 200);

    // 2. A bad config file: the whole old state stays, including a users file changed with it.
    await Deno.writeTextFile(config, settingsFile(dir, 0, "idle_timeout = [\n"));
    await userCommand("add", "carol", credentials);
    const badReload = await reload(cli);
    assert.equal(badReload.ok, false);
    assert.match(String(badReload.error), /ferry\.toml: invalid TOML at line \d+/);
    assert.match(String(badReload.error), /kept the running settings/);
    assert.equal(await canLogin(port, "carol", "carol-pw"), false);
    assert.equal(await canLogin(port, "bob", "bob-pw"), true);
    await Deno.writeTextFile(config, settingsFile(dir, 0, "idle_timeout = 0"));
    const badValue = await reload(cli);
    assert.equal(badValue.ok, false);
    assert.match(
      String(badValue.error),
      /idle_timeout: expected a number of seconds 1-86400, got 0/,
    );

    // 3. A port change needs a restart: reported, and the old port keeps serving; live keys apply.
    await Deno.writeTextFile(config, settingsFile(dir, port + 1, "max_login_failures = 1"));
    const portReload = await reload(cli);
    assert.equal(portReload.ok, true);
    assert.equal(portReload.needs_restart, "port");
    assert.match(String(portReload.changed), /max_login_failures/);
    assert.match(String(portReload.changed), /users/); // carol, added during the failed reload
    assert.equal(await canLogin(port, "carol", "carol-pw"), true);
    const strict = await RawClient.connect(port);
    await strict.read();
    await strict.command("USER bob");
    assert.equal((await strict.command("PASS wrong")).code, 421, "max_login_failures = 1 in force");
    await strict.close();

    // 4. A certificate whose key does not match is refused; a matching pair is used by new handshakes.
    await Deno.copyFile(second.cert, `${dir}/cert.pem`);
    const mismatch = await reload(cli);
    assert.equal(mismatch.ok, false);
    assert.match(String(mismatch.error), /does not match the certificate/);
    assert.equal(await serverCertificate(port), firstFingerprint);
    await Deno.copyFile(second.key, `${dir}/key.pem`);
    const tlsReload = await reload(cli);
    assert.equal(tlsReload.ok, true, JSON.stringify(tlsReload));
    assert.match(String(tlsReload.changed), /tls_files/);
    const secondFingerprint = await serverCertificate(port);
    assert.notEqual(secondFingerprint, firstFingerprint);

    // The narrowed child serves metrics; reloads are counted. (It cannot count its descriptors:
    // Deno opens /proc/self only to a process with every permission.)
    assert.equal(await metric(metricsUrl!, 'ferry_reloads_total{result="ok"}'), 3);
    assert.equal(await metric(metricsUrl!, 'ferry_reloads_total{result="failed"}'), 3);
    assert.ok((await metric(metricsUrl!, "process_resident_memory_bytes"))! > 0);
    assert.equal(await metric(metricsUrl!, "process_open_fds"), undefined);
    // The transfer reached the xferlog, which the narrowed child may write.
    const xferlog = await Deno.readTextFile(`${dir}/xferlog`);
    assert.match(
      xferlog,
      new RegExp(` 127\\.0\\.0\\.1 ${BIG} /big\\.bin b _ o r alice ftp 0 \\* c\\n$`),
    );
  } finally {
    if (transfer) await transfer.close().catch(() => {});
    try {
      cli.child.kill("SIGTERM");
    } catch {
      // already gone
    }
    const status = await cli.child.status;
    await cli.drained;
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0, cli.errors.join("\n"));
  }
});

Deno.test("`ferry serve --config --print-config`: effective TOML with sources; errors exit 2 naming file and key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-print-" });
  const config = `${dir}/ferry.toml`;
  await Deno.writeTextFile(config, 'port = 2300\nmax_sessions = 9\nhost = "127.0.0.1"\n');
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", main, "serve", ...args],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: output.code,
      stdout: new TextDecoder().decode(output.stdout),
      stderr: new TextDecoder().decode(output.stderr),
    };
  };
  try {
    const printed = await run(["--config", config, "--print-config", "--port", "2400"], {
      FERRY_MAX_SESSIONS: "10",
      FERRY_IDLE_TIMEOUT: "60",
    });
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /^port = 2400 # from flag --port$/m);
    assert.match(
      printed.stdout,
      /^max_sessions = 10 # from environment variable FERRY_MAX_SESSIONS$/m,
    );
    assert.match(
      printed.stdout,
      /^idle_timeout = 60 # from environment variable FERRY_IDLE_TIMEOUT$/m,
    );
    assert.match(printed.stdout, new RegExp(`^host = \\["127.0.0.1"\\] # from ${config}$`, "m"));
    assert.match(printed.stdout, /^data_timeout = 30$/m);

    const viaEnv = await run(["--print-config"], { FERRY_CONFIG: config });
    assert.match(viaEnv.stdout, /^port = 2300 # from /m);

    await Deno.writeTextFile(config, 'port = 2300\nmax_sesions = 9\nidle_timeout = "soon"\n');
    const bad = await run(["--config", config, "--print-config"]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, "");
    assert.match(bad.stderr, new RegExp(`${config}: unknown key "max_sesions"`));
    assert.match(bad.stderr, new RegExp(`${config}: idle_timeout: expected a number of seconds`));

    const badEnv = await run(["--print-config"], { FERRY_PORT: "http" });
    assert.equal(badEnv.code, 2);
    assert.match(
      badEnv.stderr,
      /environment variable FERRY_PORT: port: expected an integer 0-65535, got "http"/,
    );

    const missing = await run(["--config", `${dir}/none.toml`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /none\.toml: cannot read/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
