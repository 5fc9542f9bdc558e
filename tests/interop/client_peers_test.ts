/**
 * ferry's client API against established FTP servers (vsftpd, pyftpdlib,
 * pure-ftpd), each over IPv4 and IPv6, in passive and active mode: login,
 * listings (MLSD where offered, `ls -l` parsing on vsftpd), binary and ASCII
 * transfers, resuming interrupted transfers both ways, directories, rename,
 * delete, stat, and names with spaces.
 *
 * The servers come from `tests/install_deps.sh`. A missing server
 * fails its tests, saying what to run; outside CI (`CI` not `true`) a
 * developer may set `FERRY_INTEROP_ALLOW_MISSING=1` to have them reported as
 * ignored instead.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ExitCode, FtpReplyError, isClientError } from "../../client/errors.ts";
import { FtpClient } from "../../client/ftp_client.ts";
import { downloadFile, uploadFile } from "../../client/transfer/local_transfer.ts";
import {
  PEER_SERVERS,
  type PeerFamily,
  type PeerServer,
  peerServerMissing,
  type PeerServerName,
  startPeerServer,
} from "./servers.ts";

type Mode = "passive" | "active";

const FAMILIES: readonly PeerFamily[] = ["IPv4", "IPv6"];
const MODES: readonly Mode[] = ["passive", "active"];
/** Connect and reply timeout for every client, in milliseconds. */
const CLIENT_TIMEOUT_MS = 20_000;
const BINARY_SIZE = 2 * 1024 * 1024;

/** Random bytes (getRandomValues fills at most 64 KiB at a time). */
function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65_536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(length, offset + 65_536)));
  }
  return bytes;
}

/** Unix text: LF line endings, some non-ASCII, some empty lines, no CR. */
function sampleText(lines = 3000): string {
  let text = "";
  for (let i = 0; i < lines; i++) {
    text += i % 7 === 0 ? "\n" : `line ${i}: the quick brown fox ${"é".repeat(i % 4)}\n`;
  }
  return text;
}

/** Fails with the first differing offset instead of dumping megabytes. */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const at = actual.findIndex((byte, i) => byte !== expected[i]);
  assert.equal(at, -1, `${what}: first difference at byte ${at}`);
}

/**
 * Checks that the client set up every data connection the way the mode
 * asks (EPSV or PASV when passive, EPRT or PORT when active, EPRT with
 * protocol 2 over IPv6), given the command verbs and arguments it sent.
 */
function assertDataSetup(sent: string[], mode: Mode, family: PeerFamily): void {
  const verbs = sent.map((line) => line.split(" ")[0]!.toUpperCase());
  const passive = verbs.filter((verb) => verb === "EPSV" || verb === "PASV").length;
  const active = sent.filter((_, i) => verbs[i] === "EPRT" || verbs[i] === "PORT");
  const transcript = `the client sent:\n${sent.join("\n")}`;
  if (mode === "passive") {
    assert.equal(active.length, 0, `No PORT/EPRT in passive mode; ${transcript}`);
  } else {
    assert.equal(passive, 0, `No PASV/EPSV in active mode; ${transcript}`);
    const pattern = family === "IPv6" ? /^EPRT \|2\|::1\|/ : /^(EPRT \|1\|127\.0\.0\.1\||PORT )/;
    for (const line of active) assert.match(line, pattern, transcript);
  }
}

