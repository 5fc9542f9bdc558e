import assert from "node:assert/strict";
import * as path from "node:path";
import {
  hookExecutables,
  parseHookFlag,
  parseHooks,
  POST_EVENTS,
} from "../../../server/hooks/hook_config.ts";
import { serveConfig } from "../../../server/cli/serve_command.ts";
import { narrowedFlags } from "../../../server/cli/narrow_permissions.ts";

Deno.test("parseHooks() reads [[hooks]] tables: event or events, command or url, headers, timeout", () => {
  const hooks = parseHooks([
    { event: "upload", command: ["/usr/local/bin/scan", "--quiet"], timeout: 60 },
    {
      events: ["pre-upload", "pre-delete"],
      url: "http://127.0.0.1:8080/check",
      headers: { Authorization: "Bearer x" },
      timeout: 0.5,
    },
    { events: ["*"], command: ["logger"] },
  ]);
  assert.deepEqual(hooks, [
    { events: ["upload"], command: ["/usr/local/bin/scan", "--quiet"], timeoutMs: 60_000 },
    {
      events: ["pre-upload", "pre-delete"],
      url: "http://127.0.0.1:8080/check",
      headers: { Authorization: "Bearer x" },
      timeoutMs: 500,
    },
    { events: [...POST_EVENTS], command: ["logger"] },
  ]);
  assert.deepEqual(parseHooks(undefined), []);
});

Deno.test("parseHooks() names the field of every mistake", () => {
  const cases: [unknown, RegExp][] = [
    [{ hooks: [] }, /hooks: expected a list/],
    [["upload"], /hooks\[0\]: expected a table/],
    [[{ command: ["x"] }], /hooks\[0\]\.event: missing/],
    [[{ event: "uplod", command: ["x"] }], /hooks\[0\]\.event: unknown event "uplod"/],
    [[{ events: "upload", command: ["x"] }], /hooks\[0\]\.events: expected a list/],
    [[{ event: "upload", events: ["upload"], command: ["x"] }], /give event or events/],
    [[{ event: "upload" }], /hooks\[0\]: give exactly one of command and url/],
    [[{ event: "upload", command: ["x"], url: "http://a/" }], /exactly one of command and url/],
    [[{ event: "upload", command: "scan --all" }], /hooks\[0\]\.command: expected a non-empty/],
    [[{ event: "upload", command: [] }], /hooks\[0\]\.command: expected a non-empty/],
    [[{ event: "upload", command: ["a,b"] }], /hooks\[0\]\.command: .*comma/],
    [[{ event: "upload", url: "ftp://x/" }], /hooks\[0\]\.url: expected an http/],
    [[{ event: "upload", url: "not a url" }], /hooks\[0\]\.url: "not a url" is not a URL/],
    [[{ event: "upload", command: ["x"], headers: {} }], /hooks\[0\]\.headers: only for a url/],
    [[{ event: "upload", url: "http://a/", headers: { A: "1\r\nB: 2" } }], /headers\.A/],
    [[{ event: "upload", command: ["x"], timeout: 0 }], /hooks\[0\]\.timeout: expected seconds/],
    [[{ event: "upload", command: ["x"], timeout: "soon" }], /hooks\[0\]\.timeout/],
    [[{ event: "upload", command: ["x"], comand: ["y"] }], /hooks\[0\]\.comand: unknown key/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseHooks(value), message, JSON.stringify(value));
  }
});

Deno.test("parseHookFlag() splits words at whitespace without a shell, or reads a JSON array or a URL", () => {
  assert.deepEqual(parseHookFlag("upload=/bin/notify --to ops"), {
    events: ["upload"],
    command: ["/bin/notify", "--to", "ops"],
  });
  assert.deepEqual(parseHookFlag('upload,rename=["/bin/notify", "a $(b) \\"c\\""]'), {
    events: ["upload", "rename"],
    command: ["/bin/notify", 'a $(b) "c"'],
  });
  assert.deepEqual(parseHookFlag("pre-upload=http://127.0.0.1:9/check?x=1"), {
    events: ["pre-upload"],
    url: "http://127.0.0.1:9/check?x=1",
  });
  assert.throws(() => parseHookFlag("upload"), /expected EVENT=COMMAND/);
  assert.throws(() => parseHookFlag("=x"), /expected EVENT=COMMAND/);
  assert.throws(() => parseHookFlag("upload="), /non-empty array/);
  assert.throws(() => parseHookFlag("upload=[1]"), /non-empty array/);
  assert.throws(() => parseHookFlag("upload=[oops"), /not a JSON array/);
  assert.throws(() => parseHookFlag("nope=x"), /unknown event "nope"/);
});

Deno.test("serveConfig() collects --hook flags and the hook limits", () => {
  const config = serveConfig({
    hook: ["upload=/bin/a", "pre-delete=http://127.0.0.1:1/"],
    hook_timeout: "2",
    max_concurrent_hooks: "8",
    hook_queue_size: "10",
  });
  assert.equal(config.hooks.length, 2);
  assert.equal(config.hookTimeoutMs, 2000);
  assert.equal(config.maxConcurrentHooks, 8);
  assert.equal(config.hookQueueSize, 10);
  assert.deepEqual(serveConfig({}).hooks, []);
  assert.throws(
    () => serveConfig({ max_concurrent_hooks: "0" }),
    /max_concurrent_hooks|max-concurrent-hooks/,
  );
  assert.throws(() => serveConfig({ hook_timeout: "-1" }), /hook_timeout|hook-timeout/);
  assert.throws(() => serveConfig({ hook: ["nope=x"] }), /unknown event "nope"/);
});

Deno.test("the relaunched server may run only the hook commands' executables", () => {
  const hooks = [
    ...parseHooks([{ event: "upload", command: ["./scripts/scan.sh", "x"] }]),
    parseHookFlag("login=logger -t ferry"),
    parseHookFlag("logout=logger -t other"),
    parseHookFlag("download=http://127.0.0.1:1/"),
  ];
  const executables = hookExecutables(hooks);
  assert.deepEqual(executables, [path.resolve("./scripts/scan.sh"), "logger"]);
  const flags = narrowedFlags({ root: "srv", credentials: "c.txt", hookCommands: executables });
  assert.ok(flags.includes(`--allow-run=${path.resolve("./scripts/scan.sh")},logger`));
  const none = narrowedFlags({ root: "srv", credentials: "c.txt", hookCommands: [] });
  assert.equal(none.some((flag) => flag.startsWith("--allow-run")), false);
});
