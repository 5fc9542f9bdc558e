/**
 * Shared helpers for the interop tests, where real FTP clients (curl, lftp,
 * Python's ftplib) drive a running ferry server: finding the clients,
 * registering one test per client, address family and data-connection mode,
 * running subprocesses with a timeout, and the files every scenario starts
 * with.
 *
 * A missing client fails its tests, with the package to install. Outside CI
 * (`CI` not `true`) a developer may set `FERRY_INTEROP_ALLOW_MISSING=1` to
 * have those tests reported as ignored instead, named
 * `… [skipped: curl is not installed]`; under `CI=true` that setting is
 * disregarded and a missing client always fails.
 *
 * @module
 */

import { startTestServer, type TestServer } from "../helpers/test_server.ts";

/** A client the interop tests drive. */
export type PeerName = "curl" | "lftp" | "python3";

/** A client that was found, and the version it reported. */
export interface Peer {
  name: PeerName;
  version: string;
}

/** The address family a scenario connects over. */
export type Family = "IPv4" | "IPv6";

/** Who opens the data connection: the client (passive) or the server (active). */
export type Mode = "passive" | "active";

/** One combination of family and mode. */
export interface Variant {
  family: Family;
  mode: Mode;
  /** The server address to connect to, without brackets. */
  host: string;
  /** The host as written inside a URL (`[::1]` for IPv6). */
  urlHost: string;
}

/** Every family and mode, which each client is tested in. */
export const VARIANTS: readonly Variant[] = [
  { family: "IPv4", mode: "passive", host: "127.0.0.1", urlHost: "127.0.0.1" },
  { family: "IPv4", mode: "active", host: "127.0.0.1", urlHost: "127.0.0.1" },
  { family: "IPv6", mode: "passive", host: "::1", urlHost: "[::1]" },
  { family: "IPv6", mode: "active", host: "::1", urlHost: "[::1]" },
];

/** The test user every scenario logs in as (all permissions). */
export const USER = { name: "alice", password: "wonderland" } as const;

/** Longest a single client run may take before it is killed, in milliseconds. */
export const PEER_TIMEOUT_MS = 60_000;

const PACKAGES: Record<PeerName, string> = {
  curl: "curl",
  lftp: "lftp",
  python3: "python3",
};

/** What a finished subprocess left behind. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@linkcode run}. */
export interface RunOptions {
  /** Working directory. @default {the test process's} */
  cwd?: string;
  /** Kill the process after this many milliseconds. @default {PEER_TIMEOUT_MS} */
  timeoutMs?: number;
}

/**
 * Runs a program to completion, killing it when it takes too long.
 *
 * @example
 * ```ts
 * const { code, stdout } = await run("curl", ["--version"]);
 * ```
 */
