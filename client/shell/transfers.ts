/**
 * The shell's file transfers: `get`, `put`, `mget` and `mput`, with the
 * existing-destination question on a terminal (overwrite, rename, skip,
 * continue) and the per-file TYPE choice.
 *
 * @module
 */

import * as path from "node:path";
import * as posix from "node:path/posix";
import { ClientError, ExitCode, isClientError } from "../errors.ts";
import {
  chooseType,
  downloadFile,
  type FileTransferResult,
  looksLikeText,
  uploadFile,
} from "../transfer/local_transfer.ts";
import type { ExistingPolicy } from "../transfer/overwrite.ts";
import { describeError, type ShellSession } from "./session.ts";
import { globToRegExp, hasGlob } from "./words.ts";

const ANSWERS: Record<string, ExistingPolicy> = {
  o: "overwrite",
  r: "rename",
  s: "skip",
  c: "continue",
};

/** Decides what to do about an existing destination: the setting, or the user's answer. */
async function existingPolicy(
  session: ShellSession,
  description: string,
): Promise<ExistingPolicy> {
  const setting = session.existing === "ask" && !session.io.input.interactive
    ? "fail"
    : session.existing;
  if (setting === "fail") {
    throw new ClientError(
      `${description} exists. Use set existing overwrite|rename|skip|continue.`,
      ExitCode.Exists,
    );
  }
  if (setting !== "ask") return setting;
  while (true) {
    const answer = await session.io.input.readLine(
      `${description} exists: [o]verwrite, [r]ename (keep both), [s]kip, [c]ontinue? `,
      { history: false },
    );
    if (answer === null) return "skip";
    const policy = ANSWERS[answer.trim().toLowerCase().slice(0, 1)];
    if (policy) return policy;
  }
}

async function localExists(file: string): Promise<boolean> {
  try {
    await Deno.lstat(file);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new ClientError(`${file}: ${(error as Error).message}`, ExitCode.LocalIo);
  }
}

function typeName(type: "A" | "I"): string {
  return type === "A" ? "ascii" : "binary";
}

function report(
  session: ShellSession,
  name: string,
  verb: "received" | "sent",
  requested: string,
  result: FileTransferResult,
  type: "A" | "I",
): void {
  if (result.outcome === "skipped") {
    session.io.print(`${name}: skipped\n`);
    return;
  }
  const relative = path.relative(session.localDir, result.destination);
  const shown = verb === "received" && !relative.startsWith("..") && !path.isAbsolute(relative)
    ? relative
    : result.destination;
  const renamed = result.destination !== requested ? ` as ${shown}` : "";
  session.io.print(`${name}: ${result.bytes} bytes ${verb}${renamed} (${typeName(type)})\n`);
}

/** `get REMOTE [LOCAL]`: downloads one file into the local directory. */
export async function getFile(session: ShellSession, remote: string, local?: string) {
  const client = session.requireLogin();
  const target = session.localPath(local ?? posix.basename(remote));
  let policy: ExistingPolicy = "fail";
  const existed = await localExists(target);
  if (existed) {
    policy = await existingPolicy(session, `local file ${local ?? path.basename(target)}`);
  }
  const type = chooseType(session.type, remote);
  try {
    const result = await downloadFile(client, remote, target, {
      existing: policy,
      type: type === "A" ? "ascii" : "binary",
    });
    report(session, remote, "received", target, result, type);
  } catch (error) {
    // downloadFile creates the file before RETR: do not leave an empty one behind.
    if (!existed) await Deno.remove(target).catch(() => {});
    throw error;
  }
}

/** `put LOCAL [REMOTE]`: uploads one local file into the remote directory. */
export async function putFile(session: ShellSession, local: string, remote?: string) {
  const client = session.requireLogin();
  const source = session.localPath(local);
  const destination = remote ?? path.basename(source);
  const type = await uploadType(session, source);
  let policy: ExistingPolicy = "fail";
  const existing = await client.stat(destination);
  if (existing?.type === "dir") {
    throw new ClientError(`${destination} is a directory on the server`, ExitCode.RemoteFile);
  }
  if (existing) policy = await existingPolicy(session, `remote file ${destination}`);
  session.forgetListings();
  const result = await uploadFile(client, source, destination, {
    existing: policy,
    type: type === "A" ? "ascii" : "binary",
  });
  report(session, local, "sent", destination, result, type);
}

