/**
 * Moving files between the local disk and a server, under the policy for an
 * existing destination (`client/transfer/overwrite.ts`).
 *
 * @module
 */

import * as posix from "node:path/posix";
import * as path from "node:path";
import { ClientError, type ClientFailure, ExitCode, isClientError } from "../errors.ts";
import type { FtpClient } from "../ftp_client.ts";
import { decideExisting, type ExistingPolicy } from "./overwrite.ts";

/** Representation type choice: binary, ASCII, or per file by content. */
export type TypeChoice = "binary" | "ascii" | "auto";

/** Options for {@linkcode downloadFile} and {@linkcode uploadFile}. */
export interface FileTransferOptions {
  /** @default {"fail"} */
  existing?: ExistingPolicy;
  /** @default {"binary"} */
  type?: TypeChoice;
  /** Called with bytes so far and the total when known. */
  onProgress?: (bytes: number, total: number | undefined) => void;
  /**
   * Downloads: the remote file's size in bytes, when the caller already has
   * it (from MLST). A binary download then sends no SIZE: one round trip
   * less per file.
   */
  remoteSize?: number;
}

/** What a file transfer did. */
export interface FileTransferResult {
  /** "transferred", or "skipped" when the policy said so or nothing was left to resume. */
  outcome: "transferred" | "skipped";
  /** Where the data went (differs from the request under "rename"). */
  destination: string;
  /** Bytes moved over the data connection. */
  bytes: number;
}

const TEXT_EXTENSIONS = new Set([
  "txt",
  "csv",
  "tsv",
  "md",
  "html",
  "htm",
  "css",
  "js",
  "ts",
  "json",
  "xml",
  "yml",
  "yaml",
  "ini",
  "conf",
  "cfg",
  "log",
  "sh",
  "py",
  "c",
  "h",
  "java",
  "sql",
]);

/**
 * True if a sample of a file looks like text: no NUL byte, valid UTF-8, and
 * no other control characters than tab, CR, LF and form feed. The seed's
 * type-mismatch guard: a binary file is never sent as ASCII.
 *
 * @example
 * ```ts
 * looksLikeText(new TextEncoder().encode("a\nb\n")); // true
 * ```
 */
export function looksLikeText(sample: Uint8Array): boolean {
  for (const byte of sample) {
    if (byte === 0) return false;
    if (byte < 32 && byte !== 9 && byte !== 10 && byte !== 13 && byte !== 12) return false;
  }
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(sample.subarray(0, safeUtf8End(sample)));
    return true;
  } catch {
    return false;
  }
}

/** The end of the sample without a UTF-8 sequence cut in half at its end. */
function safeUtf8End(sample: Uint8Array): number {
  const end = sample.length;
  for (let i = 1; i <= 3 && end - i >= 0; i++) {
    const byte = sample[end - i]!;
    if ((byte & 0xc0) === 0xc0) return end - i; // a lead byte near the end: drop the partial sequence
    if ((byte & 0x80) === 0) break;
  }
  return end;
}

/** Chooses TYPE A or I for a file: auto means ASCII only for text-like names whose content is text. */
export function chooseType(choice: TypeChoice, name: string, sample?: Uint8Array): "A" | "I" {
  if (choice === "ascii") return "A";
  if (choice === "binary") return "I";
  const extension = posix.extname(name).slice(1).toLowerCase();
  if (!TEXT_EXTENSIONS.has(extension)) return "I";
  return sample === undefined || looksLikeText(sample) ? "A" : "I";
}

async function localSize(file: string): Promise<number | undefined> {
  try {
    const info = await Deno.stat(file);
    if (info.isDirectory) {
      throw new ClientError(`${file} is a directory`, ExitCode.LocalIo);
    }
    return info.size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (isClientError(error)) throw error;
    throw new ClientError(`Cannot read ${file}: ${(error as Error).message}`, ExitCode.LocalIo);
  }
}

async function freeLocalName(file: string): Promise<string> {
  const ext = path.extname(file);
  const base = file.slice(0, file.length - ext.length);
  for (let i = 1; i < 10_000; i++) {
    const candidate = `${base}.${i}${ext}`;
    if (await localSize(candidate) === undefined) return candidate;
  }
  throw new ClientError(`No free name next to ${file}`, ExitCode.LocalIo);
}

function localError(file: string, error: unknown): ClientFailure {
  if (isClientError(error)) return error;
  return new ClientError(`${file}: ${(error as Error).message}`, ExitCode.LocalIo, {
    cause: error,
  });
}

