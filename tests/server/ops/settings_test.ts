import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { DEFAULT_CONFIG } from "../../../server/config.ts";
import {
  exampleToml,
  formatSettings,
  resolveSettings,
  SettingsError,
  toServerConfig,
} from "../../../server/ops/resolve_settings.ts";
import { envName, flagName, servedEnvNames, SETTINGS } from "../../../server/ops/settings.ts";
import {
  cidr,
  hostPort,
  list,
  map,
  portRange,
  size,
  url,
} from "../../../server/ops/setting_kinds.ts";

const file = (text: string) => ({ path: "ferry.toml", text });

Deno.test("resolveSettings() with no source gives the defaults of DEFAULT_CONFIG", () => {
  assert.deepEqual(toServerConfig(resolveSettings({})), DEFAULT_CONFIG);
});

Deno.test("resolveSettings() takes the flag over the environment over the file over the default", () => {
  const env = (name: string) => ({ FERRY_PORT: "2200", FERRY_MAX_SESSIONS: "7" })[name];
  const text = "port = 2300\nmax_sessions = 8\nidle_timeout = 9\n";
  const settings = resolveSettings({ flags: { port: "2100" }, env, file: file(text) });
  assert.deepEqual(settings.get("port"), { value: 2100, source: "flag --port" });
  assert.deepEqual(settings.get("max_sessions"), {
    value: 7,
    source: "environment variable FERRY_MAX_SESSIONS",
  });
  assert.deepEqual(settings.get("idle_timeout"), { value: 9, source: "ferry.toml" });
  assert.deepEqual(settings.get("data_timeout"), { value: 30, source: "default" });
  const config = toServerConfig(settings);
  assert.equal(config.port, 2100);
  assert.equal(config.maxSessions, 7);
  assert.equal(config.idleTimeoutMs, 9000);
});

Deno.test("resolveSettings() names the file, the key and what was expected, for every problem", () => {
  const text = 'port = "21"\nprot = 1\npasv_ports = "9-2"\nhost = ["127.0.0.1", "nowhere"]\n';
  let error: unknown;
  try {
    resolveSettings({ file: file(text) });
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof SettingsError);
  assert.equal(error.exitCode, 2);
  assert.deepEqual(error.problems.toSorted(), [
    'ferry.toml: host: expected a list of at least 1 IP address values (an IP address), got ["127.0.0.1","nowhere"]',
    'ferry.toml: pasv_ports: expected a port range "LOW-HIGH" within 1-65535, got "9-2"',
    'ferry.toml: port: expected an integer 0-65535, got "21"',
    'ferry.toml: unknown key "prot"',
  ]);
});

Deno.test("resolveSettings() names the environment variable and the flag of a bad value", () => {
  assert.throws(
    () => resolveSettings({ env: (name) => name === "FERRY_IDLE_TIMEOUT" ? "soon" : undefined }),
    /^SettingsError: environment variable FERRY_IDLE_TIMEOUT: idle_timeout: expected a number of seconds 1-86400, got "soon"$/,
  );
  assert.throws(
    () => resolveSettings({ flags: { tls_max_version: "1.1" } }),
    /flag --tls-max-version: tls_max_version: expected one of 1.2, 1.3, got "1.1"/,
  );
});

Deno.test("resolveSettings() reports a TOML syntax error with its line", () => {
  assert.throws(
    () => resolveSettings({ file: file("port = 21\nhost = [\n") }),
    /ferry.toml: invalid TOML at line \d+, column \d+/,
  );
});

Deno.test("resolveSettings() reads lists from a repeated flag, a comma list and a TOML string", () => {
  assert.deepEqual(
    resolveSettings({ flags: { host: ["127.0.0.1", "::1"] } }).get("host")?.value,
    ["127.0.0.1", "::1"],
  );
  assert.deepEqual(
    resolveSettings({ env: (name) => name === "FERRY_HOST" ? "127.0.0.2, ::1" : undefined })
      .get("host")?.value,
    ["127.0.0.2", "::1"],
  );
  assert.deepEqual(
    resolveSettings({ file: file('host = "127.0.0.3"') }).get("host")?.value,
    ["127.0.0.3"],
  );
});

Deno.test("resolveSettings() refuses an empty host list", () => {
  assert.throws(
    () => resolveSettings({ env: (name) => name === "FERRY_HOST" ? "" : undefined }),
    /FERRY_HOST: host: expected a list of at least 1 IP address values, got ""/,
  );
  assert.throws(() => resolveSettings({ file: file("host = []") }), /at least 1/);
});

