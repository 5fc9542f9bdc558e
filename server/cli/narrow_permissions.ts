/**
 * The second fence around the disk for an installed `ferry`: a `ferry` that
 * holds broad read/write permissions (it is also the client, which writes
 * wherever the user asks) runs `serve` again in a child Deno process whose
 * permissions are narrowed to the served root, the credentials file, the
 * TLS files, the configuration file, the log files it names, the `FERRY_*`
 * environment variables it reads, the configured hook commands and, for TLS
 * on OpenSSL, the one library `libssl.so.3` (`--allow-ffi=PATH`).
 *
 * @module
 */

import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { servedEnvNames } from "../ops/settings.ts";

/** The files and directories a server needs, from its options. */
export interface ServedPaths {
  root: string;
  credentials: string;
  tlsCert?: string;
  tlsKey?: string;
  /** The executables hooks run (`hookExecutables` in hooks/hook_config.ts); none: no --allow-run. */
  hookCommands?: string[];
  /** The configuration file (read again on SIGHUP). */
  config?: string;
  /** Log files the server appends to (xferlog). */
  logFiles?: string[];
  /** Environment variables the server reads beyond the `FERRY_*` ones (the PostgreSQL driver's). */
  env?: string[];
  /**
   * The libssl the server's TLS runs on (`--allow-ffi` for it alone; a bare
   * name, found on the library path, needs `--allow-ffi` whole); none: no FFI.
   */
  ffiLibrary?: string;
}

/**
 * The Deno permission flags that let `serve` run and nothing more: network,
 * read of the root, credentials, TLS and configuration files, write of the
 * root and the log files, the `FERRY_*` environment variables, run of the
 * hook commands, and FFI for libssl alone.
 *
 * @example
 * ```ts
 * narrowedFlags({ root: "./srv", credentials: "./credentials.txt" });
 * // ["--allow-net", "--allow-read=/abs/srv,/abs/credentials.txt", "--allow-write=/abs/srv",
 * //  "--allow-env=FERRY_CONFIG,FERRY_HOST,…"]
 * ```
 */
export function narrowedFlags(paths: ServedPaths): string[] {
  const absolute = (file: string) => path.resolve(file);
  const readable = [paths.root, paths.credentials, paths.tlsCert, paths.tlsKey, paths.config]
    .filter((file): file is string => file !== undefined)
    .map(absolute);
  const run = paths.hookCommands ?? [];
  const writable = [paths.root, ...(paths.logFiles ?? [])].map(absolute);
  return [
    "--allow-net",
    `--allow-read=${readable.join(",")}`,
    `--allow-write=${writable.join(",")}`,
    `--allow-env=${[...servedEnvNames(), ...(paths.env ?? [])].join(",")}`,
    ...(run.length > 0 ? [`--allow-run=${run.join(",")}`] : []),
    ...ffiFlags(paths.ffiLibrary),
  ];
}

/**
 * The `--allow-ffi` that lets a server load `library` and nothing else
 * (whole for a bare name, which Deno cannot scope); none without a library.
 *
 * @example
 * ```ts
 * ffiFlags("/usr/lib/x86_64-linux-gnu/libssl.so.3");
 * // ["--allow-ffi=/usr/lib/x86_64-linux-gnu/libssl.so.3"]
 * ```
 */
export function ffiFlags(library: string | undefined): string[] {
  if (library === undefined) return [];
  return [path.isAbsolute(library) ? `--allow-ffi=${library}` : "--allow-ffi"];
}

/** True when this process may write anywhere: the permissions are broader than a server needs. */
export function holdsBroadPermissions(): boolean {
  return Deno.permissions.querySync({ name: "write" }).state === "granted";
}

/**
 * How to start this program again under `deno run`, or undefined when that
 * is impossible (a `deno compile`d binary, or a main module without a
 * `deno.json` beside it).
 */
export function relaunchCommand(): { deno: string; config: string; main: string } | undefined {
  const execPath = Deno.execPath();
  if (!/^deno(\.exe)?$/.test(path.basename(execPath))) return undefined;
  // `--allow-run=deno` (the install task) allows "deno" found on PATH, not the resolved path.
  const deno = [execPath, "deno"].find((command) =>
    Deno.permissions.querySync({ name: "run", command }).state === "granted"
  );
  if (deno === undefined) return undefined;
  const main = Deno.mainModule;
  if (!main.startsWith("file:")) return undefined;
  const config = fileURLToPath(new URL("./deno.json", main));
  try {
    Deno.statSync(config);
  } catch {
    return undefined;
  }
  return { deno, config, main };
}

/**
 * V8 flags the server runs with (`deno task serve`, the narrowed child, the
 * compiled binary): a young generation of at most 1 MiB per semi-space and
 * an old generation that grows by 10 % between collections, so V8 collects
 * the promises and views of busy transfers sooner instead of growing its
 * heap. Under 200 transfers at once (issue 16) V8's heap grew by 12-15 MiB
 * (30-60 MiB without them); one fast transfer was as fast as before.
 * (`--optimize-for-size` saved as much memory but halved TLS throughput.)
 * `--expose-gc` lets the server collect once a burst has left free memory
 * behind (`ops/memory_return.ts`), so V8 gives its grown heap back too.
 */
export const SERVER_V8_FLAGS: readonly string[] = [
  "--max-semi-space-size=1",
  "--heap-growing-percent=10",
  "--expose-gc",
];

/** The signals the parent passes on to the narrowed child: stop, stop, reload. */
export const FORWARDED_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** The `deno` arguments that run `ferry serve ARGS` narrowed, with the server's V8 flags. */
export function narrowedServeArgs(
  args: readonly string[],
  paths: ServedPaths,
  relaunch: { config: string; main: string },
): string[] {
  return [
    "run",
    "--no-prompt",
    `--v8-flags=${SERVER_V8_FLAGS.join(",")}`,
    "--config",
    relaunch.config,
    ...narrowedFlags(paths),
    relaunch.main,
    "serve",
    ...args,
  ];
}

/**
 * Runs `ferry serve ARGS` in a child `deno run` with narrowed permissions,
 * forwarding SIGINT, SIGTERM and SIGHUP, and resolves with its exit code.
 */
export async function serveNarrowed(
  args: string[],
  paths: ServedPaths,
  relaunch: { deno: string; config: string; main: string },
): Promise<number> {
  const child = new Deno.Command(relaunch.deno, {
    args: narrowedServeArgs(args, paths, relaunch),
    stdin: "null",
  }).spawn();
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  const listeners = FORWARDED_SIGNALS.map((signal) => [signal, forward(signal)] as const);
  for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
  try {
    return (await child.status).code;
  } finally {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  }
}
