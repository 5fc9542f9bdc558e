import assert from "node:assert/strict";
import * as path from "node:path";
import {
  ffiFlags,
  FORWARDED_SIGNALS,
  narrowedFlags,
  narrowedServeArgs,
  SERVER_V8_FLAGS,
} from "../../../server/cli/narrow_permissions.ts";
import { servedEnvNames } from "../../../server/ops/settings.ts";

Deno.test("narrowedFlags() reads the config file, writes the log files and reads only the FERRY_ variables it names", () => {
  const flags = narrowedFlags({
    root: "srv",
    credentials: "users.txt",
    tlsCert: "cert.pem",
    tlsKey: "key.pem",
    config: "etc/ferry.toml",
    logFiles: ["log/xferlog"],
  });
  const abs = (file: string) => path.resolve(file);
  assert.deepEqual(flags, [
    "--allow-net",
    `--allow-read=${
      ["srv", "users.txt", "cert.pem", "key.pem", "etc/ferry.toml"].map(abs).join(",")
    }`,
    `--allow-write=${[abs("srv"), abs("log/xferlog")].join(",")}`,
    `--allow-env=${servedEnvNames().join(",")}`,
  ]);
  const env = flags.at(-1)!.slice("--allow-env=".length).split(",");
  assert.ok(env.every((name) => /^FERRY_[A-Z0-9_]+$/.test(name)), "explicit names, no wildcard");
  assert.ok(env.includes("FERRY_CONFIG") && env.includes("FERRY_PORT"));
  assert.ok(!env.includes("FERRY_PASSWORD"), "the client's password variable is not the server's");
});

Deno.test("narrowedFlags() without a config file or logs grants no more than before", () => {
  const flags = narrowedFlags({ root: "srv", credentials: "users.txt" });
  assert.equal(flags[1], `--allow-read=${path.resolve("srv")},${path.resolve("users.txt")}`);
  assert.equal(flags[2], `--allow-write=${path.resolve("srv")}`);
});

Deno.test("narrowedFlags() lets the server load its libssl and nothing else over FFI", () => {
  const library = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
  const flags = narrowedFlags({ root: "srv", credentials: "users.txt", ffiLibrary: library });
  assert.deepEqual(flags.filter((flag) => flag.startsWith("--allow-ffi")), [
    `--allow-ffi=${library}`,
  ]);
  assert.deepEqual(ffiFlags("libssl.so.3"), ["--allow-ffi"]); // a bare name cannot be scoped
  assert.deepEqual(ffiFlags(undefined), []);
  assert.ok(!narrowedFlags({ root: "srv", credentials: "u" }).some((f) => f.includes("ffi")));
});

Deno.test("the relaunching parent forwards SIGHUP as it does SIGINT and SIGTERM", () => {
  assert.deepEqual([...FORWARDED_SIGNALS].sort(), ["SIGHUP", "SIGINT", "SIGTERM"]);
});

Deno.test("deno.json's serve, install and compile tasks let ferry read its FERRY_ variables", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../../deno.json", import.meta.url)),
  );
  for (const task of ["serve", "install", "compile"]) {
    // PGAPPNAME and PGTARGETSESSIONATTRS: read by the PostgreSQL driver (`--users postgres://…`).
    assert.match(
      config.tasks[task],
      /--allow-env=(HOME,)?FERRY_\*(,PGAPPNAME,PGTARGETSESSIONATTRS)?( |$)/,
      task,
    );
  }
  assert.match(config.imports["smol-toml"], /^npm:smol-toml@\d+\.\d+\.\d+$/);
});

Deno.test("the server runs with its V8 flags: deno task serve, the compiled binary and the narrowed child", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../../deno.json", import.meta.url)),
  );
  const flag = `--v8-flags=${SERVER_V8_FLAGS.join(",")}`;
  assert.deepEqual(SERVER_V8_FLAGS, [
    "--max-semi-space-size=1",
    "--heap-growing-percent=10",
    "--expose-gc",
  ]);
  for (const task of ["serve", "compile"]) {
    assert.ok(config.tasks[task].split(" ").includes(flag), `${task}: ${config.tasks[task]}`);
  }
  const args = narrowedServeArgs(["--port", "0"], { root: "srv", credentials: "users.txt" }, {
    config: "/opt/ferry/deno.json",
    main: "file:///opt/ferry/main.ts",
  });
  assert.equal(args[0], "run");
  assert.ok(args.includes(flag), args.join(" "));
  assert.ok(args.indexOf(flag) < args.indexOf("file:///opt/ferry/main.ts"), "a deno flag");
  assert.deepEqual(args.slice(-3), ["serve", "--port", "0"]);
});
