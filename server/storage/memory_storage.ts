/**
 * A {@linkcode Storage} kept in memory: a tree of directories and files
 * behind virtual paths, with the same typed errors as the disk. For fast
 * handler tests and for embedding; it has no symlinks and no size limit
 * unless one is given.
 *
 * @module
 */

import * as posix from "node:path/posix";
import { resolveVirtualPath } from "../../protocol/virtual_path.ts";
import type {
  OpenWriteOptions,
  ReadableFile,
  Storage,
  StorageEntry,
  StorageFile,
} from "./storage.ts";
import {
  AlreadyExistsError,
  IsADirectoryError,
  NoSpaceError,
  NotADirectoryError,
  NotAFileError,
  NotEmptyError,
  NotFoundError,
  StoragePermissionError,
} from "./storage_error.ts";

interface _File {
  kind: "file";
  data: Uint8Array;
  size: number;
  mtime: Date;
  mode: number;
  id: number;
}

interface _Directory {
  kind: "dir";
  children: Map<string, _Node>;
  mtime: Date;
  mode: number;
  id: number;
}

type _Node = _File | _Directory;

/** Options of {@linkcode MemoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * Most bytes all files together may hold; a write beyond fails with
   * `NoSpaceError` (452).
   *
   * @default {Infinity}
   */
  capacity?: number;
}

/**
 * Files and directories in memory.
 *
 * @example
 * ```ts
 * const storage = new MemoryStorage();
 * await storage.mkdir("/pub");
 * const file = await storage.openWrite("/pub/a.txt");
 * await file.write(new TextEncoder().encode("hi"));
 * file.close();
 * (await storage.stat("/pub/a.txt")).size; // 2
 * ```
 */
export class MemoryStorage implements Storage {
  readonly #root: _Directory;
  readonly #capacity: number;
  #used = 0;
  #nextId = 1;

  /** Creates an empty storage (only the root directory). */
  constructor(options: MemoryStorageOptions = {}) {
    this.#capacity = options.capacity ?? Infinity;
    this.#root = this.#directory();
  }

  #directory(): _Directory {
    return { kind: "dir", children: new Map(), mtime: new Date(), mode: 0o755, id: this.#nextId++ };
  }

