/**
 * The servers a benchmark measures, behind one interface: ferry started as a
 * subprocess of `main.ts serve`, and the peers (vsftpd, pyftpdlib, pure-ftpd)
 * through the interop tests' {@linkcode startPeerServer}. Every one gets its
 * root on /dev/shm (tmpfs), one user who may read and write, a passive port
 * range of the same size and room for the same number of sessions.
 *
 * @module
 */

import * as path from "node:path";
import { ffiFlags, SERVER_V8_FLAGS } from "../server/cli/narrow_permissions.ts";
import { openSslOrigin } from "../transport/tls/openssl.ts";
import {
  freePort,
  freePortRange,
  PEER_SERVERS,
  type PeerServerName,
  startPeerServer,
} from "../tests/interop/servers.ts";

/**
 * A server the benchmark can measure. `ferry-metrics` is ferry with
 * `--metrics` on and scraped every {@linkcode METRICS_SCRAPE_MS}: the cost of
 * counting, side by side with plain ferry (`--servers ferry,ferry-metrics`).
 * `ferry-limits` is ferry with every per-user limit and both global rate caps
 * configured but far from reached ({@linkcode LIMITS_USER_SETTINGS}), a TLS
 * certificate, and a second user capped at {@linkcode CAPPED_RATE} (the
 * `ratecap` workload): the cost of limits, side by side with plain ferry.
 */
export type BenchServerName = "ferry" | "ferry-metrics" | "ferry-limits" | PeerServerName;

/** The ferry variants (started from main.ts, not from the peers' packages). */
export type FerryVariant = "ferry" | "ferry-metrics" | "ferry-limits";

/** True for ferry and its variants. */
export function isFerry(name: BenchServerName): name is FerryVariant {
  return name === "ferry" || name === "ferry-metrics" || name === "ferry-limits";
}

/** Every server a full pass measures, in the order the table shows them. */
export const BENCH_SERVERS: readonly BenchServerName[] = ["ferry", ...PEER_SERVERS];

/** Servers measured only when `--servers` names them. */
export const EXTRA_BENCH_SERVERS: readonly BenchServerName[] = ["ferry-metrics", "ferry-limits"];

/**
 * `ferry user add` flags that give the bench user of `ferry-limits` every
 * per-user limit, each far from what a run reaches: a quota of 1 TiB and ten
 * million files (the tmpfs holds 12 GiB), rates of 64 GiB/s (loopback moves
 * about 4), 20,000 sessions (the workloads open at most 10,000) and address
 * rules that let 127.0.0.0/8 in.
 */
export const LIMITS_USER_SETTINGS: readonly string[] = [
  "--quota-size",
  "1T",
  "--quota-files",
  "10000000",
  "--upload-rate",
  "64G",
  "--download-rate",
  "64G",
  "--max-sessions",
  "20000",
  "--allow-from",
  "127.0.0.0/8",
  "--deny-from",
  "192.0.2.0/24",
];

/** `ferry serve` flags of `ferry-limits`: global caps far above loopback too. */
const LIMITS_SERVE_FLAGS: readonly string[] = [
  "--max-upload-rate",
  "64G",
  "--max-download-rate",
  "64G",
];

/** The rate cap of `ferry-limits`' capped user, in bytes per second (20 MiB/s). */
export const CAPPED_RATE = 20 * 1024 * 1024;

/** The user of `ferry-limits` held to {@linkcode CAPPED_RATE} both ways. */
const CAPPED_USER = { name: "capped", password: "capped-pass-1" } as const;

/** How often the benchmark scrapes `ferry-metrics` (a busy Prometheus: 5 s). */
export const METRICS_SCRAPE_MS = 5000;

/**
 * Where roots go: a tmpfs, so the disk is not what is measured. Deno asks
 * for --allow-all to touch anything under /dev, so ferry cannot serve from
 * /dev/shm with scoped permissions; {@linkcode mountBenchTmp} mounts a tmpfs
 * of its own instead (the same kind of file system as /dev/shm).
 */
export interface BenchTmp {
  /** The directory roots are made in. */
  dir: string;
  /** True if ferry runs with only --allow-net and scoped read/write (false: --allow-all). */
  scopedPermissions: boolean;
  /** Unmounts and removes the directory. */
  release(): Promise<void>;
}

