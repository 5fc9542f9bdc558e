/**
 * The typed errors every {@linkcode Storage} raises, and the translation of
 * operating-system errors (Deno error classes and errno codes) into them.
 * The FTP reply for each is chosen in one place, `server/ftp_error.ts`.
 *
 * @module
 */

/** What went wrong, one word per kind of storage error. */
export type StorageErrorKind =
  | "not-found"
  | "exists"
  | "not-empty"
  | "no-space"
  | "permission"
  | "not-a-file"
  | "is-a-directory"
  | "not-a-directory"
  | "bad-name";

/**
 * A storage operation failed for a reason a client can be told. The
 * message is for logs; the reply text comes from the kind.
 *
 * @example
 * ```ts
 * new NotFoundError().kind; // "not-found"
 * ```
 */
export class StorageError extends Error {
  /** What went wrong. */
  readonly kind: StorageErrorKind;

  /**
   * @param kind What went wrong.
   * @param message Details for the log.
   * @param options The underlying error, if any.
   */
  constructor(kind: StorageErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageError";
    this.kind = kind;
  }
}

/** Nothing is at the path. */
export class NotFoundError extends StorageError {
  /** Creates the error. */
  constructor(message = "No such file or directory", options?: ErrorOptions) {
    super("not-found", message, options);
    this.name = "NotFoundError";
  }
}

/** Something is at the path already. */
export class AlreadyExistsError extends StorageError {
  /** Creates the error. */
  constructor(message = "File exists", options?: ErrorOptions) {
    super("exists", message, options);
    this.name = "AlreadyExistsError";
  }
}

/** A directory to remove still has entries. */
export class NotEmptyError extends StorageError {
  /** Creates the error. */
  constructor(message = "Directory not empty", options?: ErrorOptions) {
    super("not-empty", message, options);
    this.name = "NotEmptyError";
  }
}

/** The disk (or the user's quota) is full. */
export class NoSpaceError extends StorageError {
  /** Creates the error. */
  constructor(message = "No space left", options?: ErrorOptions) {
    super("no-space", message, options);
    this.name = "NoSpaceError";
  }
}

/** The operation is not allowed (file modes, the jail, the root). */
export class StoragePermissionError extends StorageError {
  /** Creates the error. */
  constructor(message = "Permission denied", options?: ErrorOptions) {
    super("permission", message, options);
    this.name = "StoragePermissionError";
  }
}

/** Reading was asked of something that is not a regular file (a directory, a FIFO, a device). */
export class NotAFileError extends StorageError {
  /** Creates the error. */
  constructor(message = "Not a regular file", options?: ErrorOptions) {
    super("not-a-file", message, options);
    this.name = "NotAFileError";
  }
}

/** A file operation was asked of a directory. */
export class IsADirectoryError extends StorageError {
  /** Creates the error. */
  constructor(message = "Is a directory", options?: ErrorOptions) {
    super("is-a-directory", message, options);
    this.name = "IsADirectoryError";
  }
}

/** A directory operation was asked of something else. */
export class NotADirectoryError extends StorageError {
  /** Creates the error. */
  constructor(message = "Not a directory", options?: ErrorOptions) {
    super("not-a-directory", message, options);
    this.name = "NotADirectoryError";
  }
}

/** The name cannot be used (too long, invalid for the filesystem). */
export class BadNameError extends StorageError {
  /** Creates the error. */
  constructor(message = "File name not allowed", options?: ErrorOptions) {
    super("bad-name", message, options);
    this.name = "BadNameError";
  }
}

const _BY_CODE: Readonly<
  Record<string, new (message?: string, options?: ErrorOptions) => StorageError>
> = {
  ENOENT: NotFoundError,
  EEXIST: AlreadyExistsError,
  ENOTEMPTY: NotEmptyError,
  ENOSPC: NoSpaceError,
  EDQUOT: NoSpaceError,
  EACCES: StoragePermissionError,
  EPERM: StoragePermissionError,
  EISDIR: IsADirectoryError,
  ENOTDIR: NotADirectoryError,
  ENAMETOOLONG: BadNameError,
  EINVAL: BadNameError,
};

/**
 * Turns an operating-system error into the matching {@linkcode StorageError}
 * (by Deno error class or errno code), keeping it as the cause. Anything
 * else (a StorageError already, an I/O error without a known code) is
 * returned unchanged.
 *
 * @param error What a filesystem call threw.
 * @returns The typed error, or `error` itself.
 *
 * @example
 * ```ts
 * storageErrorFrom(new Deno.errors.NotFound("x")) instanceof NotFoundError; // true
 * ```
 */
export function storageErrorFrom(error: unknown): unknown {
  if (error instanceof StorageError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const options = { cause: error };
  if (error instanceof Deno.errors.NotFound) return new NotFoundError(message, options);
  if (error instanceof Deno.errors.AlreadyExists) return new AlreadyExistsError(message, options);
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return new StoragePermissionError(message, options);
  }
  if (error instanceof Deno.errors.IsADirectory) return new IsADirectoryError(message, options);
  if (error instanceof Deno.errors.NotADirectory) return new NotADirectoryError(message, options);
  const code = (error as { code?: unknown } | null)?.code;
  const typed = typeof code === "string" ? _BY_CODE[code] : undefined;
  return typed ? new typed(message, options) : error;
}
