/**
 * `ferry serve`: resolves the settings (flags, `FERRY_*` environment, the
 * `--config` file, defaults), starts the server with its log, transfer log
 * and metrics, and runs until SIGINT or SIGTERM; SIGHUP reloads.
 *
 * @module
 */

import type { ServerConfig } from "../config.ts";
import { ExitStatus } from "../../cli/exit_status.ts";
import { holdsBroadPermissions, relaunchCommand, serveNarrowed } from "./narrow_permissions.ts";
import { FtpServer, StartupError } from "../server.ts";
import { Logger } from "../log.ts";
import { formatSettings, resolveSettings, toServerConfig } from "../ops/resolve_settings.ts";
import { loadServeSettings } from "../ops/load_settings.ts";
import { parseServeArgs, type ServeRequest } from "./serve_cli.ts";
import { XferLog } from "../ops/xferlog.ts";
import { AppendFile } from "../ops/append_file.ts";
import { ServerMetrics } from "../ops/metrics.ts";
import { MetricsEndpoint } from "../ops/metrics_http.ts";
import { Reloader } from "../ops/reload.ts";
import { checkPostgresPermissions } from "./users_option.ts";
import { POSTGRES_DRIVER_ENV } from "../postgres/postgres_url.ts";
import { hookExecutables } from "../hooks/hook_config.ts";
import { openSslOrigin } from "../../transport/tls/openssl.ts";

/**
 * Builds the server configuration from flags given by key (for tests and
 * embedding): no file, no environment.
 *
 * @example
 * ```ts
 * serveConfig({ port: "2121", host: ["127.0.0.1"] }).port; // 2121
 * ```
 */
export function serveConfig(flags: ServeRequest["flags"] = {}): ServerConfig {
  return toServerConfig(resolveSettings({ flags }));
}

/**
 * The libssl a narrowed server may load: the one this process loads, when
 * TLS is configured on an engine that may be OpenSSL.
 */
function opensslLibrary(config: ServerConfig): { ffiLibrary?: string } {
  if (config.tlsCert === undefined || config.tlsEngine === "node") return {};
  const { path } = openSslOrigin();
  return path === undefined ? {} : { ffiLibrary: path };
}

/**
 * Runs `ferry serve` with the arguments after `serve`: parses them, then
 * {@linkcode serve}.
 */
export async function runServe(args: string[]): Promise<void> {
  await serve(parseServeArgs(args), args);
}

/**
 * Starts the server, prints the ready line, and resolves when a signal has
 * stopped it: the first SIGINT/SIGTERM stops accepting and lets running
 * transfers finish for up to `shutdown_grace` seconds, a second one cuts
 * them short. SIGHUP reloads the configuration file, the users and the TLS
 * certificate (see {@linkcode Reloader}).
 */
export async function serve(request: ServeRequest, args: string[] = []): Promise<void> {
  const loaded = await loadServeSettings(request);
  const { config } = loaded;
  if (request.printConfig) {
    await writeStdout(formatSettings(loaded.settings));
    return;
  }
  const relaunch = holdsBroadPermissions() ? relaunchCommand() : undefined;
  if (relaunch) {
    // Broad read/write (an installed ferry, which is also the client): serve from a
    // child whose Deno permissions are narrowed to what the server needs.
    const code = await serveNarrowed(args, {
      root: config.root,
      credentials: config.credentials,
      ...(config.tlsCert ? { tlsCert: config.tlsCert } : {}),
      ...(config.tlsKey ? { tlsKey: config.tlsKey } : {}),
      ...(loaded.configPath !== undefined ? { config: loaded.configPath } : {}),
      logFiles: [config.xferlog, config.logFile].filter((file) => file !== undefined),
      ...(config.users !== undefined ? { env: [...POSTGRES_DRIVER_ENV] } : {}),
      hookCommands: hookExecutables(config.hooks),
      ...opensslLibrary(config),
    }, relaunch);
    if (code !== 0) throw new ExitStatus(code);
    return;
  }
  const logFile = config.logFile !== undefined ? await openLog(config.logFile) : undefined;
  const logger = new Logger(logFile ? (line) => logFile.writeLine(line) : undefined, {
    format: config.logFormat,
  });
  const xferlog = config.xferlog !== undefined
    ? await openLog(config.xferlog, XferLog.open)
    : undefined;
  const metrics = config.metrics !== undefined ? new ServerMetrics() : undefined;
  let server: FtpServer;
  if (config.users !== undefined) {
    // Users, quota usage and session counts in PostgreSQL, shared by instances.
    checkPostgresPermissions();
    const { startWithPostgres } = await import("./postgres_serve.ts");
    server = await startWithPostgres(config, config.users, { logger });
  } else {
    server = await FtpServer.start(config, { logger });
  }
  const stopXferlog = xferlog ? server.events.on(xferlog.listener) : undefined;
  const stopMetrics = metrics ? server.events.on(metrics.listener) : undefined;
  let endpoint: MetricsEndpoint | undefined;
  if (config.metrics !== undefined && metrics) {
    try {
      endpoint = MetricsEndpoint.start(config.metrics, metrics, server);
    } catch (error) {
      await server.close();
      throw error;
    }
  }
  const reloader = new Reloader({
    server,
    logger,
    request,
    current: loaded.settings,
    ...(xferlog ? { xferlog } : {}),
    ...(logFile ? { logFile } : {}),
  });
  console.log(server.describe() + (endpoint ? `; metrics on ${endpoint.url}` : ""));
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const signalled = Promise.withResolvers<void>();
  let closing: Promise<void> | undefined;
  const stop = () => {
    if (closing) {
      console.error("ferry: stopping now");
      server.close({ graceMs: 0 });
      return;
    }
    const graceMs = server.config.shutdownGraceMs;
    console.error(
      `ferry: shutting down (running transfers get up to ${
        graceMs / 1000
      } s; send the signal again to stop now)`,
    );
    closing = server.close({ graceMs });
    signalled.resolve();
  };
  const reload = () => {
    if (!closing) reloader.reload();
  };
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  Deno.addSignalListener("SIGHUP", reload);
  try {
    await signalled.promise;
    await closing;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
    Deno.removeSignalListener("SIGHUP", reload);
    await endpoint?.close();
    stopXferlog?.();
    stopMetrics?.();
    xferlog?.close();
    logFile?.close();
  }
}

/** Opens a log file, or says which one cannot be opened and why. */
async function openLog<T = AppendFile>(
  file: string,
  open: (file: string) => Promise<T> = AppendFile.open as (file: string) => Promise<T>,
): Promise<T> {
  try {
    return await open(file);
  } catch (error) {
    throw new StartupError(`Cannot open log file ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function writeStdout(text: string): Promise<void> {
  const data = new TextEncoder().encode(text);
  let written = 0;
  while (written < data.length) written += await Deno.stdout.write(data.subarray(written));
}