/** How large the benchmark's own tmpfs may grow. */
const TMPFS_SIZE = "12g";

/**
 * Mounts a tmpfs at a fresh directory under /tmp (needs root); where that
 * fails, falls back to /dev/shm, and ferry then runs with --allow-all.
 *
 * @example
 * ```ts
 * const tmp = await mountBenchTmp();
 * // … start servers with { tmp } …
 * await tmp.release();
 * ```
 */
export async function mountBenchTmp(): Promise<BenchTmp> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-bench-tmpfs-" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${TMPFS_SIZE},mode=0755`, "ferry-bench", dir],
    stdout: "null",
    stderr: "piped",
  }).output().catch(() => undefined);
  if (mount?.success) {
    return {
      dir,
      scopedPermissions: true,
      async release() {
        await new Deno.Command("umount", { args: [dir] }).output();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
  }
  await Deno.remove(dir);
  return { dir: "/dev/shm", scopedPermissions: false, release: () => Promise.resolve() };
}

/** The user ferry is given (peers use their own, PEER_USER). */
const FERRY_USER = { name: "bench", password: "bench-pass-1" } as const;

/** Longest ferry may take to print its listening line, in milliseconds. */
const FERRY_START_TIMEOUT_MS = 30_000;

/** A running server the workloads talk to. */
export interface BenchServer {
  name: BenchServerName;
  host: string;
  port: number;
  user: string;
  password: string;
  /** The process whose tree holds the server (for memory). */
  pid: number;
  /** The real directory the user sees as "/". */
  root: string;
  /** A second user held to a rate cap both ways (`ferry-limits` only). */
  capped?: { user: string; password: string; rate: number };
  /** True if the server speaks explicit FTPS (`AUTH TLS`; `ferry-limits` only). */
  tls?: boolean;
  /** Makes a file of `size` bytes at a virtual path, readable and writable by the server. */
  createFile(virtualPath: string, size: number): Promise<void>;
  /** Makes `count` files of `size` bytes named `f00000`… in a virtual directory (made too). */
  createFiles(virtualDir: string, count: number, size: number): Promise<void>;
  /** Makes a directory the server may write into. */
  mkdir(virtualPath: string): Promise<void>;
  /** Removes a virtual path (recursively), if it exists. */
  remove(virtualPath: string): Promise<void>;
  stop(): Promise<void>;
}

/** Options for {@linkcode startBenchServer}. */
export interface StartBenchServerOptions {
  /** Where the server's root goes (from {@linkcode mountBenchTmp}). */
  tmp: BenchTmp;
  /**
   * Sessions each server accepts at once.
   * @default {10100}
   */
  maxSessions?: number;
  /**
   * Passive ports each server gets.
   * @default {200}
   */
  passivePortCount?: number;
  /** Extra `ferry serve` options (ferry only), e.g. `["--hook", "upload=/bin/true"]`. */
  serveArgs?: string[];
  /** Executables ferry may run (its hooks'), for its `--allow-run` (ferry only). */
  allowRun?: string[];
  /**
   * FTPS: the certificate and key files (PEM). ferry then offers AUTH TLS;
   * vsftpd requires TLS for logins and data; other peers cannot.
   */
  tls?: { cert: string; key: string };
}

/** A 4 MiB block of bytes that are not all the same, for files and uploads. */
export function patternBlock(size = 4 * 1024 * 1024): Uint8Array {
  const block = new Uint8Array(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block[i] = x & 0xff;
  }
  return block;
}

let _block: Uint8Array | undefined;

async function _writeSized(file: string, size: number): Promise<void> {
  _block ??= patternBlock();
  using handle = await Deno.open(file, { write: true, create: true, truncate: true });
  let written = 0;
  while (written < size) {
    const part = Math.min(_block.length, size - written);
    let offset = 0;
    while (offset < part) offset += await handle.write(_block.subarray(offset, part));
    written += part;
  }
}

/** The file operations every server shares, given its root and the owner of its files. */
function _files(root: string, owner: { uid: number; gid: number } | undefined) {
  const real = (virtualPath: string) => path.join(root, virtualPath.replace(/^\/+/, ""));
  const own = async (file: string) => {
    if (owner) await Deno.chown(file, owner.uid, owner.gid);
  };
  const mkdir = async (virtualPath: string) => {
    const target = real(virtualPath);
    await Deno.mkdir(target, { recursive: true, mode: 0o755 });
    await own(target);
  };
  return {
    mkdir,
    async createFile(virtualPath: string, size: number) {
      const file = real(virtualPath);
      await _writeSized(file, size);
      await own(file);
    },
    async createFiles(virtualDir: string, count: number, size: number) {
      await mkdir(virtualDir);
      const dir = real(virtualDir);
      const content = (_block ??= patternBlock()).subarray(0, size);
      for (let i = 0; i < count; i++) {
        const file = path.join(dir, `f${String(i).padStart(5, "0")}`);
        await Deno.writeFile(file, content);
        await own(file);
      }
    },
    async remove(virtualPath: string) {
      await Deno.remove(real(virtualPath), { recursive: true }).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    },
  };
}

function _delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads a stream to its end, handing each decoded chunk to `onText`. */
async function _drain(
  stream: ReadableStream<Uint8Array>,
  onText: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) onText(decoder.decode(chunk, { stream: true }));
}

