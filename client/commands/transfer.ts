/**
 * `ferry client get`, `put` and `cat`: single files and batches of files
 * between the local disk (or stdout) and a server.
 *
 * @module
 */

import * as path from "node:path";
import * as posix from "node:path/posix";
import type { ClientContext } from "../context.ts";
import { ClientError, ExitCode } from "../errors.ts";
import type { FtpClient } from "../ftp_client.ts";
import {
  chooseType,
  downloadFile,
  type FileTransferResult,
  uploadFile,
} from "../transfer/local_transfer.ts";
import { type FtpUrl, parseFtpUrl } from "../url.ts";

/** Options of `get` and `put`. */
export interface TransferCommandOptions {
  /** `--verify`: compare the server's checksum with the local file's afterwards. */
  verify?: boolean;
}

/** `--verify` compares bytes, which a TYPE A transfer changes. */
function checkVerifiable(ctx: ClientContext, options: TransferCommandOptions): void {
  if (options.verify && ctx.type !== "binary") {
    throw new ClientError(
      "--verify compares the bytes on both sides; use it with --type binary",
      ExitCode.Usage,
    );
  }
}

/** Verifies a transferred file against the server's checksum and reports it. */
async function verifyTransfer(
  ctx: ClientContext,
  client: FtpClient,
  url: FtpUrl,
  local: string,
  remote: string,
): Promise<void> {
  const { verifyFile } = await import("../checksum.ts");
  const size = (await Deno.stat(local).catch(() => undefined))?.size;
  const checked = await verifyFile(client, local, remote, {
    timeoutMs: (ctx.options.timeout ?? 30) * 1000,
    host: url.host,
    ...(size === undefined ? {} : { size }),
  });
  ctx.notice(
    `verified: ${local} = ${remote} (${checked.algorithm} ${checked.hex}, ${checked.verb})`,
  );
}

