/**
 * Starts established FTP servers (vsftpd, pyftpdlib, pure-ftpd) on loopback
 * for tests that drive ferry's client against them: a free control port, a
 * free passive port range, a fresh temporary root, one user with a known
 * password who may read and write, and a stop that kills the server's whole
 * process group and waits for it to exit.
 *
 * `tests/install_deps.sh` installs what these servers need (as
 * root); pure-ftpd is unpacked from its Debian package into a cache folder,
 * because the package conflicts with vsftpd's. The servers run as root, as
 * in CI: vsftpd logs in a system user, `ferrytest`, which is created here if
 * missing.
 *
 * @module
 */

import { runProgram } from "../helpers/run_program.ts";

/** A server the interop tests can start. */
export type PeerServerName = "vsftpd" | "pyftpdlib" | "pure-ftpd";

/** Every server, in the order tests run them. */
export const PEER_SERVERS: readonly PeerServerName[] = ["vsftpd", "pyftpdlib", "pure-ftpd"];

/** The address family a server listens on. */
export type PeerFamily = "IPv4" | "IPv6";

/** The user every peer server accepts. */
export const PEER_USER = { name: "ferrytest", password: "ferry-test-pass" } as const;

/** Where install_deps.sh unpacks pure-ftpd (override with `FERRY_PEERS_DIR`). */
export const PEERS_DIR = Deno.env.get("FERRY_PEERS_DIR") ?? "/var/cache/ferry-peers";

/** How many passive ports each server gets. */
const PASSIVE_PORT_COUNT = 16;
/** Longest a server may take to greet its first client, in milliseconds. */
const START_TIMEOUT_MS = 15_000;
/** Longest a server may take to exit after SIGTERM before it is killed, in milliseconds. */
const STOP_TIMEOUT_MS = 5_000;
/** How much of a server's output is kept for error messages. */
const OUTPUT_LIMIT = 64 * 1024;
/** The PAM service vsftpd authenticates with (plain pam_unix, no shell or ftpusers check). */
const PAM_SERVICE = "ferry-vsftpd";
const PAM_CONFIG = "auth required pam_unix.so\naccount required pam_unix.so\n" +
  "session required pam_permit.so\n";
/** The home of the system user (vsftpd changes into it before local_root). */
const SYSTEM_USER_HOME = "/var/lib/ferrytest";
/** The owner of pure-ftpd's virtual user's files (nobody:nogroup). */
const PURE_FTPD_ID = 65534;

/** A server is not installed; install_deps.sh installs it. */
export class PeerMissingError extends Error {
  /** Creates the error with what is missing. */
  constructor(message: string) {
    super(message);
    this.name = "PeerMissingError";
  }
}

