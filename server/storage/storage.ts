/**
 * What the server needs from a filesystem, in virtual paths. The session
 * only ever talks to this interface; `LocalStorage` is the jailed disk
 * implementation, `MemoryStorage` an in-memory one for tests. Every method
 * fails with a typed {@linkcode StorageError} (see `storage_error.ts`) for
 * what a client can be told; anything else becomes 451.
 *
 * @module
 */

import type { ListingEntry } from "../../protocol/listing.ts";

/** Facts about one file or directory, beyond what a listing line shows. */
export interface StorageEntry extends ListingEntry {
  /** A stable identity (device and inode), for the MLSx `unique` fact. */
  unique: string;
}

/** Options for {@linkcode Storage.openWrite}. */
export interface OpenWriteOptions {
  /** Start writing at this offset instead of truncating (REST + STOR). */
  offset?: number;
  /** Append to the end (APPE). */
  append?: boolean;
  /** Fail if the file exists (STOU). */
  createNew?: boolean;
}

/** A file opened for reading or writing. */
export interface StorageFile {
  /** Reads into `buffer`; null at end of file. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes all of `data`. */
  write(data: Uint8Array): Promise<void>;
  /** Closes the file; safe to call twice. */
  close(): void;
}

/** A regular file opened for reading. */
export interface ReadableFile extends StorageFile {
  /** The whole file's size when it was opened, in bytes. */
  readonly size: number;
}

/** A filesystem seen through virtual paths ("/" is the user's home). */
export interface Storage {
  /** Facts about the entry at `path`, following symlinks that stay inside. */
  stat(path: string): Promise<StorageEntry>;
  /**
   * A cheap look before {@linkcode Storage.stat}: false means nothing is at
   * `path` (following symlinks), so `stat` would fail; true means `stat` may
   * still fail (a link leading outside). Lets a caller skip the cost of a
   * failing `stat` (an error object) for a name that is new.
   */
  exists?(path: string): boolean;
  /** The entries of a directory, streamed in batches. */
  list(path: string): AsyncIterable<StorageEntry[]>;
  /**
   * Opens a regular file for reading at `offset` (following symlinks that
   * stay inside); anything else rejects with `NotAFileError`
   * before it is opened (opening a FIFO would block).
   */
  openRead(path: string, offset?: number): Promise<ReadableFile>;
  /** Opens (creates) a file for writing. */
  openWrite(path: string, options?: OpenWriteOptions): Promise<StorageFile>;
  /** Creates a directory. */
  mkdir(path: string): Promise<void>;
  /** Removes an empty directory. */
  rmdir(path: string): Promise<void>;
  /** Removes a file (or symlink). */
  remove(path: string): Promise<void>;
  /** Renames a file or directory. */
  rename(from: string, to: string): Promise<void>;
  /** Sets the modification time. */
  setModified(path: string, time: Date): Promise<void>;
  /** Sets the permission bits. */
  chmod(path: string, mode: number): Promise<void>;
  /** Cuts a regular file to `length` bytes (an upload stopped by its quota goes back). */
  truncate(path: string, length: number): Promise<void>;
}
