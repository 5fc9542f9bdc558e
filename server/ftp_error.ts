/**
 * The one error type that carries an FTP reply, and the mapping from
 * filesystem errors to replies.
 *
 * @module
 */

import { ReplyCode } from "../protocol/reply.ts";
import { InvalidPathError } from "../protocol/virtual_path.ts";
import { NotAFileError } from "./storage/storage.ts";

/**
 * An error a handler throws to answer with a specific reply. The session
 * turns it into `code text`; the text must not reveal real paths.
 *
 * @example
 * ```ts
 * throw new FtpError(ReplyCode.FileUnavailable, "No such file or directory.");
 * ```
 */
export class FtpError extends Error {
  /** The reply code to send. */
  readonly code: number;

  /** Creates the error from a reply code and reply text. */
  constructor(code: number, text: string, options?: ErrorOptions) {
    super(text, options);
    this.name = "FtpError";
    this.code = code;
  }
}

/** The errno-style code of a filesystem error, when Deno gives one. */
function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Maps an error from the filesystem (or from path checks) to an
 * {@linkcode FtpError}: 550 for missing or forbidden files, 452 for a full
 * disk, 553 for a bad name, 451 for anything else.
 *
 * @example
 * ```ts
 * toFtpError(new Deno.errors.NotFound("x")).code; // 550
 * ```
 */
export function toFtpError(error: unknown): FtpError {
  if (error instanceof FtpError) return error;
  if (error instanceof InvalidPathError) {
    return new FtpError(ReplyCode.BadFileName, "File name not allowed.", { cause: error });
  }
  const code = errorCode(error);
  if (error instanceof Deno.errors.NotFound || code === "ENOENT") {
    return new FtpError(ReplyCode.FileUnavailable, "No such file or directory.", { cause: error });
  }
  if (
    error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable ||
    code === "EACCES" || code === "EPERM"
  ) {
    return new FtpError(ReplyCode.FileUnavailable, "Permission denied.", { cause: error });
  }
  if (error instanceof Deno.errors.AlreadyExists || code === "EEXIST") {
    return new FtpError(ReplyCode.FileUnavailable, "File exists.", { cause: error });
  }
  if (error instanceof NotAFileError) {
    return new FtpError(ReplyCode.FileUnavailable, "Not a regular file.", { cause: error });
  }
  if (error instanceof Deno.errors.IsADirectory || code === "EISDIR") {
    return new FtpError(ReplyCode.FileUnavailable, "Is a directory.", { cause: error });
  }
  if (error instanceof Deno.errors.NotADirectory || code === "ENOTDIR") {
    return new FtpError(ReplyCode.FileUnavailable, "Not a directory.", { cause: error });
  }
  if (code === "ENOTEMPTY" || /not empty/i.test(String((error as Error)?.message))) {
    return new FtpError(ReplyCode.FileUnavailable, "Directory not empty.", { cause: error });
  }
  if (code === "ENOSPC" || code === "EDQUOT" || /no space left/i.test(String(error))) {
    return new FtpError(ReplyCode.InsufficientStorage, "Insufficient storage space.", {
      cause: error,
    });
  }
  if (code === "ENAMETOOLONG" || code === "EINVAL") {
    return new FtpError(ReplyCode.BadFileName, "File name not allowed.", { cause: error });
  }
  return new FtpError(ReplyCode.LocalError, "Local error in processing.", { cause: error });
}