/** A running peer server. */
export interface PeerServer {
  name: PeerServerName;
  /** The server's process id (the leader of its process group). */
  pid: number;
  /** The address it listens on (127.0.0.1 or ::1). */
  host: string;
  /** The control port. */
  port: number;
  /** The passive port range it was given, inclusive. */
  passivePorts: [number, number];
  user: string;
  password: string;
  /** The real directory the user sees as "/". */
  root: string;
  /** The real path of a virtual path ("/a b/c.txt"). */
  real(virtualPath: string): string;
  /** Writes a file under the root, owned by the user the server writes as. */
  writeFile(virtualPath: string, data: Uint8Array | string): Promise<void>;
  /** Makes a directory (and its parents) under the root, owned by that user. */
  mkdir(virtualPath: string): Promise<void>;
  /** Everything the server printed so far (bounded), for assertion messages. */
  output(): string;
  /** Stops the server (the whole process group) and removes its temporary files. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for {@linkcode startPeerServer}. */
export interface StartPeerServerOptions {
  /**
   * Listen on 127.0.0.1 ("IPv4") or ::1 ("IPv6").
   * @default {"IPv4"}
   */
  family?: PeerFamily;
  /**
   * Most sessions at once, in all and from one address.
   * @default {50}
   */
  maxClients?: number;
  /**
   * How many passive ports the server gets.
   * @default {16}
   */
  passivePortCount?: number;
  /**
   * FTPS (vsftpd only): the certificate and key files (PEM). Logins and data
   * connections must then use TLS (`force_local_logins_ssl`,
   * `force_local_data_ssl`); TLS 1.2 and up.
   */
  tls?: PeerTlsOptions;
}

/** FTPS settings for {@linkcode startPeerServer} (vsftpd). */
export interface PeerTlsOptions {
  /** The certificate file (PEM). */
  cert: string;
  /** The private key file (PEM). */
  key: string;
  /**
   * Refuse data connections that do not resume the control connection's TLS
   * session (vsftpd's `require_ssl_reuse`, whose own default is YES).
   * @default {false}
   */
  requireReuse?: boolean;
  /**
   * Implicit FTPS: TLS from the first byte (`implicit_ssl`) instead of `AUTH TLS`.
   * @default {false}
   */
  implicit?: boolean;
}

/** Runs a program and throws with its output unless it exits with 0. */
async function _runOk(
  program: string,
  args: string[],
  options: { stdin?: string; timeoutMs?: number } = {},
): Promise<string> {
  const result = await runProgram(program, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${program} ${args.join(" ")} exited with ${result.code}: ${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

async function _isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** The Python that can import pyftpdlib (Debian's, which the package installs into), if any. */
async function _pythonWithPyftpdlib(): Promise<string | undefined> {
  for (const python of ["/usr/bin/python3", "python3"]) {
    try {
      const result = await runProgram(python, ["-c", "import pyftpdlib"], { timeoutMs: 15_000 });
      if (result.code === 0) return python;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return undefined;
}

function _pureFtpdPaths(): { server: string; pw: string } {
  return {
    server: `${PEERS_DIR}/pure-ftpd/usr/sbin/pure-ftpd`,
    pw: `${PEERS_DIR}/pure-ftpd/usr/bin/pure-pw`,
  };
}

/**
 * Why a server cannot be started here, or undefined if it can.
 *
 * @example
 * ```ts
 * const reason = await peerServerMissing("vsftpd"); // undefined once installed
 * ```
 */
export async function peerServerMissing(name: PeerServerName): Promise<string | undefined> {
  const install = "run `bash tests/install_deps.sh` as root";
  switch (name) {
    case "vsftpd":
      return await _isFile("/usr/sbin/vsftpd")
        ? undefined
        : `vsftpd is not installed (/usr/sbin/vsftpd); ${install}`;
    case "pyftpdlib":
      return await _pythonWithPyftpdlib()
        ? undefined
        : `pyftpdlib is not installed (python3-pyftpdlib); ${install}`;
    case "pure-ftpd": {
      const { server, pw } = _pureFtpdPaths();
      return await _isFile(server) && await _isFile(pw)
        ? undefined
        : `pure-ftpd is not unpacked at ${server}; ${install}`;
    }
  }
}

/**
 * A TCP port that was free a moment ago: bound on port 0, read back, released.
 *
 * @example
 * ```ts
 * const port = freePort("127.0.0.1");
 * ```
 */
export function freePort(hostname = "127.0.0.1"): number {
  const listener = Deno.listen({ hostname, port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

function _isPortFree(hostname: string, port: number): boolean {
  try {
    Deno.listen({ hostname, port }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * A range of `count` consecutive ports, all free a moment ago, for passive
 * data connections.
 *
 * @example
 * ```ts
 * const [low, high] = freePortRange("127.0.0.1", 16);
 * ```
 */
export function freePortRange(
  hostname = "127.0.0.1",
  count = PASSIVE_PORT_COUNT,
): [number, number] {
  for (let attempt = 0; attempt < 100; attempt++) {
    const low = 30_000 + Math.floor(Math.random() * (28_000 - count));
    let free = true;
    for (let port = low; port < low + count && free; port++) free = _isPortFree(hostname, port);
    if (free) return [low, low + count - 1];
  }
  throw new Error(`Cannot find ${count} free consecutive ports on ${hostname}`);
}

/**
 * Makes sure the system user vsftpd logs in exists, with the known password,
 * an existing home and a PAM service that checks only its password. Needs
 * root; does nothing that is already done.
 */
async function _ensureSystemUser(): Promise<{ uid: number; gid: number }> {
  const id = await runProgram("id", ["-u", PEER_USER.name], { timeoutMs: 10_000 });
  if (id.code !== 0) {
    await _runOk("useradd", [
      "--system",
      "--user-group",
      "--no-create-home",
      "--home-dir",
      SYSTEM_USER_HOME,
      "--shell",
      "/usr/sbin/nologin",
      PEER_USER.name,
    ], { timeoutMs: 30_000 });
  }
  const passwd = (await _runOk("getent", ["passwd", PEER_USER.name])).trim().split(":");
  const uid = Number(passwd[2]);
  const gid = Number(passwd[3]);
  if (passwd[5] !== SYSTEM_USER_HOME) {
    await _runOk("usermod", ["--home", SYSTEM_USER_HOME, PEER_USER.name]);
  }
  await Deno.mkdir(SYSTEM_USER_HOME, { recursive: true });
  await Deno.chown(SYSTEM_USER_HOME, uid, gid);
  await _runOk("chpasswd", [], { stdin: `${PEER_USER.name}:${PEER_USER.password}\n` });
  const pamFile = `/etc/pam.d/${PAM_SERVICE}`;
  let current = "";
  try {
    current = await Deno.readTextFile(pamFile);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (current !== PAM_CONFIG) await Deno.writeTextFile(pamFile, PAM_CONFIG);
  return { uid, gid };
}

/** What a server needs to be launched, prepared in its temporary folder. */
interface _Launch {
  program: string;
  args: string[];
}

interface _Layout {
  /** Who owns the files the server writes (undefined: the user running the tests). */
  owner?: { uid: number; gid: number };
  base: string;
  root: string;
  host: string;
  port: number;
  passivePorts: [number, number];
  /** Most sessions at once, in all and from one address. */
  maxClients: number;
  /** FTPS settings, if any (vsftpd only). */
  tls?: PeerTlsOptions;
}

/** vsftpd's FTPS settings (RFC 4217 explicit, or implicit), or none. */
function _vsftpdTls(tls: PeerTlsOptions | undefined): string[] {
  if (!tls) return [];
  return [
    "ssl_enable=YES",
    `rsa_cert_file=${tls.cert}`,
    `rsa_private_key_file=${tls.key}`,
    "force_local_logins_ssl=YES",
    "force_local_data_ssl=YES",
    `require_ssl_reuse=${tls.requireReuse ? "YES" : "NO"}`,
    `implicit_ssl=${tls.implicit ? "YES" : "NO"}`,
    // vsftpd 3.0.3 has no ssl_tlsv1_2 switch; ssl_tlsv1 allows TLS 1.x, and OpenSSL 3's
    // default security level leaves TLS 1.2 and 1.3 (ferry's client offers 1.2 and up).
    "ssl_tlsv1=YES",
    "ssl_sslv2=NO",
    "ssl_sslv3=NO",
    "ssl_ciphers=HIGH",
  ];
}

async function _prepareVsftpd(layout: _Layout): Promise<_Launch> {
  const { uid, gid } = await _ensureSystemUser();
  layout.owner = { uid, gid };
  await Deno.chown(layout.root, uid, gid);
  const empty = `${layout.base}/empty`;
  await Deno.mkdir(empty, { mode: 0o755 });
  const ipv6 = layout.host.includes(":");
  const config = [
    ...(ipv6
      ? ["listen=NO", "listen_ipv6=YES", `listen_address6=${layout.host}`]
      : ["listen=YES", "listen_ipv6=NO", `listen_address=${layout.host}`]),
    `listen_port=${layout.port}`,
    "background=NO",
    "anonymous_enable=NO",
    "local_enable=YES",
    "write_enable=YES",
    "local_umask=022",
    `local_root=${layout.root}`,
    "chroot_local_user=YES",
    "allow_writeable_chroot=YES",
    `pam_service_name=${PAM_SERVICE}`,
    "userlist_enable=NO",
    `secure_chroot_dir=${empty}`,
    "check_shell=NO",
    "seccomp_sandbox=NO",
    "pasv_enable=YES",
    `pasv_min_port=${layout.passivePorts[0]}`,
    `pasv_max_port=${layout.passivePorts[1]}`,
    "port_enable=YES",
    "connect_from_port_20=NO",
    // Convert line endings in TYPE A, as RFC 959 asks (vsftpd's default is not to).
    "ascii_upload_enable=YES",
    "ascii_download_enable=YES",
    "utf8_filesystem=YES",
    "xferlog_enable=NO",
    `max_clients=${layout.maxClients}`,
    `max_per_ip=${layout.maxClients}`,
    ..._vsftpdTls(layout.tls),
    "",
  ].join("\n");
  const file = `${layout.base}/vsftpd.conf`;
  await Deno.writeTextFile(file, config);
  return { program: "/usr/sbin/vsftpd", args: [file] };
}

const PYFTPDLIB_SCRIPT = `
import logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

host, port, root, user, password, low, high, max_cons = sys.argv[1:]
authorizer = DummyAuthorizer()
authorizer.add_user(user, password, root, perm="elradfmwMT")
handler = FTPHandler
handler.authorizer = authorizer
handler.passive_ports = range(int(low), int(high) + 1)
logging.basicConfig(level=logging.WARNING)
server = FTPServer((host, int(port)), handler)
server.max_cons = int(max_cons)
server.serve_forever()
`;

async function _preparePyftpdlib(layout: _Layout): Promise<_Launch> {
  const python = await _pythonWithPyftpdlib();
  if (!python) throw new PeerMissingError((await peerServerMissing("pyftpdlib"))!);
  const script = `${layout.base}/pyftpdlib_server.py`;
  await Deno.writeTextFile(script, PYFTPDLIB_SCRIPT);
  return {
    program: python,
    args: [
      script,
      layout.host,
      String(layout.port),
      layout.root,
      PEER_USER.name,
      PEER_USER.password,
      String(layout.passivePorts[0]),
      String(layout.passivePorts[1]),
      String(layout.maxClients),
    ],
  };
}

async function _preparePureFtpd(layout: _Layout): Promise<_Launch> {
  const { server, pw } = _pureFtpdPaths();
  layout.owner = { uid: PURE_FTPD_ID, gid: PURE_FTPD_ID };
  await Deno.chown(layout.root, PURE_FTPD_ID, PURE_FTPD_ID);
  // A SHA-512 crypt() hash: pure-pw's own argon2 hashes take seconds per login.
  const hash = (await _runOk("openssl", ["passwd", "-6", "-stdin"], {
    stdin: `${PEER_USER.password}\n`,
  })).trim();
  const passwd = `${layout.base}/pureftpd.passwd`;
  const db = `${layout.base}/pureftpd.pdb`;
  // name:hash:uid:gid:gecos:home/./ (the "/./" chroots the user to home), then unused fields.
  await Deno.writeTextFile(
    passwd,
    `${PEER_USER.name}:${hash}:${PURE_FTPD_ID}:${PURE_FTPD_ID}::${layout.root}/./::::::::::::\n`,
  );
  await _runOk(pw, ["mkdb", db, "-f", passwd], { timeoutMs: 30_000 });
  return {
    program: server,
    args: [
      "--bind",
      `${layout.host},${layout.port}`,
      "--passiveportrange",
      `${layout.passivePorts[0]}:${layout.passivePorts[1]}`,
      "--login",
      `puredb:${db}`,
      "--noanonymous",
      "--chrooteveryone",
      "--dontresolve",
      "--minuid",
      "1",
      "--maxclientsnumber",
      String(layout.maxClients),
      "--maxclientsperip",
      String(layout.maxClients),
      "--syslogfacility",
      "none",
    ],
  };
}

/** Every server started and not yet stopped, killed if the test process exits early. */
const running = new Set<number>();

globalThis.addEventListener("unload", () => {
  for (const pid of running) _killGroup(pid, "SIGKILL");
});

function _killGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

function _delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves true if `promise` settles within `ms`, false otherwise. */
async function _within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Keeps the first OUTPUT_LIMIT characters of a stream, reading it to its end. */
async function _drain(stream: ReadableStream<Uint8Array>, sink: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    if (sink.text.length < OUTPUT_LIMIT) sink.text += decoder.decode(chunk, { stream: true });
  }
}

/**
 * Connects and reads until the last line of a 220 greeting, or throws. With
 * `implicitTlsCert`, the greeting comes over TLS, trusting that certificate.
 */
async function _readGreeting(host: string, port: number, implicitTlsCert?: string): Promise<void> {
  const conn = implicitTlsCert === undefined
    ? await Deno.connect({ hostname: host, port, signal: AbortSignal.timeout(2_000) })
    : await Deno.connectTls({
      hostname: host,
      port,
      caCerts: [await Deno.readTextFile(implicitTlsCert)],
    });
  try {
    const buffer = new Uint8Array(4096);
    let text = "";
    const deadline = Date.now() + 5_000;
    while (!/(^|\n)\d{3} [^\n]*\n/.test(text)) {
      const left = deadline - Date.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        conn.read(buffer),
        new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), left)),
      ]).finally(() => clearTimeout(timer));
      if (n === "timeout") throw new Error("No greeting within 5 s");
      if (n === null) throw new Error(`Connection closed before a greeting: ${text}`);
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    if (!/(^|\n)220 /.test(text)) throw new Error(`Unexpected greeting: ${text}`);
  } finally {
    conn.close();
  }
}

/**
 * Starts a server on a free loopback port with a fresh root and the user
 * {@linkcode PEER_USER}, and returns once it greets clients. Throws
 * {@linkcode PeerMissingError} if the server is not installed.
 *
 * @example
 * ```ts
 * await using server = await startPeerServer("pyftpdlib");
 * console.log(server.host, server.port);
 * ```
 */
export async function startPeerServer(
  name: PeerServerName,
  options: StartPeerServerOptions = {},
): Promise<PeerServer> {
  const missing = await peerServerMissing(name);
  if (missing) throw new PeerMissingError(missing);
  if (options.tls && name !== "vsftpd") throw new Error("The tls option is for vsftpd only");
  const host = (options.family ?? "IPv4") === "IPv6" ? "::1" : "127.0.0.1";
  const base = await Deno.makeTempDir({ prefix: `ferry-peer-${name}-` });
  await Deno.chmod(base, 0o755);
  const root = `${base}/root`;
  await Deno.mkdir(root, { mode: 0o755 });
  const layout: _Layout = {
    base,
    root,
    host,
    port: freePort(host),
    passivePorts: freePortRange(host, options.passivePortCount ?? PASSIVE_PORT_COUNT),
    maxClients: options.maxClients ?? 50,
    ...(options.tls ? { tls: options.tls } : {}),
  };
  let child: Deno.ChildProcess | undefined;
  const sink = { text: "" };
  const drains: Promise<void>[] = [];
  let stopped: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child) {
        _killGroup(child.pid, "SIGTERM");
        if (!await _within(child.status, STOP_TIMEOUT_MS)) {
          _killGroup(child.pid, "SIGKILL");
          if (!await _within(child.status, STOP_TIMEOUT_MS)) {
            throw new Error(`${name} (pid ${child.pid}) did not exit after SIGKILL`);
          }
        }
        // Children the server forked per connection share its group: end any left.
        _killGroup(child.pid, "SIGKILL");
        running.delete(child.pid);
        await _within(Promise.all(drains), STOP_TIMEOUT_MS);
      }
      await Deno.remove(base, { recursive: true });
    })();
    return stopped;
  };

  try {
    const launch = name === "vsftpd"
      ? await _prepareVsftpd(layout)
      : name === "pyftpdlib"
      ? await _preparePyftpdlib(layout)
      : await _preparePureFtpd(layout);
    // setsid makes the server the leader of a new process group, so stopping
    // it can signal every process it forked.
    child = new Deno.Command("setsid", {
      args: [launch.program, ...launch.args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      cwd: base,
    }).spawn();
    running.add(child.pid);
    drains.push(_drain(child.stdout, sink), _drain(child.stderr, sink));
    let exited = false;
    child.status.then(() => exited = true);
    const deadline = Date.now() + START_TIMEOUT_MS;
    let lastError: unknown;
    while (true) {
      if (exited) {
        await _within(Promise.all(drains), 1_000);
        throw new Error(`${name} exited at start:\n${sink.text}`);
      }
      try {
        await _readGreeting(
          host,
          layout.port,
          options.tls?.implicit ? options.tls.cert : undefined,
        );
        break;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${name} did not greet on ${host} port ${layout.port} within ${START_TIMEOUT_MS} ms ` +
            `(${(lastError as Error).message}):\n${sink.text}`,
        );
      }
      await _delay(100);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  const real = (virtualPath: string) => `${root}/${virtualPath.replace(/^\/+/, "")}`;
  const own = async (path: string) => {
    if (layout.owner) await Deno.chown(path, layout.owner.uid, layout.owner.gid);
  };
  return {
    name,
    pid: child!.pid,
    host,
    port: layout.port,
    passivePorts: layout.passivePorts,
    user: PEER_USER.name,
    password: PEER_USER.password,
    root,
    real,
    async writeFile(virtualPath, data) {
      const path = real(virtualPath);
      if (typeof data === "string") await Deno.writeTextFile(path, data);
      else await Deno.writeFile(path, data);
      await own(path);
    },
    async mkdir(virtualPath) {
      const parts = virtualPath.split("/").filter(Boolean);
      for (let i = 1; i <= parts.length; i++) {
        const path = real(parts.slice(0, i).join("/"));
        await Deno.mkdir(path, { recursive: true, mode: 0o755 });
        await own(path);
      }
    },
    output: () => sink.text,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
