/**
 * The browser client's local side: a folder (`--local`) the page may see and
 * change, and nothing outside it. Paths from the page are virtual POSIX paths
 * ("/photos/a.jpg") whose parts must each be a safe name (no "..", ".", "/",
 * "\\" or NUL); every real path is checked with `realpath` against the root,
 * so a symbolic link cannot lead out of it, as the server's homes are jailed.
 *
 * @module
 */

import * as path from "node:path";
import { isSafeEntryName } from "../transfer/mirror.ts";

/** A path the page asked for is outside the local folder, or not a safe name. */
export class LocalPathError extends Error {
  /** Creates the error with the reason shown to the user. */
  constructor(message: string) {
    super(message);
    this.name = "LocalPathError";
  }
}

/** One entry of a local listing, as the page shows it. */
export interface LocalEntry {
  name: string;
  type: "file" | "dir" | "link" | "other";
  size: number;
  /** Milliseconds since the epoch (0 when unknown). */
  mtime: number;
}

/**
 * Splits a virtual path into its parts.
 *
 * @throws {LocalPathError} If a part is "..", "." or otherwise not a safe name.
 *
 * @example
 * ```ts
 * virtualParts("/a/b.txt"); // ["a", "b.txt"]
 * ```
 */
export function virtualParts(virtual: string): string[] {
  if (typeof virtual !== "string" || /[\0\r\n]/.test(virtual)) {
    throw new LocalPathError("Invalid local path");
  }
  const parts = virtual.split("/").filter((part) => part !== "");
  for (const part of parts) {
    if (!isSafeEntryName(part)) {
      throw new LocalPathError(`Refused local path ${JSON.stringify(virtual)}: outside the folder`);
    }
  }
  return parts;
}

/**
 * The local folder the browser client works in.
 *
 * @example
 * ```ts ignore
 * const jail = await LocalJail.open("/home/me/ftp");
 * const entries = await jail.list("/");
 * ```
 */
export class LocalJail {
  /** The real (symlink-free) path of the root. */
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  /**
   * Opens a folder as the jail's root.
   *
   * @throws {LocalPathError} If it is not a directory.
   */
  static async open(dir: string): Promise<LocalJail> {
    let real: string;
    try {
      real = await Deno.realPath(dir);
    } catch (error) {
      throw new LocalPathError(`Local folder ${dir}: ${(error as Error).message}`);
    }
    const info = await Deno.stat(real);
    if (!info.isDirectory) throw new LocalPathError(`Local folder ${dir} is not a directory`);
    return new LocalJail(real);
  }

  #inside(real: string): boolean {
    return real === this.root ||
      real.startsWith(this.root.endsWith(path.sep) ? this.root : this.root + path.sep);
  }

  /**
   * The real path of an existing virtual path, after following every link.
   *
   * @throws {LocalPathError} If it does not exist or leads outside the root.
   */
  async existing(virtual: string): Promise<string> {
    const joined = path.join(this.root, ...virtualParts(virtual));
    let real: string;
    try {
      real = await Deno.realPath(joined);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new LocalPathError(`${virtual}: no such file or folder`);
      }
      throw new LocalPathError(`${virtual}: ${(error as Error).message}`);
    }
    if (!this.#inside(real)) {
      throw new LocalPathError(`Refused local path ${JSON.stringify(virtual)}: outside the folder`);
    }
    return real;
  }

  /** The real path of an existing directory. */
  async directory(virtual: string): Promise<string> {
    const real = await this.existing(virtual);
    if (!(await Deno.stat(real)).isDirectory) {
      throw new LocalPathError(`${virtual} is not a folder`);
    }
    return real;
  }

  /** The real path of an existing regular file. */
  async file(virtual: string): Promise<string> {
    const real = await this.existing(virtual);
    if (!(await Deno.stat(real)).isFile) throw new LocalPathError(`${virtual} is not a file`);
    return real;
  }

  /**
   * Where a new entry `name` inside the directory `parent` goes: the parent
   * must be inside the root, `name` a safe name, and an existing entry of
   * that name must not be a symbolic link (it is never followed).
   */
  async child(parent: string, name: string): Promise<string> {
    if (!isSafeEntryName(name)) {
      throw new LocalPathError(`Refused local name ${JSON.stringify(name)}`);
    }
    const target = path.join(await this.directory(parent), name);
    const info = await _lstat(target);
    if (info?.isSymlink) {
      throw new LocalPathError(`${name} is a symbolic link; not following it`);
    }
    return target;
  }

  /** Whether `name` exists in `parent`, and its size if it is a file. */
  async probe(parent: string, name: string): Promise<Deno.FileInfo | undefined> {
    return await _lstat(await this.child(parent, name));
  }

  /** The entries of a directory, symbolic links shown as links (not followed). */
  async list(virtual: string): Promise<LocalEntry[]> {
    const dir = await this.directory(virtual);
    const entries: LocalEntry[] = [];
    for await (const entry of Deno.readDir(dir)) {
      const info = await _lstat(path.join(dir, entry.name));
      if (!info) continue;
      let type: LocalEntry["type"] = info.isSymlink
        ? "link"
        : info.isDirectory
        ? "dir"
        : info.isFile
        ? "file"
        : "other";
      let size = info.size;
      if (type === "link") {
        // A link shows as what it points to when that stays inside the folder.
        const target = await Deno.realPath(path.join(dir, entry.name)).catch(() => undefined);
        const stat = target && this.#inside(target) ? await _stat(target) : undefined;
        if (stat?.isDirectory) type = "dir";
        else if (stat?.isFile) {
          type = "file";
          size = stat.size;
        }
      }
      entries.push({
        name: entry.name,
        type,
        size: type === "file" ? size : 0,
        mtime: info.mtime?.getTime() ?? 0,
      });
    }
    return entries;
  }

  /** Makes the folder `name` in `parent`. */
  async mkdir(parent: string, name: string): Promise<void> {
    await Deno.mkdir(await this.child(parent, name));
  }

  /** Renames `virtual` to `newName` in the same folder. */
  async rename(virtual: string, newName: string): Promise<void> {
    const parts = virtualParts(virtual);
    const name = parts.pop();
    if (name === undefined) throw new LocalPathError("Cannot rename the local folder itself");
    const parent = `/${parts.join("/")}`;
    const from = path.join(await this.directory(parent), name);
    if (!(await _lstat(from))) throw new LocalPathError(`${virtual}: no such file or folder`);
    const to = await this.child(parent, newName);
    if (await _lstat(to)) throw new LocalPathError(`${newName} already exists`);
    await Deno.rename(from, to);
  }

  /** Deletes `virtual` (a folder with everything in it; a link itself, not its target). */
  async remove(virtual: string): Promise<void> {
    const parts = virtualParts(virtual);
    const name = parts.pop();
    if (name === undefined) throw new LocalPathError("Cannot delete the local folder itself");
    const target = path.join(await this.directory(`/${parts.join("/")}`), name);
    if (!(await _lstat(target))) throw new LocalPathError(`${virtual}: no such file or folder`);
    await Deno.remove(target, { recursive: true });
  }
}

async function _lstat(real: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(real);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function _stat(real: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(real);
  } catch {
    return undefined;
  }
}
