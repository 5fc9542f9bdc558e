/**
 * `ferry client ls`, `stat`, `mkdir`, `rm`, `rmdir` and `mv`: commands on
 * remote names that move no file data.
 *
 * @module
 */

import * as posix from "node:path/posix";
import { formatListLine } from "../../protocol/listing.ts";
import type { ClientContext } from "../context.ts";
import { ClientError, ExitCode } from "../errors.ts";
import type { FtpClient, RemoteEntry } from "../ftp_client.ts";
import { parseFtpUrl } from "../url.ts";

/** How `ls` prints. */
export interface LsOptions {
  /** `-l`: `ls -l`-style lines. */
  long?: boolean;
  /** `--json`: an array of {name, type, size, mtime}. */
  json?: boolean;
}

/** The JSON shape of an entry for `ls --json` and `stat --json`. */
export interface EntryJson {
  name: string;
  type: RemoteEntry["type"];
  size: number;
  /** ISO 8601, UTC. */
  mtime: string;
}

/** An entry as `ls --json` prints it. */
export function entryJson(entry: RemoteEntry): EntryJson {
  return {
    name: entry.name,
    type: entry.type,
    size: entry.size,
    mtime: entry.mtime.toISOString(),
  };
}

async function _statOrFail(client: FtpClient, path: string): Promise<RemoteEntry> {
  const entry = await client.stat(path);
  if (entry === undefined) {
    throw new ClientError(`${path}: no such file or directory on the server`, ExitCode.RemoteFile);
  }
  return entry;
}

/**
 * `ls URL`: lists a remote directory (or shows one file), sorted by name.
 *
 * @example
 * ```ts ignore
 * await ls(ctx, "ftp://example.org/pub/", { long: true });
 * ```
 */
export async function ls(
  ctx: ClientContext,
  urlText: string,
  options: LsOptions = {},
): Promise<RemoteEntry[]> {
  const url = parseFtpUrl(urlText);
  const entries = await ctx.withClient(url, async (client) => {
    if (!url.directory && url.path !== "/") {
      const entry = await _statOrFail(client, url.path);
      if (entry.type !== "dir") return [entry];
    }
    return await client.list(url.path);
  });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (options.json) {
    await ctx.print(JSON.stringify(entries.map(entryJson), null, 2));
  } else {
    const now = new Date();
    for (const entry of entries) {
      await ctx.print(options.long ? formatListLine(entry, now) : entry.name);
    }
  }
  return entries;
}

/**
 * `stat URL`: prints a remote path's type, size and modification time.
 *
 * @throws {ClientError} Exit 5 if it does not exist.
 *
 * @example
 * ```ts ignore
 * await stat(ctx, "ftp://example.org/pub/a.txt", { json: true });
 * ```
 */
export async function stat(
  ctx: ClientContext,
  urlText: string,
  options: { json?: boolean } = {},
): Promise<RemoteEntry> {
  const url = parseFtpUrl(urlText);
  const entry = await ctx.withClient(url, (client) => _statOrFail(client, url.path));
  if (options.json) {
    await ctx.print(JSON.stringify({ path: url.path, ...entryJson(entry) }, null, 2));
  } else {
    await ctx.print(`path: ${url.path}`);
    await ctx.print(`type: ${entry.type}`);
    await ctx.print(`size: ${entry.size}`);
    await ctx.print(`mtime: ${entry.mtime.toISOString()}`);
  }
  return entry;
}

/**
 * Makes a remote directory and, like `mkdir -p`, its missing parents (an
 * existing directory is then not an error).
 */
export async function makeRemoteDirectory(
  client: FtpClient,
  path: string,
  parents: boolean,
): Promise<void> {
  if (!parents) return await client.mkdir(path);
  const parts = path.split("/").filter(Boolean);
  let current = path.startsWith("/") ? "/" : "";
  for (const part of parts) {
    current = current === "" ? part : posix.join(current, part);
    const entry = await client.stat(current);
    if (entry?.type === "dir") continue;
    if (entry !== undefined) {
      throw new ClientError(`${current} exists and is not a directory`, ExitCode.RemoteFile);
    }
    await client.mkdir(current);
  }
}

/**
 * `mkdir [-p] URL`.
 *
 * @example
 * ```ts ignore
 * await mkdir(ctx, "ftp://example.org/a/b/c", { parents: true });
 * ```
 */
export async function mkdir(
  ctx: ClientContext,
  urlText: string,
  options: { parents?: boolean } = {},
): Promise<void> {
  const url = parseFtpUrl(urlText);
  await ctx.withClient(url, (client) => makeRemoteDirectory(client, url.path, !!options.parents));
}

/**
 * `rm URL`: deletes a remote file.
 *
 * @example
 * ```ts ignore
 * await rm(ctx, "ftp://example.org/a.txt");
 * ```
 */
export async function rm(ctx: ClientContext, urlText: string): Promise<void> {
  const url = parseFtpUrl(urlText);
  await ctx.withClient(url, (client) => client.remove(url.path));
}

/**
 * `rmdir URL`: removes an empty remote directory.
 *
 * @example
 * ```ts ignore
 * await rmdir(ctx, "ftp://example.org/empty/");
 * ```
 */
export async function rmdir(ctx: ClientContext, urlText: string): Promise<void> {
  const url = parseFtpUrl(urlText);
  await ctx.withClient(url, (client) => client.rmdir(url.path));
}

/**
 * Where `mv` moves to: NEWPATH as given when absolute, else relative to the
 * directory of the URL's path.
 *
 * @example
 * ```ts
 * moveTarget("/dir/a.txt", "b.txt"); // "/dir/b.txt"
 * ```
 */
export function moveTarget(from: string, newPath: string): string {
  if (newPath === "") throw new ClientError("Empty NEWPATH", ExitCode.Usage);
  if (/[\r\n\0]/.test(newPath)) {
    throw new ClientError("NEWPATH contains CR, LF or NUL", ExitCode.Usage);
  }
  const joined = newPath.startsWith("/")
    ? posix.normalize(newPath)
    : posix.join(posix.dirname(from.replace(/\/+$/, "") || "/"), newPath);
  return newPath.endsWith("/") && joined !== "/" ? `${joined.replace(/\/+$/, "")}/` : joined;
}

/**
 * `mv URL NEWPATH`: renames on the same server. Into NEWPATH if it is a
 * directory; an existing file there is replaced only with `--overwrite`.
 *
 * @throws {ClientError} Exit 9 if the target file exists (without
 * --overwrite), 5 if the source is missing.
 *
 * @example
 * ```ts ignore
 * await mv(ctx, "ftp://example.org/dir/a.txt", "../b.txt");
 * ```
 */
export async function mv(ctx: ClientContext, urlText: string, newPath: string): Promise<string> {
  const url = parseFtpUrl(urlText);
  const from = url.path;
  let to = moveTarget(from, newPath);
  await ctx.withClient(url, async (client) => {
    await _statOrFail(client, from);
    const existing = await client.stat(to);
    if (existing?.type === "dir") {
      to = posix.join(to, posix.basename(from.replace(/\/+$/, "")));
    }
    const target = existing?.type === "dir" ? await client.stat(to) : existing;
    if (target !== undefined && ctx.existing !== "overwrite") {
      throw new ClientError(`${to} exists on the server (use --overwrite)`, ExitCode.Exists);
    }
    await client.rename(from, to.length > 1 ? to.replace(/\/+$/, "") : to);
  });
  return to;
}
