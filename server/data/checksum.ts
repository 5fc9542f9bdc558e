/**
 * Streams a byte range of an open file through a {@linkcode Digest}: read
 * into one pooled buffer, hashed in pieces short enough (256 KiB, under a
 * millisecond) that other sessions get their turn between them (see
 * fair_share.ts), stopped by an abort signal.
 *
 * @module
 */

import type { HashAlgorithm } from "../../protocol/hash_algorithm.ts";
import { createDigest } from "../../protocol/digest.ts";
import { ReplyCode } from "../../protocol/reply.ts";
import { fairShare } from "./fair_share.ts";
import { FtpError } from "../ftp_error.ts";
import type { StorageFile } from "../storage/storage.ts";
import { releaseBuffer, takeBuffer } from "./transfer.ts";

/** Bytes hashed between two chances for other sessions to run. */
const PIECE = 256 * 1024;

/** Options for {@linkcode checksumFile}. */
export interface ChecksumOptions {
  /** Stops the checksum (it rejects with a 426 {@linkcode FtpError}). */
  signal?: AbortSignal;
  /** Called with the bytes hashed so far. */
  onProgress?: (bytes: number) => void;
}

/**
 * Hashes the next `length` bytes of `file` (opened at the range's start)
 * and returns the checksum in lower-case hex. Rejects with 451 if the file
 * ends early (it shrank while being read).
 *
 * @example
 * ```ts
 * const file = await storage.openRead("/a.iso", 0);
 * try {
 *   await checksumFile(file, file.size, "SHA-256");
 * } finally {
 *   file.close();
 * }
 * ```
 */
export async function checksumFile(
  file: StorageFile,
  length: number,
  algorithm: HashAlgorithm,
  options: ChecksumOptions = {},
): Promise<string> {
  const digest = createDigest(algorithm);
  const buffer = takeBuffer();
  let done = 0;
  try {
    while (done < length) {
      if (options.signal?.aborted) {
        throw new FtpError(ReplyCode.TransferAborted, "Checksum aborted.");
      }
      const n = await file.read(buffer.subarray(0, Math.min(buffer.length, length - done)));
      if (n === null || n === 0) {
        throw new FtpError(ReplyCode.LocalError, "File changed while its checksum was computed.");
      }
      for (let offset = 0; offset < n; offset += PIECE) {
        digest.update(buffer.subarray(offset, Math.min(n, offset + PIECE)));
        await fairShare();
      }
      done += n;
      options.onProgress?.(done);
    }
    if (options.signal?.aborted) throw new FtpError(ReplyCode.TransferAborted, "Checksum aborted.");
    return digest.hex();
  } finally {
    releaseBuffer(buffer);
  }
}
