/**
 * A log file that lines are appended to, reopened on request so logrotate
 * can move it away (the xferlog and `--log-file`).
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * An append-only text file, one line per {@linkcode AppendFile.writeLine}.
 *
 * @example
 * ```ts
 * const file = await AppendFile.open("/var/log/ferry/ferry.log");
 * file.writeLine("hello");
 * await file.reopen(); // after logrotate moved it away
 * file.close();
 * ```
 */
export class AppendFile {
  /** The file's path. */
  readonly path: string;
  #file: Deno.FsFile;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /** Opens (creating, mode 0640) the file for appending. */
  static async open(path: string): Promise<AppendFile> {
    return new AppendFile(path, await AppendFile.#openFile(path));
  }

  static #openFile(path: string): Promise<Deno.FsFile> {
    return Deno.open(path, { append: true, create: true, mode: 0o640 });
  }

  /** Appends `line` and a newline; a failed write (a full disk) is dropped, never thrown. */
  writeLine(line: string): void {
    const data = encoder.encode(line + "\n");
    try {
      let written = 0;
      while (written < data.length) written += this.#file.writeSync(data.subarray(written));
    } catch {
      // A log that cannot be written must never take the server down.
    }
  }

  /** Opens the path again; the old file is closed only once the new one is open. */
  async reopen(): Promise<void> {
    const file = await AppendFile.#openFile(this.path);
    const old = this.#file;
    this.#file = file;
    old.close();
  }

  /** Closes the file. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
}