async function _isLocalDirectory(file: string): Promise<boolean> {
  try {
    return (await Deno.stat(file)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Where `get` writes: LOCAL itself, or NAME inside LOCAL when LOCAL is a
 * directory or ends with a separator; NAME in the current directory without
 * LOCAL.
 */
export async function localTarget(local: string | undefined, name: string): Promise<string> {
  if (local === undefined || local === "") return name;
  if (local.endsWith("/") || local.endsWith(path.sep) || await _isLocalDirectory(local)) {
    return path.join(local, name);
  }
  return local;
}

function _report(ctx: ClientContext, verb: string, from: string, result: FileTransferResult) {
  if (result.outcome === "skipped") ctx.notice(`${verb}: ${from}: skipped (${result.destination})`);
  else ctx.notice(`${verb}: ${from} -> ${result.destination} (${result.bytes} bytes)`);
}

/**
 * `get URL [LOCAL]`: downloads one remote file.
 *
 * @throws {ClientError} Exit 5 if the remote file is missing or a directory,
 * 9 if LOCAL exists under the default policy, 6 on a local write error.
 *
 * @example
 * ```ts ignore
 * await get(ctx, "ftp://example.org/pub/a.txt", "a.txt");
 * ```
 */
export async function get(
  ctx: ClientContext,
  urlText: string,
  local?: string,
  options: TransferCommandOptions = {},
): Promise<FileTransferResult> {
  checkVerifiable(ctx, options);
  const url = parseFtpUrl(urlText);
  const name = posix.basename(url.path);
  if (url.directory || name === "") {
    throw new ClientError(`${url.path} names a directory; use mirror`, ExitCode.Usage);
  }
  return await ctx.withClient(url, async (client) => {
    const entry = await client.stat(url.path);
    if (entry === undefined) {
      throw new ClientError(`${url.path}: no such file on the server`, ExitCode.RemoteFile);
    }
    if (entry.type === "dir") {
      throw new ClientError(`${url.path} is a directory; use mirror`, ExitCode.RemoteFile);
    }
    const target = await localTarget(local, name);
    const bar = ctx.progress(name, entry.size || undefined);
    let result: FileTransferResult;
    try {
      result = await downloadFile(client, url.path, target, {
        existing: ctx.existing,
        type: ctx.type,
        onProgress: bar.track(),
        // A size of 0 may be MLST without a size fact: SIZE asks then.
        ...(entry.size > 0 ? { remoteSize: entry.size } : {}),
      });
    } finally {
      bar.finish();
    }
    _report(ctx, "get", url.path, result);
    if (options.verify) await verifyTransfer(ctx, client, url, result.destination, url.path);
    return result;
  });
}

interface _Upload {
  local: string;
  /** The remote directory to put it in, or the remote file name. */
  remote: string;
  intoDirectory: boolean;
}

async function _checkLocalFile(file: string): Promise<number> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch (error) {
    throw new ClientError(`${file}: ${(error as Error).message}`, ExitCode.LocalIo);
  }
  if (info.isDirectory) {
    throw new ClientError(`${file} is a directory; use mirror -R`, ExitCode.LocalIo);
  }
  return info.size;
}

/**
 * `put LOCAL… URL`: uploads files, several of them into a directory URL
 * (ending in "/"), over `--parallel` sessions. A single file goes to the
 * URL's file name, or inside it if the URL is a directory.
 *
 * @throws {ClientError} Exit 6 if a local file is missing, 9 if a remote
 * file exists under the default policy, 2 for several files and a file URL.
 *
 * @example
 * ```ts ignore
 * await put(ctx, ["a.txt", "b.txt"], "ftp://example.org/incoming/");
 * ```
 */
export async function put(
  ctx: ClientContext,
  locals: readonly string[],
  urlText: string,
  options: TransferCommandOptions = {},
): Promise<FileTransferResult[]> {
  checkVerifiable(ctx, options);
  const url = parseFtpUrl(urlText);
  if (locals.length === 0) throw new ClientError("No local files given", ExitCode.Usage);
  if (locals.length > 1 && !url.directory) {
    throw new ClientError(
      'Several files need a directory URL ending in "/"',
      ExitCode.Usage,
    );
  }
  let total = 0;
  for (const local of locals) total += await _checkLocalFile(local);
  const jobs: _Upload[] = locals.map((local) => ({
    local,
    remote: url.path,
    intoDirectory: url.directory,
  }));
  const bar = ctx.progress(
    locals.length === 1 ? path.basename(locals[0]!) : `${locals.length} files`,
    total || undefined,
  );
  const results: FileTransferResult[] = [];
  try {
    await ctx.forEachParallel(url, jobs, async (client, job) => {
      const remote = await _uploadTarget(client, job);
      const result = await uploadFile(client, job.local, remote, {
        existing: ctx.existing,
        type: ctx.type,
        onProgress: bar.track(),
      });
      results.push(result);
      _report(ctx, "put", job.local, result);
      if (options.verify) await verifyTransfer(ctx, client, url, job.local, result.destination);
    });
  } finally {
    bar.finish();
  }
  return results;
}

async function _uploadTarget(client: FtpClient, job: _Upload): Promise<string> {
  const name = path.basename(job.local);
  if (job.intoDirectory) return posix.join(job.remote, name);
  const entry = job.remote === "/" ? undefined : await client.stat(job.remote);
  return entry?.type === "dir" ? posix.join(job.remote, name) : job.remote;
}

/**
 * `cat URL`: writes a remote file to stdout, byte for byte (binary unless
 * `--type` says otherwise).
 *
 * @throws {ClientError} Exit 5 if the file is missing.
 *
 * @example
 * ```ts ignore
 * await cat(ctx, "ftp://example.org/pub/README");
 * ```
 */
export async function cat(ctx: ClientContext, urlText: string): Promise<number> {
  const url = parseFtpUrl(urlText);
  return await ctx.withClient(
    url,
    (client) =>
      client.download(url.path, (chunk) => ctx.io.stdout(chunk), {
        type: chooseType(ctx.type, url.path),
      }),
  );
}