/** Downloads `remote` to the local file `local` under the existing-file policy. */
export async function downloadFile(
  client: FtpClient,
  remote: string,
  local: string,
  options: FileTransferOptions = {},
): Promise<FileTransferResult> {
  const type = chooseType(options.type ?? "binary", remote);
  const total = type === "I" && options.remoteSize !== undefined
    ? options.remoteSize
    : await client.size(remote);
  const existing = await localSize(local);
  const decision = await decideExisting(options.existing ?? "fail", {
    name: local,
    side: "local",
    size: existing,
    source: remote,
    sourceSize: total,
    freeName: () => freeLocalName(local),
  });
  if (decision.action === "skip") return { outcome: "skipped", destination: local, bytes: 0 };
  const { destination, offset } = decision;
  if (offset > 0 && type === "A") {
    throw new ClientError("Cannot resume a TYPE A (ascii) transfer", ExitCode.Usage);
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(destination, {
      write: true,
      create: true,
      truncate: offset === 0,
      append: offset > 0,
    });
  } catch (error) {
    throw localError(destination, error);
  }
  try {
    const bytes = await client.download(remote, async (chunk) => {
      try {
        // Asynchronous: the next chunk is read from the network while this one is written.
        let written = 0;
        while (written < chunk.length) written += await file.write(chunk.subarray(written));
      } catch (error) {
        throw localError(destination, error);
      }
    }, {
      offset,
      type,
      onProgress: (bytes) => options.onProgress?.(offset + bytes, total),
    });
    return { outcome: "transferred", destination, bytes };
  } catch (error) {
    // A file this call created and never wrote to is removed; a partial one stays for --continue.
    if (existing === undefined || destination !== local) {
      const info = await file.stat().catch(() => undefined);
      if (info?.size === 0) await Deno.remove(destination).catch(() => {});
    }
    throw error;
  } finally {
    file.close();
  }
}

/** The first free remote name next to `remote` ("name.1.ext", …). */
async function freeRemoteName(client: FtpClient, remote: string): Promise<string> {
  const ext = posix.extname(remote);
  const base = remote.slice(0, remote.length - ext.length);
  for (let i = 1; i < 10_000; i++) {
    const candidate = `${base}.${i}${ext}`;
    if (await client.stat(candidate) === undefined) return candidate;
  }
  throw new ClientError(`No free name next to ${remote}`, ExitCode.RemoteFile);
}

/** Uploads the local file `local` to `remote` under the existing-file policy. */
export async function uploadFile(
  client: FtpClient,
  local: string,
  remote: string,
  options: FileTransferOptions = {},
): Promise<FileTransferResult> {
  const policy = options.existing ?? "fail";
  const total = await localSize(local);
  if (total === undefined) throw new ClientError(`${local}: no such file`, ExitCode.LocalIo);
  const existing = policy === "overwrite" ? undefined : await client.stat(remote);
  if (existing?.type === "dir") {
    throw new ClientError(`${remote} is a directory on the server`, ExitCode.RemoteFile);
  }
  const decision = await decideExisting(policy, {
    name: remote,
    side: "server",
    // Under "continue" the size is SIZE's (binary) figure where the server gives one.
    size: existing &&
      (policy === "continue" ? await client.size(remote) ?? existing.size : existing.size),
    source: local,
    sourceSize: total,
    freeName: () => freeRemoteName(client, remote),
  });
  if (decision.action === "skip") return { outcome: "skipped", destination: remote, bytes: 0 };
  const { destination, offset } = decision;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(local, { read: true });
  } catch (error) {
    throw localError(local, error);
  }
  try {
    const sample = new Uint8Array(8192);
    const sampled = (await file.read(sample)) ?? 0;
    await file.seek(offset, Deno.SeekMode.Start);
    const type = chooseType(options.type ?? "binary", local, sample.subarray(0, sampled));
    if (offset > 0 && type === "A") {
      throw new ClientError("Cannot resume a TYPE A (ascii) transfer", ExitCode.Usage);
    }
    const bytes = await client.upload(destination, (buffer) => {
      try {
        // Synchronous, as the download's writes are: the network write of the
        // previous chunk goes on meanwhile (see pump).
        return Promise.resolve(file.readSync(buffer));
      } catch (error) {
        return Promise.reject(localError(local, error));
      }
    }, {
      offset,
      type,
      onProgress: (bytes) => options.onProgress?.(offset + bytes, total),
    });
    return { outcome: "transferred", destination, bytes };
  } finally {
    file.close();
  }
}
