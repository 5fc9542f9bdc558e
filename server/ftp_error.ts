/**
 * The server's reply-carrying error (the protocol's {@linkcode ReplyError},
 * under the server's historical name `FtpError`) and the one place where
 * failures become replies: typed storage errors and path errors map to
 * their reply here, anything else to 451.
 *
 * @module
 */

import { ReplyCode } from "../protocol/reply.ts";
import { ReplyError } from "../protocol/reply_error.ts";
import { InvalidPathError } from "../protocol/virtual_path.ts";
import { StorageError, storageErrorFrom, type StorageErrorKind } from "./storage/storage_error.ts";

export {
  /**
   * An error a handler throws to answer with a specific reply; the session
   * turns it into `code text`. The same class as {@linkcode ReplyError}.
   */
  ReplyError as FtpError,
};

/** The reply for each kind of storage error. */
const _STORAGE_REPLIES: Readonly<Record<StorageErrorKind, readonly [number, string]>> = {
  "not-found": [ReplyCode.FileUnavailable, "No such file or directory."],
  "exists": [ReplyCode.FileUnavailable, "File exists."],
  "not-empty": [ReplyCode.FileUnavailable, "Directory not empty."],
  "no-space": [ReplyCode.InsufficientStorage, "Insufficient storage space."],
  "permission": [ReplyCode.FileUnavailable, "Permission denied."],
  "not-a-file": [ReplyCode.FileUnavailable, "Not a regular file."],
  "is-a-directory": [ReplyCode.FileUnavailable, "Is a directory."],
  "not-a-directory": [ReplyCode.FileUnavailable, "Not a directory."],
  "bad-name": [ReplyCode.BadFileName, "File name not allowed."],
};

/**
 * Maps a failure to the reply it answers with: a {@linkcode ReplyError}
 * as it is, a {@linkcode StorageError} (or an operating-system error, typed
 * first) by its kind — 550 for missing, existing or forbidden entries, 452
 * for a full disk, 553 for a bad name — and anything else 451.
 *
 * @param error What a handler or the storage threw.
 * @returns The reply-carrying error.
 *
 * @example
 * ```ts
 * import { NotFoundError } from "./storage/storage_error.ts";
 * toFtpError(new NotFoundError()).code; // 550
 * ```
 */
export function toFtpError(error: unknown): ReplyError {
  if (error instanceof ReplyError) return error;
  if (error instanceof InvalidPathError) {
    return new ReplyError(ReplyCode.BadFileName, "File name not allowed.", { cause: error });
  }
  const typed = storageErrorFrom(error);
  if (typed instanceof StorageError) {
    const [code, text] = _STORAGE_REPLIES[typed.kind];
    return new ReplyError(code, text, { cause: error });
  }
  return new ReplyError(ReplyCode.LocalError, "Local error in processing.", { cause: error });
}
