/**
 * A single-line reader for secrets on a terminal: prompts on stderr, puts
 * stdin in raw mode and echoes nothing. Shared by `ferry user` (new
 * passwords) and `ferry client` (login passwords).
 *
 * @module
 */

/** The user cancelled a hidden prompt (Ctrl-C, Ctrl-D on an empty line, end of input). */
export class HiddenInputCancelledError extends Error {
  /** Creates the error. */
  constructor(message = "Cancelled") {
    super(message);
    this.name = "HiddenInputCancelledError";
  }
}

/**
 * Feeds raw terminal bytes to a line editor that understands Enter, Ctrl-D,
 * Ctrl-C, Backspace (one UTF-8 character), Ctrl-U and escape sequences
 * (skipped). Pure, so that it can be tested without a terminal.
 *
 * @example
 * ```ts
 * const editor = new HiddenLineEditor();
 * editor.push(new TextEncoder().encode("pw\r")); // "pw"
 * ```
 */
export class HiddenLineEditor {
  readonly #bytes: number[] = [];
  #escape = false;

  /**
   * Takes the next bytes; returns the line once Enter (or Ctrl-D after some
   * input) arrives, else undefined.
   *
   * @throws {HiddenInputCancelledError} On Ctrl-C, or Ctrl-D on an empty line.
   */
  push(chunk: Uint8Array): string | undefined {
    for (const byte of chunk) {
      if (this.#escape) {
        // Skip escape sequences such as arrow keys: ESC [ ... final byte.
        if (byte >= 0x40 && byte <= 0x7e && byte !== 0x5b) this.#escape = false;
        continue;
      }
      if (byte === 0x03) throw new HiddenInputCancelledError();
      if (byte === 0x0d || byte === 0x0a || (byte === 0x04 && this.#bytes.length > 0)) {
        return new TextDecoder().decode(new Uint8Array(this.#bytes));
      }
      if (byte === 0x04) throw new HiddenInputCancelledError();
      if (byte === 0x7f || byte === 0x08) {
        // Remove one UTF-8 character: its continuation bytes, then its lead byte.
        while (this.#bytes.length > 0 && ((this.#bytes.at(-1) ?? 0) & 0xc0) === 0x80) {
          this.#bytes.pop();
        }
        this.#bytes.pop();
      } else if (byte === 0x15) {
        this.#bytes.length = 0;
      } else if (byte === 0x1b) {
        this.#escape = true;
      } else if (byte >= 0x20) {
        this.#bytes.push(byte);
      }
    }
    return undefined;
  }
}

/**
 * Prompts on stderr and reads one line from the terminal in raw mode,
 * echoing nothing. Call it only when `Deno.stdin.isTerminal()`.
 *
 * @throws {HiddenInputCancelledError} On Ctrl-C, Ctrl-D or the end of input.
 *
 * @example
 * ```ts
 * if (Deno.stdin.isTerminal()) {
 *   const password = await readHiddenLine("Password: ");
 * }
 * ```
 */
export async function readHiddenLine(prompt: string): Promise<string> {
  const encoder = new TextEncoder();
  await Deno.stderr.write(encoder.encode(prompt));
  const editor = new HiddenLineEditor();
  const buffer = new Uint8Array(256);
  Deno.stdin.setRaw(true);
  try {
    for (;;) {
      const count = await Deno.stdin.read(buffer);
      if (count === null) throw new HiddenInputCancelledError();
      const line = editor.push(buffer.subarray(0, count));
      if (line !== undefined) return line;
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
}
