/**
 * Mirroring a directory tree, like lftp's `mirror`: list both sides, plan
 * which files differ (by size or modification time), then create the
 * directories, move those files and, if asked, delete what the source lacks.
 * Names a server lists are never trusted as local paths.
 *
 * @module
 */

import * as path from "node:path";
import * as posix from "node:path/posix";
import { formatMlsxTime } from "../../protocol/listing.ts";
import type { ClientContext } from "../context.ts";
import { ClientError, ExitCode, isClientError } from "../errors.ts";
import type { FtpClient } from "../ftp_client.ts";
import { downloadFile, uploadFile } from "./local_transfer.ts";
import { makeRemoteDirectory } from "../commands/remote_fs.ts";
import type { FtpUrl } from "../url.ts";

/** One file or directory of a tree. */
export interface TreeEntry {
  type: "file" | "dir";
  size: number;
  mtime: Date;
}

/** A tree: relative POSIX path ("a/b.txt") to entry. */
export type Tree = Map<string, TreeEntry>;

/** The deepest tree {@linkcode listRemoteTree} and {@linkcode listLocalTree} descend. */
export const MAX_DEPTH = 64;

/**
 * True if a listed name is safe to use as one local path component: not
 * empty, not "." or "..", no "/", "\\", NUL, CR or LF, not a drive ("C:") or any
 * other absolute path.
 *
 * @example
 * ```ts
 * isSafeEntryName("a.txt"); // true
 * isSafeEntryName("../evil"); // false
 * ```
 */
export function isSafeEntryName(name: string): boolean {
  if (name === "" || name === "." || name === "..") return false;
  if (/[/\\\0\r\n]/.test(name)) return false;
  if (/^[A-Za-z]:/.test(name)) return false;
  return !path.isAbsolute(name) && !posix.isAbsolute(name);
}

/** Options for {@linkcode planMirror}. */
export interface MirrorPlanOptions {
  /**
   * Plan to delete target entries the source does not have.
   * @default {false}
   */
  delete?: boolean;
  /**
   * Times equal when they fall in the same slot of this many milliseconds
   * (1000 for MLSD's seconds, 60000 for `ls -l` minutes).
   * @default {1000}
   */
  timeResolutionMs?: number;
  /**
   * Count a target that is newer than its source as current when the sizes
   * match (when its time could not be set, as without MFMT).
   * @default {false}
   */
  newerTargetIsCurrent?: boolean;
}

/** A file to transfer. */
export interface PlannedTransfer {
  path: string;
  size: number;
  mtime: Date;
}

/** What a mirror will do. */
export interface MirrorPlan {
  /** Directories to create, parents first. */
  mkdirs: string[];
  /** Files that are missing or differ. */
  transfers: PlannedTransfer[];
  /** Target entries to delete (with `delete`): files first, then directories deepest first. */
  deletes: { path: string; type: "file" | "dir" }[];
  /** Source paths whose target is of the other type (a file where a directory is): skipped. */
  conflicts: string[];
  /** Files already current. */
  upToDate: number;
}

function _depth(relative: string): number {
  return relative.split("/").length;
}

function _sameTime(a: Date, b: Date, resolution: number): boolean {
  return Math.floor(a.getTime() / resolution) === Math.floor(b.getTime() / resolution);
}

/**
 * Decides what to transfer from `source` to `target`: files missing on the
 * target or whose size or modification time differ.
 *
 * @example
 * ```ts
 * const now = new Date();
 * const plan = planMirror(
 *   new Map([["a", { type: "file", size: 1, mtime: now }]]),
 *   new Map(),
 * );
 * plan.transfers; // [{ path: "a", size: 1, mtime: now }]
 * ```
 */
export function planMirror(
  source: Tree,
  target: Tree,
  options: MirrorPlanOptions = {},
): MirrorPlan {
  const resolution = options.timeResolutionMs ?? 1000;
  const plan: MirrorPlan = { mkdirs: [], transfers: [], deletes: [], conflicts: [], upToDate: 0 };
  const blocked: string[] = [];
  const isBlocked = (relative: string) =>
    blocked.some((prefix) => relative.startsWith(`${prefix}/`));
  for (const [relative, entry] of [...source].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (isBlocked(relative)) continue;
    const existing = target.get(relative);
    if (existing !== undefined && existing.type !== entry.type) {
      plan.conflicts.push(relative);
      if (entry.type === "dir") blocked.push(relative);
      continue;
    }
    if (entry.type === "dir") {
      if (existing === undefined) plan.mkdirs.push(relative);
      continue;
    }
    const current = existing !== undefined && existing.size === entry.size &&
      (_sameTime(existing.mtime, entry.mtime, resolution) ||
        (options.newerTargetIsCurrent === true && existing.mtime > entry.mtime));
    if (current) plan.upToDate++;
    else plan.transfers.push({ path: relative, size: entry.size, mtime: entry.mtime });
  }
  plan.mkdirs.sort((a, b) => _depth(a) - _depth(b));
  if (options.delete) {
    const extraneous = [...target].filter(([relative]) => !source.has(relative));
    const files = extraneous.filter(([, entry]) => entry.type === "file").map(([p]) => p).sort();
    const dirs = extraneous.filter(([, entry]) => entry.type === "dir").map(([p]) => p)
      .sort((a, b) => _depth(b) - _depth(a));
    plan.deletes = [
      ...files.map((p) => ({ path: p, type: "file" as const })),
      ...dirs.map((p) => ({ path: p, type: "dir" as const })),
    ];
  }
  return plan;
}