Deno.test("booleans: a flag sets them, the environment and the file say true or false", () => {
  assert.equal(resolveSettings({ flags: { anonymous: true } }).get("anonymous")?.value, true);
  const env = (name: string) => name === "FERRY_REQUIRE_TLS" ? "yes" : undefined;
  assert.equal(resolveSettings({ env }).get("require_tls")?.value, true);
  assert.throws(() => resolveSettings({ file: file('anonymous = "true"') }), /true or false/);
});

Deno.test("formatSettings() writes TOML that reads back to the same settings, with sources", () => {
  const settings = resolveSettings({
    flags: { port: "2100", pasv_ports: "50000-50010", metrics: "[::1]:9100" },
    file: file('host = ["127.0.0.1"]\nlog_format = "json"\n'),
  });
  const text = formatSettings(settings);
  assert.match(text, /^port = 2100 # from flag --port$/m);
  assert.match(text, /^host = \["127.0.0.1"\] # from ferry.toml$/m);
  assert.match(text, /^# tls_cert is not set$/m);
  const again = resolveSettings({ file: file(text) });
  assert.deepEqual(toServerConfig(again), toServerConfig(settings));
});

Deno.test("every setting has a flag, a FERRY_ variable, help and a default or an example", () => {
  const keys = new Set<string>();
  for (const entry of SETTINGS) {
    assert.match(entry.key, /^[a-z][a-z0-9_]*$/);
    assert.ok(!keys.has(entry.key), `duplicate key ${entry.key}`);
    keys.add(entry.key);
    assert.ok(entry.help.length > 0);
    assert.ok(entry.default !== undefined || entry.example !== undefined, entry.key);
    assert.equal(flagName(entry).replace(/^--(no-)?/, "").replaceAll("-", "_"), entry.key);
    assert.equal(envName(entry), `FERRY_${entry.key.toUpperCase()}`);
  }
  assert.deepEqual(servedEnvNames().slice(1), SETTINGS.map(envName));
});

Deno.test("ferry.example.toml is the table's example, and loading it gives the defaults", async () => {
  const text = await Deno.readTextFile(new URL("../../../ferry.example.toml", import.meta.url));
  assert.equal(text, exampleToml(), "regenerate with: deno task example-config");
  const parsed = parseToml(text);
  for (const entry of SETTINGS) {
    if (entry.default !== undefined) assert.ok(Object.hasOwn(parsed, entry.key), entry.key);
    assert.ok(text.includes(`# ${entry.help}\n# ${flagName(entry)}, `), entry.key);
  }
  const settings = resolveSettings({ file: { path: "ferry.example.toml", text } });
  assert.deepEqual(toServerConfig(settings), DEFAULT_CONFIG);
});

Deno.test("kinds: sizes with suffixes, CIDRs, maps, host:port, URLs with hidden passwords", () => {
  assert.equal(size().fromText("64K"), 65536);
  assert.equal(size().fromText("10G"), 10 * 1024 ** 3);
  assert.equal(size().fromToml(512), 512);
  assert.equal(size().toToml(3 * 1024 ** 2), "3M");
  assert.throws(() => size().fromText("12X"), /size in bytes/);
  assert.equal(cidr().fromText("10.0.0.0/8"), "10.0.0.0/8");
  assert.equal(cidr().fromText("::1"), "::1/128");
  assert.throws(() => cidr().fromText("10.0.0.0/33"), /CIDR/);
  assert.deepEqual(list(cidr()).fromText("127.0.0.1,10.1.0.0/16"), [
    "127.0.0.1/32",
    "10.1.0.0/16",
  ]);
  assert.deepEqual(map(size()).fromText("alice=1M, bob=2K"), { alice: 1048576, bob: 2048 });
  assert.deepEqual(map(size()).fromToml({ alice: "1M" }), { alice: 1048576 });
  assert.throws(() => map(size()).fromText("alice"), /name=value/);
  assert.deepEqual(hostPort().fromText("[::1]:9100"), { host: "::1", port: 9100 });
  assert.equal(hostPort().toToml({ host: "::1", port: 9100 }), "[::1]:9100");
  assert.throws(() => hostPort().fromText("127.0.0.1"), /HOST:PORT/);
  assert.deepEqual(portRange().fromText("1-2"), [1, 2]);
  const pg = url(["postgres:", "postgresql:"]);
  assert.equal(
    pg.redact!(pg.fromText("postgres://ferry:s3cret@db:5432/ferry")),
    "postgres://ferry:***@db:5432/ferry",
  );
  assert.throws(() => pg.fromText("http://db"), /URL/);
});