/** Runs `fn` with a fresh logged-in client, always quitting it, then checks its data setup. */
async function withClient<T>(
  server: PeerServer,
  mode: Mode,
  fn: (client: FtpClient, sent: string[]) => Promise<T>,
  timeoutMs = CLIENT_TIMEOUT_MS,
): Promise<T> {
  const sent: string[] = [];
  const client = await FtpClient.connect({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    active: mode === "active",
    timeoutMs,
    onDialogue: (line) => {
      if (line.startsWith("> ")) sent.push(line.slice(2));
    },
  });
  let result: T;
  try {
    result = await fn(client, sent);
  } finally {
    await client.quit();
  }
  assertDataSetup(sent, mode, server.host === "::1" ? "IPv6" : "IPv4");
  return result;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** The scenarios every server, family and mode goes through. */
async function runScenarios(
  name: PeerServerName,
  family: PeerFamily,
  mode: Mode,
  t: Deno.TestContext,
): Promise<void> {
  const server = await startPeerServer(name, { family });
  const local = await Deno.makeTempDir({ prefix: "ferry-client-peers-" });
  const context = () => `\n--- ${name} output ---\n${server.output()}`;
  try {
    const binary = randomBytes(BINARY_SIZE);
    const text = sampleText();
    await server.mkdir("/docs dir");
    await server.writeFile("/docs dir/big data.bin", binary);
    await server.writeFile("/docs dir/notes file.txt", text);
    await server.mkdir("/docs dir/sub folder");

    await t.step("logs in and reads the features", async () => {
      await withClient(server, mode, async (client) => {
        // vsftpd has no MLST/MLSD; the others offer it.
        assert.equal(client.features.has("MLST"), name !== "vsftpd", context());
        assert.equal(await client.pwd(), "/");
      });
    });

    // Servers delay a failed login by seconds: check it once per server.
    const once = family === "IPv4" && mode === "passive";
    if (once) {
      await t.step("refuses a wrong password", async () => {
        await assert.rejects(
          FtpClient.connect({
            host: server.host,
            port: server.port,
            user: server.user,
            password: "not the password",
            timeoutMs: CLIENT_TIMEOUT_MS,
          }),
          (error: unknown) => error instanceof FtpReplyError && error.exitCode === ExitCode.Login,
        );
      });
    }

    await t.step(`lists a folder (${name === "vsftpd" ? "LIST parsed" : "MLSD"})`, async () => {
      await withClient(server, mode, async (client, sent) => {
        const entries = await client.list("/docs dir");
        assert.ok(
          sent.includes(`${name === "vsftpd" ? "LIST" : "MLSD"} /docs dir`),
          sent.join("\n"),
        );
        const byName = new Map(entries.map((entry) => [entry.name, entry]));
        assert.deepEqual([...byName.keys()].sort(), [
          "big data.bin",
          "notes file.txt",
          "sub folder",
        ]);
        assert.equal(byName.get("big data.bin")?.type, "file");
        assert.equal(byName.get("big data.bin")?.size, BINARY_SIZE);
        assert.equal(byName.get("notes file.txt")?.size, new TextEncoder().encode(text).length);
        assert.equal(byName.get("sub folder")?.type, "dir");
        const mtime = byName.get("big data.bin")!.mtime.getTime();
        assert.ok(Math.abs(mtime - Date.now()) < 24 * 3600_000, `mtime ${mtime}`);
        await client.cd("/docs dir");
        assert.equal(await client.pwd(), "/docs dir");
        const here = await client.list();
        assert.equal(here.length, 3);
      });
    });

    await t.step("puts and gets 2 MB byte-identical in TYPE I", async () => {
      const source = `${local}/upload source.bin`;
      const data = randomBytes(BINARY_SIZE);
      await Deno.writeFile(source, data);
      await withClient(server, mode, async (client) => {
        const put = await uploadFile(client, source, "/put binary.bin", { type: "binary" });
        assert.equal(put.outcome, "transferred");
        assert.equal(put.bytes, BINARY_SIZE);
        assertSameBytes(await Deno.readFile(server.real("/put binary.bin")), data, "uploaded");
        assert.equal(await client.size("/put binary.bin"), BINARY_SIZE);
        const target = `${local}/download copy.bin`;
        const get = await downloadFile(client, "/docs dir/big data.bin", target);
        assert.equal(get.bytes, BINARY_SIZE);
        assertSameBytes(await Deno.readFile(target), binary, "downloaded");
      });
    });

    await t.step("puts and gets text in TYPE A with local LF line endings", async () => {
      const source = `${local}/text source.txt`;
      await Deno.writeTextFile(source, text);
      await withClient(server, mode, async (client) => {
        await uploadFile(client, source, "/put text.txt", { type: "ascii" });
        // All three servers convert TYPE A both ways: they store LF (the Unix
        // convention) and send CRLF, which the client turns back into LF.
        assert.equal(await Deno.readTextFile(server.real("/put text.txt")), text);
        const target = `${local}/text copy.txt`;
        await downloadFile(client, "/docs dir/notes file.txt", target, { type: "ascii" });
        assert.equal(await Deno.readTextFile(target), text);
      });
    });

    await t.step("resumes an interrupted download", async () => {
      const target = `${local}/resumed download.bin`;
      // A short reply timeout: after the client breaks off a transfer,
      // pure-ftpd 1.0.50 often sends no final reply at all (only a stray
      // "150 … seconds (measured here)" line), and the client gives up waiting.
      await withClient(server, mode, async (client) => {
        await assert.rejects(
          downloadFile(client, "/docs dir/big data.bin", target, {
            onProgress: (bytes) => {
              if (bytes > 600_000) throw new Error("Simulated interruption");
            },
          }),
          (error: unknown) =>
            isClientError(error) && error.exitCode === ExitCode.TransferInterrupted,
        );
        if (name !== "pure-ftpd") {
          // The session survives the aborted transfer.
          assert.equal(await client.size("/docs dir/big data.bin"), BINARY_SIZE);
        }
      }, 3_000);
      const partial = (await Deno.stat(target)).size;
      assert.ok(partial > 0 && partial < BINARY_SIZE, `partial size ${partial}`);
      // Cut at an odd offset too, so REST is not a multiple of any buffer size.
      await Deno.truncate(target, Math.min(partial, 555_555));
      await withClient(server, mode, async (client, sent) => {
        const result = await downloadFile(client, "/docs dir/big data.bin", target, {
          existing: "continue",
        });
        assert.equal(result.outcome, "transferred");
        assert.equal(result.bytes, BINARY_SIZE - Math.min(partial, 555_555));
        assert.ok(sent.includes(`REST ${Math.min(partial, 555_555)}`), sent.join("\n"));
        assertSameBytes(await Deno.readFile(target), binary, "resumed download");
        const again = await downloadFile(client, "/docs dir/big data.bin", target, {
          existing: "continue",
        });
        assert.equal(again.outcome, "skipped");
      });
    });

    await t.step("resumes an interrupted upload", async () => {
      const source = `${local}/resume source.bin`;
      const data = randomBytes(BINARY_SIZE);
      await Deno.writeFile(source, data);
      const prefix = 1_000_003;
      await withClient(server, mode, async (client, sent) => {
        let read = 0;
        await client.upload("/resumed upload.bin", (buffer) => {
          if (read >= prefix) return Promise.resolve(null);
          const n = Math.min(buffer.length, prefix - read);
          buffer.set(data.subarray(read, read + n));
          read += n;
          return Promise.resolve(n);
        });
        assert.equal(await client.size("/resumed upload.bin"), prefix);
        const result = await uploadFile(client, source, "/resumed upload.bin", {
          existing: "continue",
        });
        assert.equal(result.outcome, "transferred");
        assert.equal(result.bytes, BINARY_SIZE - prefix);
        assert.ok(sent.includes(`REST ${prefix}`), sent.join("\n"));
        assertSameBytes(await Deno.readFile(server.real("/resumed upload.bin")), data, "resumed");
        const again = await uploadFile(client, source, "/resumed upload.bin", {
          existing: "continue",
        });
        assert.equal(again.outcome, "skipped");
      });
    });

    await t.step("refuses to overwrite by default", async () => {
      await withClient(server, mode, async (client) => {
        const target = `${local}/exists.bin`;
        await Deno.writeTextFile(target, "keep me");
        await assert.rejects(
          downloadFile(client, "/docs dir/big data.bin", target),
          (error: unknown) => isClientError(error) && error.exitCode === ExitCode.Exists,
        );
        assert.equal(await Deno.readTextFile(target), "keep me");
      });
    });

    await t.step("makes and removes a folder with a space in its name", async () => {
      await withClient(server, mode, async (client) => {
        await client.mkdir("/new folder");
        assert.ok((await Deno.stat(server.real("/new folder"))).isDirectory);
        assert.equal((await client.stat("/new folder"))?.type, "dir");
        const listed = await client.list("/");
        assert.equal(listed.find((entry) => entry.name === "new folder")?.type, "dir");
        assert.deepEqual(await client.list("/new folder"), []);
        await assert.rejects(client.mkdir("/new folder"), FtpReplyError);
        await client.rmdir("/new folder");
        assert.equal(await exists(server.real("/new folder")), false);
        assert.equal(await client.stat("/new folder"), undefined);
        await assert.rejects(client.rmdir("/new folder"), FtpReplyError);
      });
    });

    await t.step("renames and deletes a file, with spaces and UTF-8 in its names", async () => {
      await server.writeFile("/old name.txt", "rename me\n");
      await withClient(server, mode, async (client) => {
        await client.rename("/old name.txt", "/docs dir/new name.txt");
        assert.equal(await exists(server.real("/old name.txt")), false);
        assert.equal(await Deno.readTextFile(server.real("/docs dir/new name.txt")), "rename me\n");
        await assert.rejects(client.rename("/old name.txt", "/x.txt"), FtpReplyError);
        await client.rename("/docs dir/new name.txt", "/docs dir/naïve café 名前.txt");
        assert.equal(
          await Deno.readTextFile(server.real("/docs dir/naïve café 名前.txt")),
          "rename me\n",
        );
        const entries = await client.list("/docs dir");
        assert.ok(entries.some((entry) => entry.name === "naïve café 名前.txt"));
        await client.remove("/docs dir/naïve café 名前.txt");
        assert.equal(await exists(server.real("/docs dir/naïve café 名前.txt")), false);
        await assert.rejects(client.remove("/docs dir/naïve café 名前.txt"), FtpReplyError);
      });
    });

    await t.step("stats a file, a folder and a missing path", async () => {
      await withClient(server, mode, async (client) => {
        const file = await client.stat("/docs dir/big data.bin");
        assert.equal(file?.type, "file");
        assert.equal(file?.size, BINARY_SIZE);
        assert.equal(file?.name, "big data.bin");
        const dir = await client.stat("/docs dir/sub folder");
        assert.equal(dir?.type, "dir");
        assert.equal(await client.stat("/docs dir/no such file.bin"), undefined);
        assert.equal(await client.stat("/no such dir/x"), undefined);
        // A stat that probes with CWD leaves the working directory as it was.
        await client.cd("/docs dir");
        await client.stat("/docs dir/sub folder");
        assert.equal(await client.pwd(), "/docs dir");
        assert.equal(await client.size("/docs dir/no such file.bin"), undefined);
      });
    });
  } catch (error) {
    if (error instanceof Error) error.message += context();
    throw error;
  } finally {
    await server.stop();
    await Deno.remove(local, { recursive: true });
  }
}

const inCi = Deno.env.get("CI") === "true";
const allowMissing = !inCi && Deno.env.get("FERRY_INTEROP_ALLOW_MISSING") === "1";

for (const name of PEER_SERVERS) {
  const missing = await peerServerMissing(name);
  for (const family of FAMILIES) {
    for (const mode of MODES) {
      const testName = `FtpClient works with ${name} over ${family} in ${mode} mode`;
      if (missing && allowMissing) {
        Deno.test({ name: `${testName} [skipped: ${missing}]`, ignore: true, fn: () => {} });
      } else if (missing) {
        Deno.test(testName, () => {
          throw new Error(
            `Interop peer missing: ${missing}${
              inCi ? "" : " (outside CI, FERRY_INTEROP_ALLOW_MISSING=1 reports it as ignored)"
            }`,
          );
        });
      } else {
        Deno.test(testName, (t) => runScenarios(name, family, mode, t));
      }
    }
  }
}

/** What a run of the CLI left behind. */
interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** Longest one CLI run may take, in milliseconds. */
const CLI_TIMEOUT_MS = 60_000;

/** Runs `deno run -A main.ts client <args>`, killed after CLI_TIMEOUT_MS. */
async function runCli(args: string[]): Promise<CliResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "client", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CLI_TIMEOUT_MS),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Runs the CLI and fails with its output unless it exits with `code`. */
async function cli(args: string[], code = 0): Promise<CliResult> {
  const result = await runCli(args);
  assert.equal(
    result.code,
    code,
    `ferry client ${
      args.join(" ")
    }\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`,
  );
  return result;
}

