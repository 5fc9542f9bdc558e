/**
 * The settings table: every `ferry serve` setting, once. The command-line
 * flags, the `FERRY_*` environment variables, the TOML file's keys and their
 * checks, `--print-config`, `ferry.example.toml`, the Deno `--allow-env`
 * list and what SIGHUP may change live are all derived from it.
 *
 * Adding a setting is one entry in {@linkcode SETTINGS}: its key (snake_case;
 * the flag is the key with `-` for `_`, the environment variable `FERRY_`
 * and the key in capitals), its kind (see `setting_kinds.ts`), its default,
 * one line of help, whether SIGHUP applies it live, and how it lands in the
 * {@linkcode ServerConfig} the server runs with.
 *
 * @module
 */

import { DEFAULT_HASH_MAX_SIZE, type ServerConfig } from "../config.ts";
import { hookList } from "../hooks/hook_setting.ts";
import { pasvAddressRules } from "../proxy_protocol.ts";
import {
  boolean,
  choice,
  cidr,
  hostPort,
  integer,
  ipAddress,
  ipv4,
  type Kind,
  list,
  path,
  portRange,
  seconds,
  size,
  url,
} from "./setting_kinds.ts";

/** One setting: a key of the file, a flag, an environment variable. */
export interface Setting<T = unknown> {
  /** The TOML key, in snake_case; the flag is `--` and the key with `-` for `_`. */
  readonly key: string;
  /** How values are read, checked and written. */
  readonly kind: Kind<T>;
  /** The value when nothing sets it; a setting without one is off until set. */
  readonly default?: T;
  /** One line on what it does (the flag's help and the example file's comment). */
  readonly help: string;
  /** True when SIGHUP applies a new value; false when it needs a restart (kept until then). */
  readonly live: boolean;
  /** True when `--print-config` must hide the value (or its secret part, see {@linkcode Kind.redact}). */
  readonly secret?: boolean;
  /** An example value for `ferry.example.toml` when there is no default. */
  readonly example?: T;
  /** Puts the value into the server's configuration. */
  readonly apply: (config: ServerConfig, value: T) => void;
}

/** Builds a table entry, keeping the value type of its kind, default and apply together. */
function setting<T>(entry: Omit<Setting<NoInfer<T>>, "kind"> & { kind: Kind<T> }): Setting {
  return entry as unknown as Setting;
}

/**
 * Every `ferry serve` setting. Keep them in the order the help and the
 * example file show them.
 */
