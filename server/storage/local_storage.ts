/**
 * The jailed disk: virtual paths mapped under one real directory. Every path
 * is normalized so `..` cannot climb out, and every symlink is resolved with
 * `realPath` and checked against the jail's root (with the separator
 * appended), so a link cannot lead outside either.
 *
 * @module
 */

import { existsSync } from "node:fs";
import * as posix from "node:path/posix";
import { resolveVirtualPath } from "../../protocol/virtual_path.ts";
import { takeTurn, turnDue } from "../data/fair_share.ts";
import type { EntryType } from "../../protocol/listing.ts";
import {
  IsADirectoryError,
  NotADirectoryError,
  NotAFileError,
  storageErrorFrom,
  StoragePermissionError,
} from "./storage_error.ts";
import {
  type OpenWriteOptions,
  type ReadableFile,
  type Storage,
  type StorageEntry,
  type StorageFile,
} from "./storage.ts";

const LIST_BATCH = 256;
/**
 * A directory this large (its size, about 20 bytes an entry on ext4 and
 * tmpfs: some 13,000 entries) has its names read asynchronously. Deno's
 * synchronous read returns every name at once, blocking the server for
 * about 2.5 ms per 1,000 entries; the asynchronous one is about twice as slow
 * in all but lets other sessions run between batches.
 */
export const ASYNC_DIRECTORY_BYTES = 256 * 1024;

/** Thrown when a path would leave the jail; maps to 550 "Permission denied". */
function outsideJail(): StoragePermissionError {
  return new StoragePermissionError("Path leads outside the served directory");
}

/**
 * Runs a synchronous filesystem step as a promise, its failure as a typed
 * storage error. Metadata calls (stat, realpath, open) are several times
 * faster synchronously in Deno than as async ops, and take microseconds on
 * a local disk; reads and writes of file data stay asynchronous.
 */
function settle<T>(step: () => T): Promise<T> {
  try {
    return Promise.resolve(step());
  } catch (error) {
    return Promise.reject(storageErrorFrom(error));
  }
}

/** Runs an asynchronous filesystem step, its failure as a typed storage error. */
async function settleAsync(step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    throw storageErrorFrom(error);
  }
}

function entryType(info: Deno.FileInfo): EntryType {
  if (info.isFile) return "file";
  if (info.isDirectory) return "dir";
  if (info.isSymlink) return "link";
  return "other";
}

function toEntry(name: string, info: Deno.FileInfo, target?: string): StorageEntry {
  const entry: StorageEntry = {
    name,
    type: entryType(info),
    size: info.size,
    mtime: info.mtime ?? new Date(0),
    mode: (info.mode ?? 0o644) & 0o7777,
    nlink: info.nlink ?? 1,
    unique: `${(info.dev ?? 0).toString(16)}g${(info.ino ?? 0).toString(16)}`,
  };
  if (target !== undefined) entry.target = target;
  return entry;
}

/**
 * How many bytes of a file are read or written with the synchronous calls.
 * An async file op is a round trip to Deno's blocking thread pool, which
 * costs more than reading or writing a small file from the page cache, so a
 * small file, and the last part of a large one (with its end-of-file check),
 * is read synchronously, and the first bytes of an upload are written so.
 * Larger reads follow {@linkcode ReadPacer}; larger writes stay asynchronous.
 */
const SYNC_BYTES = 64 * 1024;

/**
 * Whether large file reads may be synchronous. From the page cache or a
 * tmpfs, a synchronous 1 MiB read is a memory copy, and skipping the thread
 * pool round trip makes RETR about 15 % faster; from a cold disk it would
 * stall every session. So reads are synchronous until one is slow, and then
 * asynchronous for a while (for every file: one slow disk is enough).
 *
 * @example
 * ```ts
 * const pacer = new ReadPacer();
 * pacer.record(5); // a 5 ms read
 * pacer.syncAllowed(); // false for the next 10 s
 * ```
 */
export class ReadPacer {
  readonly #slowMs: number;
  readonly #backoffMs: number;
  #asyncUntil = -Infinity;

  /** A read slower than `slowMs` sends reads to the thread pool for `backoffMs`. */
  constructor(slowMs = 4, backoffMs = 10_000) {
    this.#slowMs = slowMs;
    this.#backoffMs = backoffMs;
  }

  /** True when the next large read may be synchronous. */
  syncAllowed(now: number = performance.now()): boolean {
    return now >= this.#asyncUntil;
  }

  /** Records how long a synchronous read took. */
  record(ms: number, now: number = performance.now()): void {
    if (ms > this.#slowMs) this.#asyncUntil = now + this.#backoffMs;
  }
}

const largeReads = new ReadPacer();

class LocalFile implements ReadableFile {
  readonly #file: Deno.FsFile;
  #closed = false;
  /** Bytes left to read by the size at open (reads); -1 for a file opened for writing. */
  #left: number;
  /** Bytes written so far. */
  #written = 0;
  /** The file's size at open (reads); 0 for a file opened for writing. */
  readonly size: number;