export async function run(
  program: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? PEER_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  const command = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal,
    env: { LC_ALL: "C.UTF-8", LANG: "C.UTF-8" },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  let output: Deno.CommandOutput;
  try {
    output = await command.output();
  } catch (error) {
    if (signal.aborted) {
      throw new Error(`${program} did not finish within ${timeoutMs} ms: ${args.join(" ")}`);
    }
    throw error;
  }
  const decoder = new TextDecoder();
  const result = {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
  if (signal.aborted) {
    throw new Error(
      `${program} did not finish within ${timeoutMs} ms: ${args.join(" ")}\n${describeRun(result)}`,
    );
  }
  return result;
}

/** Formats a run's exit code and output for an assertion message. */
export function describeRun(result: RunResult): string {
  return `exit code ${result.code}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

/**
 * Runs a program and throws, with its output, unless it exits with 0.
 *
 * @example
 * ```ts ignore
 * const { stdout } = await runOk("curl", ["-sS", "ftp://127.0.0.1:2121/"]);
 * ```
 */
export async function runOk(
  program: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const result = await run(program, args, options);
  if (result.code !== 0) {
    throw new Error(`${program} failed: ${describeRun(result)}`);
  }
  return result;
}

async function _probe(name: PeerName): Promise<Peer | string> {
  const [program, args]: [string, string[]] = name === "python3"
    ? ["python3", ["-c", "import ftplib, sys; print('Python ' + sys.version.split()[0])"]]
    : [name, ["--version"]];
  try {
    const result = await run(program, args, { timeoutMs: 15_000 });
    if (result.code !== 0) {
      return `${name} is installed but "${program} ${args.join(" ")}" failed (${
        describeRun(result)
      })`;
    }
    return { name, version: result.stdout.split("\n")[0]!.trim() };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return `${name} is not installed`;
    return `${name} could not be started: ${(error as Error).message}`;
  }
}

const found: Record<PeerName, Peer | string> = {
  curl: await _probe("curl"),
  lftp: await _probe("lftp"),
  python3: await _probe("python3"),
};

/** Whether the tests run under CI (`CI=true`), where a missing client always fails. */
export function inCi(): boolean {
  return Deno.env.get("CI") === "true";
}

/**
 * For tests registered with their own `Deno.test` options: true only when
 * `name` is missing and missing peers may be ignored (outside CI, with
 * `FERRY_INTEROP_ALLOW_MISSING=1`). Otherwise a missing peer makes the test run
 * and fail.
 */
export function ignoreMissing(name: PeerName): boolean {
  return typeof found[name] === "string" && !inCi() &&
    Deno.env.get("FERRY_INTEROP_ALLOW_MISSING") === "1";
}

/** The function a peer test runs, once the client has been found. */
export type PeerTestFn = (peer: Peer, t: Deno.TestContext) => Promise<void>;

/**
 * Registers a test that needs a client. When the client is missing, the test
 * fails saying what to install (or, outside CI with
 * `FERRY_INTEROP_ALLOW_MISSING=1`, is reported as ignored with the reason in
 * its name).
 *
 * @example
 * ```ts ignore
 * peerTest("curl", "curl lists a folder", async (peer, t) => {});
 * ```
 */
export function peerTest(name: PeerName, testName: string, fn: PeerTestFn): void {
  const peer = found[name];
  if (typeof peer !== "string") {
    Deno.test({ name: testName, fn: (t) => fn(peer, t) });
    return;
  }
  const reason = peer;
  if (!inCi() && Deno.env.get("FERRY_INTEROP_ALLOW_MISSING") === "1") {
    Deno.test({ name: `${testName} [skipped: ${reason}]`, ignore: true, fn: () => {} });
    return;
  }
  Deno.test({
    name: testName,
    fn() {
      throw new Error(
        `Interop peer missing: ${reason}. Install it (apt-get install -y ${
          PACKAGES[name]
        }) or run .ci/run, which installs it${
          inCi() ? "" : "; outside CI, FERRY_INTEROP_ALLOW_MISSING=1 reports these tests as ignored"
        }`,
      );
    },
  });
}

/** The files every scenario's server root starts with. */
export interface Fixture {
  server: TestServer;
  /** A local scratch directory, removed by {@linkcode Fixture.close}. */
  local: string;
  /** Random binary content (about 300 KB), at `/docs folder/photo data.bin`. */
  binary: Uint8Array;
  /** Unix text with LF line endings, at `/docs folder/hello world.txt`. */
  text: string;
  /** The server's real path for a virtual path. */
  real(virtualPath: string): string;
  /** Stops the server and removes every temporary file. */
  close(): Promise<void>;
}

/** The folder every scenario lists, with a space in its name. */
export const DOCS = "docs folder";

/** Random bytes, filled in chunks (getRandomValues takes at most 64 KiB). */
export function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65_536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(length, offset + 65_536)));
  }
  return bytes;
}

/** Some text with LF line endings, many lines long. */
export function sampleText(lines = 2000): string {
  let text = "";
  for (let i = 0; i < lines; i++) text += `line ${i}: the quick brown fox, ${"ü".repeat(i % 5)}\n`;
  return text;
}

/**
 * Starts a server on 127.0.0.1 and ::1 with `/docs folder/` holding a binary
 * and a text file, and makes a local scratch directory.
 *
 * @example
 * ```ts
 * const fixture = await startFixture();
 * await fixture.close();
 * ```
 */
export async function startFixture(): Promise<Fixture> {
  const server = await startTestServer({ config: { hosts: ["127.0.0.1", "::1"] } });
  const local = await Deno.makeTempDir({ prefix: "ferry-interop-" });
  const binary = randomBytes(300_001);
  const text = sampleText();
  const real = (virtualPath: string) => `${server.root}/${virtualPath.replace(/^\/+/, "")}`;
  await Deno.mkdir(real(DOCS));
  await Deno.writeFile(real(`${DOCS}/photo data.bin`), binary);
  await Deno.writeTextFile(real(`${DOCS}/hello world.txt`), text);
  return {
    server,
    local,
    binary,
    text,
    real,
    async close() {
      await server.close();
      await Deno.remove(local, { recursive: true });
    },
  };
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Encodes a virtual path for an ftp:// URL (each segment percent-encoded). */
export function urlPath(virtualPath: string): string {
  return virtualPath.split("/").map(encodeURIComponent).join("/");
}

/**
 * Checks that a client's commands set up data connections the way the
 * variant asks: EPSV or PASV when passive, EPRT or PORT when active, the
 * extended forms with the right protocol number for IPv6. `commands` are the
 * lines the client sent, as its transcript shows them.
 *
 * @example
 * ```ts
 * assertDataConnections(["EPSV", "LIST"], VARIANTS[0]!);
 * ```
 */
export function assertDataConnections(commands: string[], variant: Variant): void {
  const verbs = commands.map((line) => line.trim().split(" ")[0]!.toUpperCase());
  const passive = commands.filter((_, i) => verbs[i] === "PASV" || verbs[i] === "EPSV");
  const active = commands.filter((_, i) => verbs[i] === "PORT" || verbs[i] === "EPRT");
  const sent = `the client sent:\n${commands.join("\n")}`;
  if (variant.mode === "passive") {
    if (passive.length === 0 || active.length > 0) {
      throw new Error(`Expected only PASV/EPSV data connections in passive mode; ${sent}`);
    }
    if (variant.family === "IPv6" && passive.some((line) => !/^EPSV\b/i.test(line))) {
      throw new Error(`Expected EPSV over IPv6; ${sent}`);
    }
  } else {
    if (active.length === 0 || passive.length > 0) {
      throw new Error(`Expected only PORT/EPRT data connections in active mode; ${sent}`);
    }
    const pattern = variant.family === "IPv6" ? /^EPRT \|2\|/i : /^(PORT |EPRT \|1\|)/i;
    if (active.some((line) => !pattern.test(line))) {
      throw new Error(`Expected ${variant.family} active-mode commands; ${sent}`);
    }
  }
}

/** A test name's suffix for a variant, e.g. "over IPv6 in active mode". */
export function describeVariant(variant: Variant): string {
  return `over ${variant.family} in ${variant.mode} mode`;
}