export const SETTINGS: readonly Setting[] = [
  setting({
    key: "host",
    kind: list(ipAddress(), 1),
    default: ["127.0.0.1", "::1"],
    help: "addresses to listen on (a flag may be repeated)",
    live: false,
    apply: (config, hosts) => config.hosts = hosts,
  }),
  setting({
    key: "port",
    kind: integer(0, 65535, "<port>"),
    default: 2121,
    help: "control port (0 picks a free one)",
    live: false,
    apply: (config, port) => config.port = port,
  }),
  setting({
    key: "root",
    kind: path("<dir>"),
    default: "./srv",
    help: "directory to serve; users' homes are inside it",
    live: false,
    apply: (config, root) => config.root = root,
  }),
  setting({
    key: "credentials",
    kind: path(),
    default: "./credentials.txt",
    help: "credentials file (its users are re-read on SIGHUP)",
    live: false,
    apply: (config, file) => config.credentials = file,
  }),
  setting({
    key: "users",
    kind: url(["postgres:", "postgresql:"]),
    help: "keep users, quota usage and session counts in PostgreSQL, shared by instances " +
      "(postgres://USER:PASSWORD@HOST:PORT/DB); the credentials file when unset",
    example: "postgres://ferry:secret@127.0.0.1:5432/ferry",
    secret: true,
    // The store, its pool and its listener are made at start; users in it change live anyway.
    live: false,
    apply: (config, value) => config.users = value,
  }),
  setting({
    key: "anonymous",
    kind: boolean(),
    default: false,
    help: "allow anonymous read-only logins (user anonymous or ftp)",
    live: true,
    apply: (config, on) => config.anonymous = on,
  }),
  setting({
    key: "pasv_ports",
    kind: portRange(),
    help: "passive data ports to use, e.g. 50000-50999 (any free port when unset)",
    example: [50000, 50999],
    // The server's one passive port pool is made with the range at start.
    live: false,
    apply: (config, range) => config.pasvPorts = range,
  }),
  setting({
    key: "pasv_address",
    kind: ipv4(),
    help: "address announced in PASV replies, for NAT (the control connection's when unset)",
    example: "203.0.113.10",
    live: true,
    apply: (config, address) => config.pasvAddress = address,
  }),
  setting({
    key: "pasv_address_for",
    kind: pasvAddressRules(),
    default: [],
    help: "address announced in PASV replies to clients of a network, NETWORK=IPV4 (repeatable)",
    example: [{ network: "10.0.0.0/8", address: "10.1.2.3" }],
    live: false,
    apply: (config, rules) => config.pasvAddressFor = rules,
  }),
  setting({
    key: "proxy_protocol",
    kind: choice(["off", "optional", "required"] as const),
    default: "off",
    help: "PROXY protocol v1/v2 from --proxy-trusted balancers (required: refuse everyone else)",
    live: false,
    apply: (config, mode) => {
      if (mode === "off") delete config.proxyProtocol;
      else config.proxyProtocol = mode;
    },
  }),
  setting({
    key: "proxy_trusted",
    kind: list(cidr()),
    default: [],
    help: "load balancers that send PROXY headers, as networks (repeatable)",
    example: ["127.0.0.1/32", "10.0.0.0/24"],
    live: false,
    apply: (config, networks) => config.proxyTrusted = networks,
  }),
  setting({
    key: "proxy_header_timeout",
    kind: seconds(1, 60),
    default: 5,
    help: "how long a trusted connection may take to send its PROXY header",
    live: false,
    apply: (config, value) => config.proxyHeaderTimeoutMs = value * 1000,
  }),
  setting({
    key: "idle_timeout",
    kind: seconds(1, 86400),
    default: 300,
    help: "close idle control connections after this many seconds",
    live: true,
    apply: (config, value) => config.idleTimeoutMs = value * 1000,
  }),
  setting({
    key: "data_timeout",
    kind: seconds(1, 86400),
    default: 30,
    help: "give up on a data connection after this many seconds",
    live: true,
    apply: (config, value) => config.dataTimeoutMs = value * 1000,
  }),
  setting({
    key: "max_sessions",
    kind: integer(1, 1_000_000),
    default: 2000,
    help: "most control connections at once",
    live: true,
    apply: (config, value) => config.maxSessions = value,
  }),
  setting({
    key: "max_sessions_per_ip",
    kind: integer(1, 1_000_000),
    default: 100,
    help: "most control connections at once from one address",
    live: true,
    apply: (config, value) => config.maxSessionsPerIp = value,
  }),
  setting({
    key: "max_login_failures",
    kind: integer(1, 1000),
    default: 5,
    help: "failed logins before a session is closed",
    live: true,
    apply: (config, value) => config.maxLoginFailures = value,
  }),
  setting({
    key: "atomic_uploads",
    kind: boolean(),
    default: false,
    help: "STOR/STOU write to a hidden temporary name, renamed over the target on success",
    live: true,
    apply: (config, on) => config.atomicUploads = on,
  }),
  setting({
    key: "shutdown_grace",
    kind: seconds(0, 86400),
    default: 30,
    help: "on SIGINT/SIGTERM, let running transfers finish for up to this many seconds",
    live: true,
    apply: (config, value) => config.shutdownGraceMs = value * 1000,
  }),
  setting({
    key: "tls_cert",
    kind: path(),
    help: "TLS certificate (PEM); with tls_key turns on FTPS (AUTH TLS); re-read on SIGHUP",
    example: "/etc/ferry/cert.pem",
    live: false,
    apply: (config, file) => config.tlsCert = file,
  }),
  setting({
    key: "tls_key",
    kind: path(),
    help: "TLS private key (PEM); re-read on SIGHUP",
    example: "/etc/ferry/key.pem",
    live: false,
    apply: (config, file) => config.tlsKey = file,
  }),
  setting({
    key: "implicit_tls_port",
    kind: integer(0, 65535, "<port>"),
    help: "also listen for implicit FTPS (TLS from the start) on this port",
    example: 990,
    live: false,
    apply: (config, port) => config.implicitTlsPort = port,
  }),
  setting({
    key: "require_tls",
    kind: boolean(),
    default: false,
    help: "refuse login on a clear control connection and PROT C transfers",
    live: true,
    apply: (config, on) => config.requireTls = on,
  }),
  setting({
    key: "allow_anonymous_clear",
    kind: boolean(),
    default: false,
    help: "with require_tls: anonymous may still use clear FTP",
    live: true,
    apply: (config, on) => config.anonymousClear = on,
  }),
  setting({
    key: "tls_reuse_optional",
    kind: boolean(),
    default: false,
    help: "accept PROT P data connections that do not resume the control connection's TLS session",
    live: true,
    apply: (config, on) => config.tlsReuseOptional = on,
  }),
  setting({
    key: "tls_max_version",
    kind: choice(["1.2", "1.3"] as const),
    default: "1.3",
    help: "highest TLS version offered (on the node engine, 1.2 lets the full session check run)",
    live: true,
    apply: (config, version) => config.tlsMaxVersion = version === "1.2" ? "TLSv1.2" : "TLSv1.3",
  }),
  setting({
    key: "tls_engine",
    kind: choice(["auto", "openssl", "node"] as const),
    default: "auto",
    help: "TLS engine: auto (OpenSSL over FFI if libssl 3 loads, else node), openssl or node",
    live: false,
    apply: (config, engine) => config.tlsEngine = engine,
  }),
  setting({
    key: "hash",
    kind: boolean(),
    default: true,
    help: "offer checksums: HASH, RANG, XCRC, XMD5, XSHA1, XSHA256, XSHA512 (--no-hash: off)",
    live: true,
    apply: (config, on) => config.hash = on,
  }),
  setting({
    key: "hash_max_size",
    kind: size(),
    default: DEFAULT_HASH_MAX_SIZE,
    help: "the most bytes one checksum command may read",
    live: true,
    apply: (config, bytes) => config.hashMaxSize = bytes,
  }),
  setting({
    key: "hook",
    kind: hookList(),
    default: [],
    help: "run a command or webhook on an event: EVENT=COMMAND (flag) or [[hook]] tables",
    example: [{ events: ["upload"], command: ["/usr/local/bin/on-upload"] }],
    live: false,
    secret: true,
    apply: (config, hooks) => config.hooks = hooks,
  }),
  setting({
    key: "hook_timeout",
    kind: seconds(1, 3600),
    default: 30,
    help: "how long a hook may run unless its table sets its own timeout, in seconds",
    live: false,
    apply: (config, value) => config.hookTimeoutMs = value * 1000,
  }),
  setting({
    key: "max_concurrent_hooks",
    kind: integer(1, 1000),
    default: 4,
    help: "most background hooks running at once",
    live: false,
    apply: (config, n) => config.maxConcurrentHooks = n,
  }),
  setting({
    key: "hook_queue_size",
    kind: integer(0, 1_000_000),
    default: 1000,
    help: "most background hook runs waiting for a turn; more are dropped and counted",
    live: false,
    apply: (config, n) => config.hookQueueSize = n,
  }),
  setting({
    key: "log_format",
    kind: choice(["text", "json"] as const),
    default: "text",
    help: "log lines on stderr as text (time event key=value) or json (one object per line)",
    live: true,
    apply: (config, format) => config.logFormat = format,
  }),
  setting({
    key: "log_file",
    kind: path(),
    help:
      "write the log to this file instead of stderr (without systemd or a container); reopened on SIGHUP",
    example: "/var/log/ferry/ferry.log",
    live: false,
    apply: (config, file) => config.logFile = file,
  }),
  setting({
    key: "xferlog",
    kind: path(),
    help: "append one wu-ftpd xferlog(5) line per transfer to this file; reopened on SIGHUP",
    example: "/var/log/ferry/xferlog",
    live: false,
    apply: (config, file) => config.xferlog = file,
  }),
  setting({
    key: "metrics",
    kind: hostPort(),
    help: "serve Prometheus /metrics and /healthz on this HOST:PORT (off when unset)",
    example: { host: "127.0.0.1", port: 9121 },
    live: false,
    apply: (config, address) => config.metrics = address,
  }),
  setting({
    key: "default_quota_size",
    kind: size(),
    help: "most bytes a user without a quota_size of their own may store (unlimited when unset)",
    example: 10 * 2 ** 30,
    live: true,
    apply: (config, bytes) => config.userDefaults = { ...config.userDefaults, quotaSize: bytes },
  }),
  setting({
    key: "default_quota_files",
    kind: integer(0, Number.MAX_SAFE_INTEGER, "<n>"),
    help: "most files a user without a quota_files of their own may store (unlimited when unset)",
    example: 100000,
    live: true,
    apply: (config, files) => config.userDefaults = { ...config.userDefaults, quotaFiles: files },
  }),
  setting({
    key: "default_upload_rate",
    kind: size(),
    help:
      "upload cap in bytes/s for a user without one, shared by their sessions (none when unset)",
    example: 10 * 2 ** 20,
    live: true,
    apply: (config, rate) => config.userDefaults = { ...config.userDefaults, uploadRate: rate },
  }),
  setting({
    key: "default_download_rate",
    kind: size(),
    help:
      "download cap in bytes/s for a user without one, shared by their sessions (none when unset)",
    example: 10 * 2 ** 20,
    live: true,
    apply: (config, rate) => config.userDefaults = { ...config.userDefaults, downloadRate: rate },
  }),
  setting({
    key: "default_max_sessions",
    kind: integer(1, 1_000_000, "<n>"),
    help:
      "most sessions at once for a user without a max_sessions of their own (unlimited when unset)",
    example: 10,
    live: true,
    apply: (config, n) => config.userDefaults = { ...config.userDefaults, maxSessions: n },
  }),
  setting({
    key: "default_allow_from",
    kind: list(cidr()),
    help:
      "networks a user without an allow_from of their own may log in from (anywhere when unset)",
    example: ["10.0.0.0/8", "2001:db8::/32"],
    live: true,
    apply: (config, blocks) => config.userDefaults = { ...config.userDefaults, allowFrom: blocks },
  }),
  setting({
    key: "default_deny_from",
    kind: list(cidr()),
    help: "networks a user without a deny_from of their own may never log in from",
    example: ["192.0.2.0/24"],
    live: true,
    apply: (config, blocks) => config.userDefaults = { ...config.userDefaults, denyFrom: blocks },
  }),
  setting({
    key: "max_upload_rate",
    kind: size(),
    help: "the whole server's upload cap in bytes/s, over every user (none when unset)",
    example: 100 * 2 ** 20,
    live: true,
    apply: (config, rate) => config.maxUploadRate = rate,
  }),
  setting({
    key: "max_download_rate",
    kind: size(),
    help: "the whole server's download cap in bytes/s, over every user (none when unset)",
    example: 100 * 2 ** 20,
    live: true,
    apply: (config, rate) => config.maxDownloadRate = rate,
  }),
];

/** The setting named `key`, or undefined. */
export function findSetting(key: string): Setting | undefined {
  return SETTINGS.find((entry) => entry.key === key);
}

/**
 * A setting's command-line flag: `--` and the key with `-` for `_`; a
 * boolean that defaults to on gets `--no-KEY`.
 *
 * @example
 * ```ts
 * flagName(findSetting("max_sessions")!); // "--max-sessions"
 * ```
 */
export function flagName(entry: Setting): string {
  const name = entry.key.replaceAll("_", "-");
  return entry.kind.argName === undefined && entry.default === true ? `--no-${name}` : `--${name}`;
}

/**
 * A setting's environment variable: `FERRY_` and the key in capitals.
 *
 * @example
 * ```ts
 * envName(findSetting("port")!); // "FERRY_PORT"
 * ```
 */
export function envName(entry: Setting): string {
  return `FERRY_${entry.key.toUpperCase()}`;
}

/** The environment variable naming the configuration file (like `--config`). */
export const CONFIG_ENV = "FERRY_CONFIG";

/** Every environment variable `ferry serve` reads: {@linkcode CONFIG_ENV} and one per setting. */
export function servedEnvNames(): string[] {
  return [CONFIG_ENV, ...SETTINGS.map(envName)];
}