/** Called for each entry a listing holds that is skipped, with the reason. */
export type SkipReporter = (relative: string, reason: string) => void;

/**
 * Lists a remote tree under `root`. Names that are not safe path components
 * ({@linkcode isSafeEntryName}), links and special files are reported and
 * skipped.
 */
export async function listRemoteTree(
  client: FtpClient,
  root: string,
  onSkip: SkipReporter,
): Promise<Tree> {
  const tree: Tree = new Map();
  const walk = async (relative: string, depth: number) => {
    if (depth > MAX_DEPTH) return onSkip(relative, `deeper than ${MAX_DEPTH} levels`);
    const remote = relative === "" ? root : posix.join(root, relative);
    for (const entry of await client.list(remote)) {
      const child = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (!isSafeEntryName(entry.name)) {
        onSkip(JSON.stringify(entry.name), "unsafe name from the server");
        continue;
      }
      if (entry.type !== "file" && entry.type !== "dir") {
        onSkip(child, `not a regular file or directory (${entry.type})`);
        continue;
      }
      if (tree.has(child)) continue;
      tree.set(child, { type: entry.type, size: entry.size, mtime: entry.mtime });
      if (entry.type === "dir") await walk(child, depth + 1);
    }
  };
  await walk("", 1);
  return tree;
}

/**
 * Lists a local tree under `root`. Symbolic links and special files are
 * reported and skipped (never followed).
 */
export async function listLocalTree(root: string, onSkip: SkipReporter): Promise<Tree> {
  const tree: Tree = new Map();
  const walk = async (relative: string, depth: number) => {
    if (depth > MAX_DEPTH) return onSkip(relative, `deeper than ${MAX_DEPTH} levels`);
    const dir = relative === "" ? root : path.join(root, ...relative.split("/"));
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    for (const name of names.sort()) {
      const child = relative === "" ? name : `${relative}/${name}`;
      const info = await Deno.lstat(path.join(dir, name));
      if (info.isSymlink || (!info.isFile && !info.isDirectory)) {
        onSkip(child, info.isSymlink ? "symbolic link" : "not a regular file or directory");
        continue;
      }
      tree.set(child, {
        type: info.isDirectory ? "dir" : "file",
        size: info.isDirectory ? 0 : info.size,
        mtime: info.mtime ?? new Date(0),
      });
      if (info.isDirectory) await walk(child, depth + 1);
    }
  };
  await walk("", 1);
  return tree;
}

/** Options for {@linkcode mirror}. */
export interface MirrorOptions {
  /**
   * `-R`: upload the local DIR to the URL instead of downloading.
   * @default {false}
   */
  reverse?: boolean;
  /**
   * `--delete`: remove target entries the source lacks.
   * @default {false}
   */
  delete?: boolean;
}

/** What a mirror did. */
export interface MirrorResult {
  plan: MirrorPlan;
  transferred: number;
  bytes: number;
  deleted: number;
}

function _localPath(root: string, relative: string): string {
  const parts = relative.split("/");
  // The tree holds only safe names; this guards the invariant.
  if (!parts.every(isSafeEntryName)) {
    throw new ClientError(`Unsafe path ${JSON.stringify(relative)}`, ExitCode.Protocol);
  }
  return path.join(root, ...parts);
}

async function _localDirectory(dir: string, create: boolean): Promise<void> {
  try {
    const info = await Deno.stat(dir);
    if (!info.isDirectory) throw new ClientError(`${dir} is not a directory`, ExitCode.LocalIo);
  } catch (error) {
    if (isClientError(error)) throw error;
    if (!(error instanceof Deno.errors.NotFound) || !create) {
      throw new ClientError(`${dir}: ${(error as Error).message}`, ExitCode.LocalIo);
    }
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (mkdirError) {
      throw new ClientError(`${dir}: ${(mkdirError as Error).message}`, ExitCode.LocalIo);
    }
  }
}

function _localIo<T>(what: string, run: () => Promise<T>): Promise<T> {
  return run().catch((error) => {
    if (isClientError(error)) throw error;
    throw new ClientError(`${what}: ${(error as Error).message}`, ExitCode.LocalIo, {
      cause: error,
    });
  });
}

