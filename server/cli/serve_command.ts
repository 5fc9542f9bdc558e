/**
 * `ferry serve`: turns command-line options into a {@linkcode ServerConfig},
 * starts the server, and runs until SIGINT or SIGTERM.
 *
 * @module
 */

import { DEFAULT_CONFIG, parsePortRange, type ServerConfig } from "../config.ts";
import { ExitStatus } from "../../cli/exit_status.ts";
import { holdsBroadPermissions, relaunchCommand, serveNarrowed } from "./narrow_permissions.ts";
import { FtpServer } from "../server.ts";
import { isIPv4 } from "node:net";
import { checkPostgresPermissions, postgresServeEnv, resolveUsersUrl } from "./users_option.ts";

/** The options `ferry serve` accepts, as commander parses them. */
export interface ServeOptions {
  host?: string[];
  port?: string;
  root?: string;
  credentials?: string;
  anonymous?: boolean;
  pasvPorts?: string;
  pasvAddress?: string;
  idleTimeout?: string;
  dataTimeout?: string;
  maxSessions?: string;
  maxSessionsPerIp?: string;
  maxLoginFailures?: string;
  tlsCert?: string;
  tlsKey?: string;
  implicitTlsPort?: string;
  requireTls?: boolean;
  allowAnonymousClear?: boolean;
  tlsReuseOptional?: boolean;
  tlsMaxVersion?: string;
  atomicUploads?: boolean;
  shutdownGrace?: string;
  /** `postgres://…`: keep users (and shared quota usage and session counts) in PostgreSQL. */
  users?: string;
}

function parseInteger(text: string, name: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new RangeError(`Invalid ${name} "${text}", expected an integer ${min}-${max}`);
  }
  return value;
}

/**
 * Builds the server configuration from `ferry serve` options.
 *
 * @example
 * ```ts
 * serveConfig({ port: "2121", host: ["127.0.0.1"] }).port; // 2121
 * ```
 */
export function serveConfig(options: ServeOptions): ServerConfig {
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    hosts: options.host && options.host.length > 0 ? options.host : DEFAULT_CONFIG.hosts,
    port: options.port === undefined
      ? DEFAULT_CONFIG.port
      : parseInteger(options.port, "port", 0, 65535),
    root: options.root ?? DEFAULT_CONFIG.root,
    credentials: options.credentials ?? DEFAULT_CONFIG.credentials,
    anonymous: options.anonymous ?? false,
  };
  if (options.pasvPorts !== undefined) config.pasvPorts = parsePortRange(options.pasvPorts);
  if (options.pasvAddress !== undefined) {
    if (!isIPv4(options.pasvAddress)) {
      throw new RangeError(`Invalid --pasv-address "${options.pasvAddress}", expected IPv4`);
    }
    config.pasvAddress = options.pasvAddress;
  }
  if (options.idleTimeout !== undefined) {
    config.idleTimeoutMs = parseInteger(options.idleTimeout, "idle timeout", 1, 86400) * 1000;
  }
  if (options.dataTimeout !== undefined) {
    config.dataTimeoutMs = parseInteger(options.dataTimeout, "data timeout", 1, 86400) * 1000;
  }
  if (options.maxSessions !== undefined) {
    config.maxSessions = parseInteger(options.maxSessions, "max sessions", 1, 1_000_000);
  }
  if (options.maxSessionsPerIp !== undefined) {
    config.maxSessionsPerIp = parseInteger(
      options.maxSessionsPerIp,
      "max sessions per IP",
      1,
      1_000_000,
    );
  }
  if (options.maxLoginFailures !== undefined) {
    config.maxLoginFailures = parseInteger(options.maxLoginFailures, "max login failures", 1, 1000);
  }
  if (options.tlsCert !== undefined) config.tlsCert = options.tlsCert;
  if (options.tlsKey !== undefined) config.tlsKey = options.tlsKey;
  if (options.implicitTlsPort !== undefined) {
    config.implicitTlsPort = parseInteger(options.implicitTlsPort, "implicit TLS port", 0, 65535);
  }
  config.requireTls = options.requireTls ?? false;
  config.anonymousClear = options.allowAnonymousClear ?? false;
  config.tlsReuseOptional = options.tlsReuseOptional ?? false;
  if (options.tlsMaxVersion !== undefined) {
    const version = { "1.2": "TLSv1.2", "1.3": "TLSv1.3" }[options.tlsMaxVersion];
    if (version === undefined) {
      throw new RangeError(
        `Invalid --tls-max-version "${options.tlsMaxVersion}", expected 1.2 or 1.3`,
      );
    }
    config.tlsMaxVersion = version as ServerConfig["tlsMaxVersion"];
  }
  config.atomicUploads = options.atomicUploads ?? false;
  if (options.shutdownGrace !== undefined) {
    config.shutdownGraceMs = parseInteger(options.shutdownGrace, "shutdown grace", 0, 86400) *
      1000;
  }
  return config;
}

/**
 * Starts the server, prints the ready line, and resolves when a signal has
 * stopped it: the first SIGINT/SIGTERM stops accepting and lets running
 * transfers finish for up to `--shutdown-grace` seconds, a second one cuts
 * them short.
 */
export async function serve(options: ServeOptions, args: string[] = []): Promise<void> {
  const config = serveConfig(options);
  const usersUrl = resolveUsersUrl(options.users);
  const relaunch = holdsBroadPermissions() ? relaunchCommand() : undefined;
  if (relaunch) {
    // Broad read/write (an installed ferry, which is also the client): serve from a
    // child whose Deno permissions are narrowed to what the server needs.
    const code = await serveNarrowed(args, {
      root: config.root,
      credentials: config.credentials,
      ...(config.tlsCert ? { tlsCert: config.tlsCert } : {}),
      ...(config.tlsKey ? { tlsKey: config.tlsKey } : {}),
      ...(usersUrl !== undefined ? { env: postgresServeEnv() } : {}),
    }, relaunch);
    if (code !== 0) throw new ExitStatus(code);
    return;
  }
  let server: FtpServer;
  if (usersUrl !== undefined) {
    checkPostgresPermissions();
    const { startWithPostgres } = await import("./postgres_serve.ts");
    server = await startWithPostgres(config, usersUrl);
  } else {
    server = await FtpServer.start(config);
  }
  console.log(server.describe());
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const signalled = Promise.withResolvers<void>();
  let closing: Promise<void> | undefined;
  const stop = () => {
    if (closing) {
      console.error("ferry: stopping now");
      server.close({ graceMs: 0 });
      return;
    }
    console.error(
      `ferry: shutting down (running transfers get up to ${
        config.shutdownGraceMs / 1000
      } s; send the signal again to stop now)`,
    );
    closing = server.close({ graceMs: config.shutdownGraceMs });
    signalled.resolve();
  };
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    await signalled.promise;
    await closing;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}
