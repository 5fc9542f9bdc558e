/**
 * The server's settings, with their defaults.
 *
 * @module
 */

import type { PasvAddressRule } from "./proxy_protocol.ts";
import { DEFAULT_HOOK_SETTINGS, type HookConfig } from "./hooks/hook_config.ts";
import type { UserSettings } from "./auth/user_settings.ts";

/** Everything `ferry serve` can be told. */
export interface ServerConfig {
  /** Addresses to listen on. */
  hosts: string[];
  /** The control port (0 picks a free one). */
  port: number;
  /** The served root directory; users' homes are inside it. */
  root: string;
  /** The credentials file. */
  credentials: string;
  /** Allow anonymous read-only logins (RFC 1635). */
  anonymous: boolean;
  /** Passive ports to choose from, inclusive; any free port when absent. */
  pasvPorts?: [number, number];
  /** The IPv4 address PASV replies announce (for NAT); the control connection's local address when absent. */
  pasvAddress?: string;
  /** Per-network PASV addresses (`--pasv-address-for`): the first rule matching the client wins. */
  pasvAddressFor: PasvAddressRule[];
  /**
   * The PROXY protocol (`--proxy-protocol`): off when absent. "optional": connections
   * from {@linkcode ServerConfig.proxyTrusted} peers must start with a PROXY header,
   * others are served directly; "required": others are refused.
   */
  proxyProtocol?: "optional" | "required";
  /** The load balancers (CIDR networks) whose connections carry a PROXY header. */
  proxyTrusted: string[];
  /** How long a PROXY header may take to arrive, in milliseconds. */
  proxyHeaderTimeoutMs: number;
  /** Close a control connection idle this long, in milliseconds. */
  idleTimeoutMs: number;
  /** Give up on a data connection that does not connect or stalls this long, in milliseconds. */
  dataTimeoutMs: number;
  /** The longest command line accepted, in bytes. */
  maxLineLength: number;
  /** Most control connections at once; more get 421. */
  maxSessions: number;
  /** Most control connections at once from one address; more get 421. */
  maxSessionsPerIp: number;
  /** Failed logins in one session before it is closed with 421. */
  maxLoginFailures: number;
  /** The TLS certificate (PEM); with {@linkcode ServerConfig.tlsKey} it turns on FTPS. */
  /**
   * `postgres://USER:PASSWORD@HOST:PORT/DB`: users, quota usage and session
   * counts in PostgreSQL instead of the credentials file.
   */
  users?: string;
  tlsCert?: string;
  /** The TLS private key (PEM). */
  tlsKey?: string;
  /** A port for implicit FTPS (TLS from the first byte), on every host. */
  implicitTlsPort?: number;
  /** Refuse logins on a clear control connection and PROT C transfers. */
  requireTls: boolean;
  /** With requireTls: anonymous users may still log in and transfer in the clear. */
  anonymousClear: boolean;
  /** Accept PROT P data connections that do not resume the control connection's TLS session. */
  tlsReuseOptional: boolean;
  /**
   * The highest TLS version offered. "TLSv1.2" lets the server check that a data connection
   * resumed its own control connection's session (TLS 1.3 tickets are opaque to it).
   */
  tlsMaxVersion: "TLSv1.2" | "TLSv1.3";
  /**
   * The TLS engine: "auto" (OpenSSL over FFI when it can be loaded, else `node:tls`),
   * "openssl" (refuse to start without it) or "node".
   */
  tlsEngine: "auto" | "openssl" | "node";
  /**
   * STOR and STOU write to a hidden temporary name in the target's directory and rename it
   * over the target only when the whole upload arrived (APPE and REST+STOR still write in place).
   */
  atomicUploads: boolean;
  /** On SIGINT/SIGTERM, how long running transfers may go on before they are cut, in milliseconds. */
  shutdownGraceMs: number;
  /** Offer checksums: HASH, RANG, XCRC, XMD5, XSHA1, XSHA256, XSHA512 (off with `--no-hash`). */
  hash: boolean;
  /** The most bytes one checksum command may read. */
  hashMaxSize: number;
  /** Commands and webhooks run on events, and pre-upload/pre-delete checks (see server/hooks/). */
  hooks: HookConfig[];
  /** Most background hooks running at once. */
  maxConcurrentHooks: number;
  /** Most background hook runs waiting for a turn; more are dropped and counted. */
  hookQueueSize: number;
  /** How long a hook may run unless it sets its own timeout, in milliseconds. */
  hookTimeoutMs: number;
  /**
   * Per-user settings for every user who does not set their own: quotas, rates,
   * `max_sessions`, address lists (the `default_*` keys).
   */
  userDefaults: UserSettings;
  /** The whole server's upload rate cap, bytes per second; none when absent. */
  maxUploadRate?: number;
  /** The whole server's download rate cap, bytes per second; none when absent. */
  maxDownloadRate?: number;
  /** How log lines are written: `text` (time event key=value) or `json` (one object per line). */
  logFormat: "text" | "json";
  /** A file to write the log to instead of stderr. */
  logFile?: string;
  /** A file to append one wu-ftpd xferlog(5) line per finished or failed transfer to. */
  xferlog?: string;
  /** Where to serve Prometheus metrics and the health check; off when absent. */
  metrics?: { host: string; port: number };
}

/**
 * The default `--hash-max-size`: 64 GiB. One core hashes 400-700 MiB/s, so
 * this bounds a checksum to about two or three minutes of one core while
 * covering disk images and video masters, the large files people verify.
 */
export const DEFAULT_HASH_MAX_SIZE = 64 * 1024 ** 3;

/** The defaults `ferry serve` starts with. */
export const DEFAULT_CONFIG: ServerConfig = {
  hosts: ["127.0.0.1", "::1"],
  port: 2121,
  root: "./srv",
  credentials: "./credentials.txt",
  anonymous: false,
  pasvAddressFor: [],
  proxyTrusted: [],
  proxyHeaderTimeoutMs: 5_000,
  idleTimeoutMs: 300_000,
  dataTimeoutMs: 30_000,
  maxLineLength: 4096,
  maxSessions: 2000,
  maxSessionsPerIp: 100,
  maxLoginFailures: 5,
  requireTls: false,
  anonymousClear: false,
  tlsReuseOptional: false,
  tlsMaxVersion: "TLSv1.3",
  tlsEngine: "auto",
  atomicUploads: false,
  shutdownGraceMs: 30_000,
  hash: true,
  hashMaxSize: DEFAULT_HASH_MAX_SIZE,
  hooks: DEFAULT_HOOK_SETTINGS.hooks,
  maxConcurrentHooks: DEFAULT_HOOK_SETTINGS.maxConcurrent,
  hookQueueSize: DEFAULT_HOOK_SETTINGS.queueSize,
  hookTimeoutMs: DEFAULT_HOOK_SETTINGS.timeoutMs,
  userDefaults: {},
  logFormat: "text",
};

/**
 * Parses a `--pasv-ports` value such as "50000-50999".
 *
 * @example
 * ```ts
 * parsePortRange("50000-50999"); // [50000, 50999]
 * ```
 */
export function parsePortRange(text: string): [number, number] {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(text.trim());
  const low = Number(match?.[1]);
  const high = Number(match?.[2]);
  if (!match || low < 1 || high > 65535 || low > high) {
    throw new RangeError(`Invalid port range "${text}", expected LOW-HIGH within 1-65535`);
  }
  return [low, high];
}