/** The end-to-end CLI scenarios: get, put, resume both ways, ls, stat, mkdir, mv, rm, rmdir. */
async function runCliScenarios(name: PeerServerName, t: Deno.TestContext): Promise<void> {
  const server = await startPeerServer(name);
  const local = await Deno.makeTempDir({ prefix: "ferry-cli-peers-" });
  const url = (path: string) =>
    `ftp://${server.user}:${server.password}@${server.host}:${server.port}${
      path.split("/").map(encodeURIComponent).join("/")
    }`;
  try {
    const binary = randomBytes(BINARY_SIZE);
    const text = sampleText(500);
    await server.mkdir("/cli dir");
    await server.writeFile("/cli dir/notes file.txt", text);
    for (const mode of MODES) {
      const flags = mode === "active" ? ["--active", "-q"] : ["-q"];
      await t.step(`${mode} mode: put and get 2 MB, resuming both ways`, async () => {
        const source = `${local}/${mode} source.bin`;
        await Deno.writeFile(source, binary);
        const remote = `/cli dir/${mode} data.bin`;
        const put = await cli(["put", ...flags, "-v", source, url(remote)]);
        assert.match(put.stderr, mode === "active" ? /> (EPRT|PORT) / : /> (EPSV|PASV)/);
        assertSameBytes(await Deno.readFile(server.real(remote)), binary, "put");
        const target = `${local}/${mode} copy.bin`;
        await cli(["get", ...flags, url(remote), target]);
        assertSameBytes(await Deno.readFile(target), binary, "get");
        await cli(["get", ...flags, url(remote), target], ExitCode.Exists);
        await Deno.truncate(target, 333_333);
        await cli(["get", ...flags, "--continue", url(remote), target]);
        assertSameBytes(await Deno.readFile(target), binary, "get --continue");
        await Deno.truncate(server.real(remote), 444_444);
        await cli(["put", ...flags, "--continue", source, url(remote)]);
        assertSameBytes(await Deno.readFile(server.real(remote)), binary, "put --continue");
      });
      await t.step(`${mode} mode: gets text as ascii`, async () => {
        const target = `${local}/${mode} notes.txt`;
        await cli(["get", ...flags, "--type", "ascii", url("/cli dir/notes file.txt"), target]);
        assert.equal(await Deno.readTextFile(target), text);
      });
      await t.step(`${mode} mode: lists and stats`, async () => {
        const listed = JSON.parse((await cli(["ls", ...flags, "--json", url("/cli dir")])).stdout);
        const notes = listed.find((entry: { name: string }) => entry.name === "notes file.txt");
        assert.equal(notes?.type, "file");
        assert.equal(notes?.size, new TextEncoder().encode(text).length);
        const stat = JSON.parse(
          (await cli(["stat", ...flags, "--json", url("/cli dir/notes file.txt")])).stdout,
        );
        assert.equal(stat.type, "file");
        assert.equal(stat.size, notes.size);
        await cli(["stat", ...flags, url("/cli dir/no such file")], ExitCode.RemoteFile);
      });
      await t.step(`${mode} mode: makes, renames and removes`, async () => {
        const dir = `/cli dir/${mode} new dir`;
        await cli(["mkdir", ...flags, url(dir)]);
        assert.ok((await Deno.stat(server.real(dir))).isDirectory);
        await server.writeFile(`${dir}/first name.txt`, "x\n");
        await cli(["mv", ...flags, url(`${dir}/first name.txt`), `${dir}/second name.txt`]);
        assert.equal(await Deno.readTextFile(server.real(`${dir}/second name.txt`)), "x\n");
        await cli(["rm", ...flags, url(`${dir}/second name.txt`)]);
        assert.equal(await exists(server.real(`${dir}/second name.txt`)), false);
        await cli(["rm", ...flags, url(`${dir}/second name.txt`)], ExitCode.RemoteFile);
        await cli(["rmdir", ...flags, url(dir)]);
        assert.equal(await exists(server.real(dir)), false);
      });
    }
  } catch (error) {
    if (error instanceof Error) error.message += `\n--- ${name} output ---\n${server.output()}`;
    throw error;
  } finally {
    await server.stop();
    await Deno.remove(local, { recursive: true });
  }
}

for (const name of PEER_SERVERS) {
  const missing = await peerServerMissing(name);
  const testName = `ferry client CLI works with ${name}`;
  if (missing && allowMissing) {
    Deno.test({ name: `${testName} [skipped: ${missing}]`, ignore: true, fn: () => {} });
  } else if (missing) {
    Deno.test(testName, () => {
      throw new Error(`Interop peer missing: ${missing}`);
    });
  } else {
    Deno.test(testName, (t) => runCliScenarios(name, t));
  }
}