  #find(path: string): _Node | undefined {
    const virtual = resolveVirtualPath("/", path);
    let node: _Node = this.#root;
    for (const name of virtual.split("/").filter((part) => part !== "")) {
      if (node.kind !== "dir") throw new NotADirectoryError();
      const child = node.children.get(name);
      if (child === undefined) return undefined;
      node = child;
    }
    return node;
  }

  #get(path: string): _Node {
    const node = this.#find(path);
    if (node === undefined) throw new NotFoundError();
    return node;
  }

  /** The parent directory of a path and the entry's name; the root has none. */
  #parent(path: string): { parent: _Directory; name: string } {
    const virtual = resolveVirtualPath("/", path);
    if (virtual === "/") throw new StoragePermissionError("Cannot change the root");
    const parent = this.#get(posix.dirname(virtual));
    if (parent.kind !== "dir") throw new NotADirectoryError();
    return { parent, name: posix.basename(virtual) };
  }

  #entry(name: string, node: _Node): StorageEntry {
    return {
      name,
      type: node.kind,
      size: node.kind === "file" ? node.size : 4096,
      mtime: node.mtime,
      mode: node.mode,
      nlink: node.kind === "dir" ? 2 + node.children.size : 1,
      unique: `m${node.id.toString(16)}`,
    };
  }

  /** Reserves room for `bytes` more, or throws NoSpaceError. */
  #grow(bytes: number): void {
    if (this.#used + bytes > this.#capacity) throw new NoSpaceError();
    this.#used += bytes;
  }

  exists(path: string): boolean {
    try {
      return this.#find(path) !== undefined;
    } catch {
      return true; // let stat say what is wrong
    }
  }

  stat(path: string): Promise<StorageEntry> {
    return _settle(() => {
      const virtual = resolveVirtualPath("/", path);
      return this.#entry(virtual === "/" ? "/" : posix.basename(virtual), this.#get(path));
    });
  }

  async *list(path: string): AsyncIterable<StorageEntry[]> {
    const node = this.#get(path);
    if (node.kind !== "dir") throw new NotADirectoryError();
    const entries = [...node.children].map(([name, child]) => this.#entry(name, child));
    if (entries.length > 0) yield entries;
  }

  openRead(path: string, offset = 0): Promise<ReadableFile> {
    return _settle(() => {
      const node = this.#get(path);
      if (node.kind !== "file") throw new NotAFileError();
      const data = node.data.subarray(0, node.size);
      let position = Math.min(offset, data.length);
      let closed = false;
      return {
        size: data.length,
        read(buffer: Uint8Array): Promise<number | null> {
          if (closed || position >= data.length) return Promise.resolve(null);
          const n = Math.min(buffer.length, data.length - position);
          buffer.set(data.subarray(position, position + n));
          position += n;
          return Promise.resolve(n);
        },
        write(): Promise<void> {
          return Promise.reject(new StoragePermissionError("File opened for reading"));
        },
        close(): void {
          closed = true;
        },
      };
    });
  }

  openWrite(path: string, options: OpenWriteOptions = {}): Promise<StorageFile> {
    return _settle(() => {
      const { parent, name } = this.#parent(path);
      let node = parent.children.get(name);
      if (node?.kind === "dir") throw new IsADirectoryError();
      if (node !== undefined && options.createNew) throw new AlreadyExistsError();
      if (node === undefined) {
        node = {
          kind: "file",
          data: new Uint8Array(0),
          size: 0,
          mtime: new Date(),
          mode: 0o644,
          id: this.#nextId++,
        };
        parent.children.set(name, node);
        parent.mtime = new Date();
      }
      const file = node;
      const offset = options.offset ?? 0;
      const keep = options.append ? file.size : Math.min(offset, file.size);
      this.#used -= file.size - keep;
      file.size = keep;
      let position = keep;
      const grow = (bytes: number) => this.#grow(bytes);
      return {
        write(data: Uint8Array): Promise<void> {
          return _settle(() => {
            const end = position + data.length;
            if (end > file.size) grow(end - file.size);
            if (end > file.data.length) {
              const bigger = new Uint8Array(Math.max(end, file.data.length * 2));
              bigger.set(file.data.subarray(0, file.size));
              file.data = bigger;
            }
            file.data.set(data, position);
            position = end;
            file.size = Math.max(file.size, end);
            file.mtime = new Date();
          });
        },
        read(): Promise<number | null> {
          return Promise.reject(new StoragePermissionError("File opened for writing"));
        },
        close(): void {},
      };
    });
  }

  mkdir(path: string): Promise<void> {
    return _settle(() => {
      const { parent, name } = this.#parent(path);
      if (parent.children.has(name)) throw new AlreadyExistsError();
      parent.children.set(name, this.#directory());
      parent.mtime = new Date();
    });
  }

  rmdir(path: string): Promise<void> {
    return _settle(() => {
      const { parent, name } = this.#parent(path);
      const node = parent.children.get(name);
      if (node === undefined) throw new NotFoundError();
      if (node.kind !== "dir") throw new NotADirectoryError();
      if (node.children.size > 0) throw new NotEmptyError();
      parent.children.delete(name);
    });
  }

  remove(path: string): Promise<void> {
    return _settle(() => {
      const { parent, name } = this.#parent(path);
      const node = parent.children.get(name);
      if (node === undefined) throw new NotFoundError();
      if (node.kind === "dir") throw new IsADirectoryError();
      parent.children.delete(name);
      this.#used -= node.size;
    });
  }

  rename(from: string, to: string): Promise<void> {
    return _settle(() => {
      const source = this.#parent(from);
      const node = source.parent.children.get(source.name);
      if (node === undefined) throw new NotFoundError();
      const target = this.#parent(to);
      const existing = target.parent.children.get(target.name);
      if (existing === node) return;
      if (node.kind === "dir" && _contains(node, target.parent)) {
        throw new StoragePermissionError("Cannot move a directory into itself");
      }
      if (existing?.kind === "dir") {
        if (node.kind !== "dir") throw new IsADirectoryError();
        if (existing.children.size > 0) throw new NotEmptyError();
      } else if (existing !== undefined && node.kind === "dir") {
        throw new NotADirectoryError();
      }
      if (existing?.kind === "file") this.#used -= existing.size;
      source.parent.children.delete(source.name);
      target.parent.children.set(target.name, node);
    });
  }

  setModified(path: string, time: Date): Promise<void> {
    return _settle(() => {
      this.#get(path).mtime = time;
    });
  }

  chmod(path: string, mode: number): Promise<void> {
    return _settle(() => {
      this.#get(path).mode = mode & 0o7777;
    });
  }

  truncate(path: string, length: number): Promise<void> {
    return _settle(() => {
      const node = this.#get(path);
      if (node.kind !== "file") throw new NotAFileError();
      if (length < node.size) {
        this.#used -= node.size - length;
        node.size = length;
      }
    });
  }
}

function _contains(directory: _Directory, node: _Node): boolean {
  if (directory === node) return true;
  for (const child of directory.children.values()) {
    if (child.kind === "dir" && _contains(child, node)) return true;
  }
  return false;
}

function _settle<T>(step: () => T): Promise<T> {
  try {
    return Promise.resolve(step());
  } catch (error) {
    return Promise.reject(error);
  }
}