/** The repository's root (where main.ts is). */
const REPO = path.resolve(import.meta.dirname ?? ".", "..");

/** Runs `main.ts` with `args` (and `stdin`, if given); throws with its stderr if it fails. */
async function _ferryCommand(args: string[], stdin?: string): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}/main.ts`, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const done = await child.output();
  if (!done.success) {
    throw new Error(
      `ferry ${args.slice(0, 2).join(" ")} failed: ${new TextDecoder().decode(done.stderr)}`,
    );
  }
}

/** Adds a user to a credentials file with `ferry user add`, with `settings` flags. */
async function _addFerryUser(
  credentials: string,
  user: { name: string; password: string },
  settings: readonly string[],
): Promise<void> {
  await _ferryCommand(
    ["user", "add", user.name, "--password-stdin", "--credentials", credentials, ...settings],
    `${user.password}\n`,
  );
}

async function _startFerry(
  options: Required<Omit<StartBenchServerOptions, "tls">> & Pick<StartBenchServerOptions, "tls">,
  name: FerryVariant = "ferry",
): Promise<BenchServer> {
  const base = await Deno.makeTempDir({ dir: options.tmp.dir, prefix: "ferry-bench-ferry-" });
  const root = `${base}/root`;
  const credentials = `${base}/credentials.txt`;
  await Deno.mkdir(root);
  const limited = name === "ferry-limits";
  await _addFerryUser(credentials, FERRY_USER, limited ? LIMITS_USER_SETTINGS : []);
  const cert = `${base}/cert.pem`;
  const key = `${base}/key.pem`;
  if (limited) {
    const rate = String(CAPPED_RATE);
    await _addFerryUser(credentials, CAPPED_USER, ["--upload-rate", rate, "--download-rate", rate]);
    await _ferryCommand([
      "cert",
      "make",
      "--out-cert",
      cert,
      "--out-key",
      key,
      "--host",
      "127.0.0.1",
    ]);
  }
  const host = "127.0.0.1";
  const port = freePort(host);
  const [low, high] = freePortRange(host, options.passivePortCount);
  const metricsPort = name === "ferry-metrics" ? freePort(host) : undefined;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      // As `deno task serve` and the installed command run the server.
      `--v8-flags=${SERVER_V8_FLAGS.join(",")}`,
      ...(options.tmp.scopedPermissions
        ? [
          "--allow-net",
          `--allow-read=${[
            root,
            credentials,
            ...(options.tls ? [options.tls.cert, options.tls.key] : []),
            ...(limited ? [cert, key] : []),
          ]}`,
          `--allow-write=${root}`,
          // As the narrowed server runs: TLS on the system's OpenSSL.
          ...ffiFlags(openSslOrigin().path),
        ]
        : ["--allow-all"]),
      ...(options.allowRun.length > 0 ? [`--allow-run=${options.allowRun.join(",")}`] : []),
      `${REPO}/main.ts`,
      "serve",
      "--port",
      String(port),
      "--host",
      host,
      "--root",
      root,
      "--credentials",
      credentials,
      "--pasv-ports",
      `${low}-${high}`,
      "--max-sessions",
      String(options.maxSessions),
      "--max-sessions-per-ip",
      String(options.maxSessions),
      "--idle-timeout",
      "3600",
      ...options.serveArgs,
      ...(metricsPort !== undefined ? ["--metrics", `${host}:${metricsPort}`] : []),
      ...(limited ? LIMITS_SERVE_FLAGS : []),
      ...(options.tls
        ? ["--tls-cert", options.tls.cert, "--tls-key", options.tls.key]
        : limited
        ? ["--tls-cert", cert, "--tls-key", key]
        : []),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let listening = false;
  const keep = (text: string) => {
    if (output.length < 64 * 1024) output += text;
    if (output.includes("ferry listening on")) listening = true;
  };
  const drains = [_drain(child.stdout, keep), _drain(child.stderr, keep)];
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const deadline = Date.now() + FERRY_START_TIMEOUT_MS;
  while (!listening) {
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill("SIGKILL");
      await status;
      await Promise.all(drains);
      throw new Error(`ferry did not start:\n${output}`);
    }
    await _delay(20);
  }
  let stopped: Promise<void> | undefined;
  const scraper = metricsPort === undefined ? undefined : setInterval(() => {
    fetch(`http://${host}:${metricsPort}/metrics`).then((response) => response.text()).catch(
      () => {},
    );
  }, METRICS_SCRAPE_MS);
  return {
    name,
    host,
    port,
    user: FERRY_USER.name,
    password: FERRY_USER.password,
    pid: child.pid,
    root,
    ...(limited
      ? {
        capped: { user: CAPPED_USER.name, password: CAPPED_USER.password, rate: CAPPED_RATE },
      }
      : {}),
    tls: limited,
    ..._files(root, undefined),
    stop() {
      stopped ??= (async () => {
        clearInterval(scraper);
        try {
          Deno.kill(child.pid, "SIGTERM");
        } catch {
          // exited already
        }
        const timer = setTimeout(() => {
          try {
            Deno.kill(child.pid, "SIGKILL");
          } catch {
            // exited meanwhile
          }
        }, 10_000);
        await status;
        clearTimeout(timer);
        await Promise.all(drains);
        await Deno.remove(base, { recursive: true });
      })();
      return stopped;
    },
  };
}