/**
 * Mirrors the remote directory of `url` into the local `dir`, or with
 * `reverse` the local `dir` to the remote directory. Only files whose size
 * or time differ move; afterwards the target's time is set to the source's
 * (locally with `Deno.utime`, remotely with MFMT when the server has it), so
 * a second run moves nothing.
 *
 * @throws {ClientError} If the source is missing, or any transfer failed
 * (after the others were tried).
 *
 * @example
 * ```ts ignore
 * await mirror(ctx, parseFtpUrl("ftp://example.org/pub/"), "pub");
 * ```
 */
export async function mirror(
  ctx: ClientContext,
  url: FtpUrl,
  dir: string,
  options: MirrorOptions = {},
): Promise<MirrorResult> {
  const root = url.path.length > 1 ? url.path.replace(/\/+$/, "") : url.path;
  const onSkip: SkipReporter = (relative, reason) => ctx.warn(`skipped ${relative}: ${reason}`);
  const scan = await ctx.connect(url);
  let plan: MirrorPlan;
  let canSetTime: boolean;
  try {
    canSetTime = scan.features.has("MFMT");
    const exact = scan.features.has("MLST");
    let remote: Tree = new Map();
    let local: Tree;
    const rootEntry = root === "/" ? { type: "dir" } : await scan.stat(root);
    if (options.reverse) {
      await _localDirectory(dir, false);
      local = await _localIo(dir, () => listLocalTree(dir, onSkip));
      if (rootEntry === undefined) await makeRemoteDirectory(scan, root, true);
      else if (rootEntry.type !== "dir") {
        throw new ClientError(`${root} is not a directory on the server`, ExitCode.RemoteFile);
      } else remote = await listRemoteTree(scan, root, onSkip);
      plan = planMirror(local, remote, {
        delete: options.delete ?? false,
        timeResolutionMs: exact ? 1000 : 60_000,
        newerTargetIsCurrent: !canSetTime,
      });
      for (const relative of plan.mkdirs) await scan.mkdir(posix.join(root, relative));
    } else {
      if (rootEntry === undefined) {
        throw new ClientError(`${root}: no such directory on the server`, ExitCode.RemoteFile);
      }
      if (rootEntry.type !== "dir") {
        throw new ClientError(`${root} is not a directory on the server`, ExitCode.RemoteFile);
      }
      remote = await listRemoteTree(scan, root, onSkip);
      await _localDirectory(dir, true);
      local = await _localIo(dir, () => listLocalTree(dir, onSkip));
      plan = planMirror(remote, local, {
        delete: options.delete ?? false,
        timeResolutionMs: exact ? 1000 : 60_000,
      });
      for (const relative of plan.mkdirs) {
        const target = _localPath(dir, relative);
        await _localIo(target, () => Deno.mkdir(target));
      }
    }
    for (const conflict of plan.conflicts) {
      ctx.warn(`skipped ${conflict}: a file on one side and a directory on the other`);
    }
    if (options.reverse) {
      for (const entry of plan.deletes) {
        const target = posix.join(root, entry.path);
        if (entry.type === "file") await scan.remove(target);
        else await scan.rmdir(target);
      }
    }
  } finally {
    await scan.quit();
  }
  if (!options.reverse) {
    for (const entry of plan.deletes) {
      const target = _localPath(dir, entry.path);
      await _localIo(target, () => Deno.remove(target));
    }
  }
  const total = plan.transfers.reduce((sum, file) => sum + file.size, 0);
  const bar = ctx.progress(`${plan.transfers.length} files`, total || undefined);
  let transferred = 0;
  let bytes = 0;
  try {
    await ctx.forEachParallel(url, plan.transfers, async (client, file) => {
      bar.label = file.path;
      const remote = posix.join(root, file.path);
      const local = _localPath(dir, file.path);
      const transfer = { existing: "overwrite" as const, type: ctx.type, onProgress: bar.track() };
      if (options.reverse) {
        const result = await uploadFile(client, local, remote, transfer);
        bytes += result.bytes;
        if (canSetTime) {
          await client.command("MFMT", `${formatMlsxTime(file.mtime)} ${remote}`);
        }
      } else {
        const info = await Deno.lstat(local).catch(() => undefined);
        if (info?.isSymlink) {
          throw new ClientError(`${local} is a symbolic link; not following it`, ExitCode.LocalIo);
        }
        const result = await downloadFile(client, remote, local, {
          ...transfer,
          // The listing's size: no SIZE round trip per file.
          ...(file.size > 0 ? { remoteSize: file.size } : {}),
        });
        bytes += result.bytes;
        await _localIo(local, () => Deno.utime(local, new Date(), file.mtime));
      }
      transferred++;
    });
  } finally {
    bar.finish();
    ctx.notice(
      `mirror: ${transferred} of ${plan.transfers.length} files transferred (${bytes} bytes), ` +
        `${plan.upToDate} up to date, ${plan.mkdirs.length} directories created, ` +
        `${plan.deletes.length} deleted`,
    );
  }
  return { plan, transferred, bytes, deleted: plan.deletes.length };
}