  /** Wraps `file`; for reading, `size` is the file's size and `offset` where reading starts. */
  constructor(file: Deno.FsFile, read?: { size: number; offset: number }) {
    this.#file = file;
    this.size = read?.size ?? 0;
    this.#left = read ? Math.max(0, read.size - read.offset) : -1;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    const small = this.#left >= 0 && this.#left <= SYNC_BYTES;
    const large = this.#left > SYNC_BYTES;
    // A large read goes to the thread pool when other sessions are due a turn (see fair_share.ts).
    const due = large && turnDue();
    if (small || (large && largeReads.syncAllowed() && !due)) {
      const started = large ? performance.now() : 0;
      try {
        const n = this.#file.readSync(buffer);
        if (large) largeReads.record(performance.now() - started);
        return Promise.resolve(this.#consumed(n));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const reading = this.#file.read(buffer);
    return (due ? takeTurn(reading) : reading).then((n) => this.#consumed(n));
  }

  /** Counts `n` bytes read against the size at open. */
  #consumed(n: number | null): number | null {
    if (n !== null && this.#left >= 0) this.#left = Math.max(0, this.#left - n);
    return n;
  }

  async write(data: Uint8Array): Promise<void> {
    let written = 0;
    try {
      if (this.#written + data.length <= SYNC_BYTES) {
        while (written < data.length) written += this.#file.writeSync(data.subarray(written));
      }
      while (written < data.length) {
        written += await this.#file.write(data.subarray(written));
      }
    } catch (error) {
      throw storageErrorFrom(error);
    }
    this.#written += written;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }
}

/**
 * A {@linkcode Storage} over one real directory, the jail. Create it with
 * {@linkcode LocalStorage.open}, which resolves the directory's real path.
 *
 * @example
 * ```ts ignore
 * const storage = await LocalStorage.open("./srv/alice");
 * for await (const batch of storage.list("/")) console.log(batch.map((e) => e.name));
 * ```
 */
export class LocalStorage implements Storage {
  /** The jail's real path, without a trailing separator. */
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  /** Opens the jail at `directory`, creating it if it does not exist. */
  static open(directory: string): Promise<LocalStorage> {
    return settle(() => {
      Deno.mkdirSync(directory, { recursive: true }); // a metadata call, like the others: sync
      return new LocalStorage(Deno.realPathSync(directory));
    });
  }

  #inside(real: string): boolean {
    return real === this.root || real.startsWith(this.root + "/");
  }

  /** The real path a virtual path names, before any symlink is resolved. */
  #lexical(path: string): string {
    const virtual = resolveVirtualPath("/", path);
    return virtual === "/" ? this.root : this.root + virtual;
  }

  /** The real path of an existing entry, following symlinks, checked against the jail. */
  #existing(path: string): string {
    const real = Deno.realPathSync(this.#lexical(path));
    if (!this.#inside(real)) throw outsideJail();
    return real;
  }

  /**
   * The real path of the entry itself (not what a symlink points at): its
   * parent is resolved and checked, its name kept. The root has no parent
   * and cannot be named this way.
   */
  #entry(path: string): string {
    const virtual = resolveVirtualPath("/", path);
    if (virtual === "/") throw new StoragePermissionError("Cannot change the root");
    const parent = this.#existing(posix.dirname(virtual));
    return `${parent === "/" ? "" : parent}/${posix.basename(virtual)}`;
  }

  /** Where a write to `path` lands: the entry, or the target of a symlink that stays inside. */
  #writable(path: string, entry = this.#entry(path)): string {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(entry);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return entry;
      throw error;
    }
    if (!info.isSymlink) return entry;
    let target: string;
    try {
      target = Deno.realPathSync(entry);
    } catch {
      throw outsideJail(); // a dangling link: writing would create its target
    }
    if (!this.#inside(target)) throw outsideJail();
    return target;
  }

  exists(path: string): boolean {
    try {
      return existsSync(this.#lexical(path)); // no error object for a missing name
    } catch {
      return true; // let stat say what is wrong
    }
  }

  stat(path: string): Promise<StorageEntry> {
    return settle(() => {
      const real = this.#existing(path);
      const virtual = resolveVirtualPath("/", path);
      return toEntry(virtual === "/" ? "/" : posix.basename(virtual), Deno.statSync(real));
    });
  }

  /**
   * Streams a directory in batches. Each batch is stat'ed with the
   * synchronous calls (several times faster in Deno than one async op per
   * entry), and the names of all but huge directories are read so too (see
   * {@linkcode ASYNC_DIRECTORY_BYTES}); the consumer writes each batch to the
   * socket before asking for the next, so a huge directory neither sits in
   * memory as lines nor holds up other sessions for long.
   */
  async *list(path: string): AsyncIterable<StorageEntry[]> {
    let directory: string;
    let info: Deno.FileInfo;
    try {
      directory = this.#existing(path);
      info = Deno.statSync(directory);
    } catch (error) {
      throw storageErrorFrom(error);
    }
    if (!info.isDirectory) throw new NotADirectoryError();
    let batch: StorageEntry[] = [];
    /** Adds an entry; returns the batch once it is full. */
    const add = (name: string): StorageEntry[] | undefined => {
      const entry = this.#describe(directory, name);
      if (entry) batch.push(entry);
      if (batch.length < LIST_BATCH) return undefined;
      const full = batch;
      batch = [];
      return full;
    };
    if (info.size < ASYNC_DIRECTORY_BYTES) {
      for (const item of Deno.readDirSync(directory)) {
        const full = add(item.name);
        if (full) yield full;
      }
    } else {
      for await (const item of Deno.readDir(directory)) {
        const full = add(item.name);
        if (full) yield full;
      }
    }
    if (batch.length > 0) yield batch;
  }

  #describe(directory: string, name: string): StorageEntry | undefined {
    const real = `${directory === "/" ? "" : directory}/${name}`;
    try {
      const info = Deno.lstatSync(real);
      if (!info.isSymlink) return toEntry(name, info);
      let target = "";
      try {
        target = Deno.readLinkSync(real);
      } catch {
        // unreadable link: shown without a target
      }
      try {
        const resolved = Deno.realPathSync(real);
        if (this.#inside(resolved)) return toEntry(name, Deno.statSync(resolved));
      } catch {
        // dangling link: shown as a link
      }
      // A target naming a real path outside the jail is not shown: it would reveal the disk.
      const shown = !posix.isAbsolute(target) && this.#inside(posix.resolve(directory, target));
      return toEntry(name, info, shown ? target : undefined);
    } catch {
      return undefined; // vanished while listing
    }
  }

  openRead(path: string, offset = 0): Promise<ReadableFile> {
    return settle(() => this.#openRead(path, offset));
  }

  #openRead(path: string, offset: number): ReadableFile {
    const real = this.#existing(path);
    // Looked at before opening: opening a FIFO for reading would block the server.
    const info = Deno.statSync(real);
    if (!info.isFile) throw new NotAFileError();
    const file = Deno.openSync(real, { read: true });
    try {
      if (offset > 0) file.seekSync(offset, Deno.SeekMode.Start);
    } catch (error) {
      file.close();
      throw error;
    }
    return new LocalFile(file, { size: info.size, offset });
  }

  openWrite(path: string, options: OpenWriteOptions = {}): Promise<StorageFile> {
    return settle(() => this.#openWrite(path, options));
  }

  #openWrite(path: string, options: OpenWriteOptions): StorageFile {
    const offset = options.offset ?? 0;
    const entry = this.#entry(path);
    if (!options.append && offset === 0 && !existsSync(entry)) {
      // A new name: create it exclusively. O_EXCL never follows a symlink (a dangling one
      // makes it fail), so this needs no lstat first, nor the error object a missing name
      // costs; if anything is there after all, the checks below run as for any name.
      try {
        return new LocalFile(Deno.openSync(entry, { write: true, createNew: true }));
      } catch {
        // fall through
      }
    }
    const real = this.#writable(path, entry);
    const file = Deno.openSync(real, {
      write: true,
      create: !options.createNew,
      createNew: options.createNew ?? false,
      append: options.append ?? false,
      truncate: !options.append && offset === 0,
    });
    try {
      const info = file.statSync();
      if (info.isDirectory) throw new IsADirectoryError();
      if (offset > 0) {
        file.truncateSync(offset);
        file.seekSync(offset, Deno.SeekMode.Start);
      }
    } catch (error) {
      file.close();
      throw error;
    }
    return new LocalFile(file);
  }

  mkdir(path: string): Promise<void> {
    return settleAsync(() => Deno.mkdir(this.#entry(path)));
  }

  rmdir(path: string): Promise<void> {
    return settleAsync(() => {
      const real = this.#entry(path);
      const info = Deno.lstatSync(real);
      if (!info.isDirectory) throw new NotADirectoryError();
      return Deno.remove(real);
    });
  }

  remove(path: string): Promise<void> {
    return settleAsync(() => {
      const real = this.#entry(path);
      const info = Deno.lstatSync(real);
      if (info.isDirectory) throw new IsADirectoryError();
      return Deno.remove(real);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return settleAsync(() => {
      const source = this.#entry(from);
      Deno.lstatSync(source);
      return Deno.rename(source, this.#entry(to));
    });
  }

  setModified(path: string, time: Date): Promise<void> {
    return settleAsync(() => {
      const real = this.#existing(path);
      const info = Deno.statSync(real);
      return Deno.utime(real, info.atime ?? time, time);
    });
  }

  chmod(path: string, mode: number): Promise<void> {
    return settleAsync(() => Deno.chmod(this.#existing(path), mode & 0o7777));
  }

  truncate(path: string, length: number): Promise<void> {
    return settleAsync(() => {
      const real = this.#existing(path);
      if (!Deno.statSync(real).isFile) throw new NotAFileError();
      return Deno.truncate(real, length);
    });
  }
}