/**
 * Starts one server on a free loopback port with its root on /dev/shm.
 *
 * @example
 * ```ts
 * const tmp = await mountBenchTmp();
 * const server = await startBenchServer("vsftpd", { tmp });
 * await server.createFile("/big.bin", 1 << 30);
 * await server.stop();
 * ```
 */
export async function startBenchServer(
  name: BenchServerName,
  options: StartBenchServerOptions,
): Promise<BenchServer> {
  const settings = {
    tmp: options.tmp,
    maxSessions: options.maxSessions ?? 10_100,
    passivePortCount: options.passivePortCount ?? 200,
    serveArgs: options.serveArgs ?? [],
    allowRun: options.allowRun ?? [],
    ...(options.tls ? { tls: options.tls } : {}),
  };
  if (isFerry(name)) return await _startFerry(settings, name);
  if (options.tls && name !== "vsftpd") throw new RangeError(`${name} has no FTPS in the bench`);
  // startPeerServer makes its temporary folder under TMPDIR.
  const previous = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", options.tmp.dir);
  let peer;
  try {
    peer = await startPeerServer(name, {
      maxClients: settings.maxSessions,
      passivePortCount: settings.passivePortCount,
      ...(options.tls ? { tls: { ...options.tls, requireReuse: true } } : {}),
    });
  } finally {
    if (previous === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", previous);
  }
  if (!peer.root.startsWith(`${options.tmp.dir}/`)) {
    await peer.stop();
    throw new Error(`${name}'s root is not on ${options.tmp.dir}: ${peer.root}`);
  }
  const info = await Deno.stat(peer.root);
  const owner = info.uid !== null && info.gid !== null
    ? { uid: info.uid, gid: info.gid }
    : undefined;
  return {
    name,
    host: peer.host,
    port: peer.port,
    user: peer.user,
    password: peer.password,
    pid: peer.pid,
    root: peer.root,
    ..._files(peer.root, owner),
    stop: () => peer.stop(),
  };
}