/**
 * The TYPE for an upload, from the shell's setting and the first 8 KiB:
 * even under `type ascii`, a file that is not text goes as binary (the
 * seed's type-mismatch guard).
 */
async function uploadType(session: ShellSession, file: string): Promise<"A" | "I"> {
  if (session.type === "binary") return "I";
  let sample: Uint8Array;
  try {
    using handle = await Deno.open(file, { read: true });
    const buffer = new Uint8Array(8192);
    sample = buffer.subarray(0, (await handle.read(buffer)) ?? 0);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ClientError(`${file}: no such file`, ExitCode.LocalIo);
    }
    throw new ClientError(`${file}: ${(error as Error).message}`, ExitCode.LocalIo);
  }
  if (session.type === "ascii") {
    if (looksLikeText(sample)) return "A";
    session.io.print(`${path.basename(file)} is not text: sending it as binary\n`);
    return "I";
  }
  return chooseType("auto", file, sample);
}

function splitGlob(pattern: string): { dir: string; base: string } {
  const slash = pattern.lastIndexOf("/");
  if (slash < 0) return { dir: "", base: pattern };
  return { dir: pattern.slice(0, slash + 1), base: pattern.slice(slash + 1) };
}

/** Runs `each` for every name, reporting every failure and throwing the first at the end. */
async function forEachFile(
  session: ShellSession,
  names: string[],
  each: (name: string) => Promise<void>,
): Promise<void> {
  let first: unknown;
  let failed = 0;
  for (const name of names) {
    try {
      await each(name);
    } catch (error) {
      if (isClientError(error) && error.exitCode === ExitCode.Connect) throw error;
      session.io.error(`${describeError(error)}\n`);
      first ??= error;
      failed++;
    }
  }
  if (first !== undefined) {
    throw new ClientError(
      `${failed} of ${names.length} files failed`,
      isClientError(first) ? first.exitCode : ExitCode.Failure,
    );
  }
}

/**
 * Expands glob patterns into file names, sorted within each pattern. A
 * pattern without glob characters stands for itself; `filesIn(dir)` lists
 * the plain file names of a directory ("." for the current one).
 */
async function expandPatterns(
  patterns: string[],
  filesIn: (dir: string) => Promise<string[]>,
  side: { label: string; exitCode: number },
): Promise<string[]> {
  const names: string[] = [];
  for (const pattern of patterns) {
    if (!hasGlob(pattern)) {
      names.push(pattern);
      continue;
    }
    const { dir, base } = splitGlob(pattern);
    const regexp = globToRegExp(base);
    const matches = (await filesIn(dir === "" ? "." : dir))
      .filter((name) => regexp.test(name))
      .map((name) => dir + name)
      .sort();
    if (matches.length === 0) {
      throw new ClientError(`No ${side.label} files match ${pattern}`, side.exitCode);
    }
    names.push(...matches);
  }
  return names;
}

/** `mget GLOB…`: downloads the remote files matching each pattern. */
export async function getMatching(session: ShellSession, patterns: string[]) {
  session.requireLogin();
  const names = await expandPatterns(
    patterns,
    async (dir) =>
      (await session.listRemote(dir))
        .filter((entry) => entry.type === "file")
        .map((entry) => entry.name),
    { label: "remote", exitCode: ExitCode.RemoteFile },
  );
  await forEachFile(session, names, (name) => getFile(session, name));
}

/** `mput GLOB…`: uploads the local files matching each pattern. */
export async function putMatching(session: ShellSession, patterns: string[]) {
  session.requireLogin();
  const names = await expandPatterns(patterns, async (dir) => {
    const files: string[] = [];
    try {
      for await (const entry of Deno.readDir(session.localPath(dir))) {
        if (entry.isFile) files.push(entry.name);
      }
    } catch (error) {
      throw new ClientError(`${dir}: ${(error as Error).message}`, ExitCode.LocalIo);
    }
    return files;
  }, { label: "local", exitCode: ExitCode.LocalIo });
  await forEachFile(session, names, (name) => putFile(session, name));
}
