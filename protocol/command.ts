/**
 * FTP command lines (RFC 959 §4.1, §5.3): splitting the control stream into
 * lines with Telnet sequences dropped and a length cap, parsing a line into a
 * verb and an argument, and formatting commands for the client.
 *
 * @module
 */

/** A parsed command: the upper-case verb and the raw argument ("" if none). */
export interface Command {
  verb: string;
  argument: string;
}

/**
 * What {@linkcode CommandLineReader.push} yields: a complete line; notice
 * that a line passed the length cap (once, as soon as it does; the rest of
 * the line up to its LF is discarded); or notice that more than the discard
 * bound was thrown away in one line (once; the peer is not sending commands).
 */
export type LineEvent =
  | { kind: "line"; bytes: Uint8Array }
  | { kind: "overlong" }
  | { kind: "runaway"; discarded: number };

const IAC = 255;
const SB = 250;
const SE = 240;
const WILL = 251;
const DONT = 254;
const LF = 10;
const CR = 13;

/** Options for {@linkcode CommandLineReader}. */
export interface CommandLineReaderOptions {
  /**
   * Longest line accepted, in bytes, without its CRLF. A longer line is
   * reported as `overlong` as soon as it passes the cap and discarded up to
   * the next LF, so a peer that never sends LF cannot make the reader buffer
   * without bound.
   * @default {4096}
   */
  maxLineLength?: number;
  /**
   * Bytes discarded from one overlong line after which a `runaway` event is
   * reported (once per line).
   * @default {1048576}
   */
  maxDiscard?: number;
}

/**
 * Splits the bytes of a control connection into lines. Telnet commands
 * (IAC sequences, RFC 854) are dropped, `IAC IAC` becomes one 255 byte, and
 * lines end at LF with an optional CR before it.
 *
 * @example
 * ```ts
 * const reader = new CommandLineReader();
 * reader.push(new TextEncoder().encode("NOOP\r\nQU")); // one line, "NOOP"
 * ```
 */
export class CommandLineReader {
  readonly #max: number;
  #line: Uint8Array;
  #length = 0;
  /** A CR seen but not yet stored: it ends the line if LF follows, else it is data. */
  #cr = false;
  #discarding = false;
  readonly #maxDiscard: number;
  /** Bytes thrown away from the current overlong line (-1 once a runaway was reported). */
  #discarded = 0;
  /** Events completed during the current push (the cap can be passed mid-chunk). */
  #events: LineEvent[] = [];
  /** Telnet state: 0 data, 1 after IAC, 2 after IAC WILL/WONT/DO/DONT, 3 in SB, 4 in SB after IAC. */
  #telnet = 0;

  /** Creates a reader with the given line cap. */
  constructor(options: CommandLineReaderOptions = {}) {
    const max = options.maxLineLength ?? 4096;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`Invalid maximum line length ${max}`);
    }
    this.#max = max;
    this.#maxDiscard = options.maxDiscard ?? 1024 * 1024;
    this.#line = new Uint8Array(Math.min(max, 256));
  }

  /** Bytes held for an unfinished line (never more than the cap; a CR that may end the line is not counted). */
  get buffered(): number {
    return this.#length;
  }

  /** Consumes a chunk and returns the events it completes, in order. */
  push(chunk: Uint8Array): LineEvent[] {
    const events: LineEvent[] = this.#events = [];
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.#discarding && byte !== LF && this.#discarded >= 0) {
        // Every byte counts, Telnet commands too: an endless IAC stream is no line either.
        if (++this.#discarded > this.#maxDiscard) {
          events.push({ kind: "runaway", discarded: this.#discarded });
          this.#discarded = -1;
        }
      }
      switch (this.#telnet) {
        case 1:
          if (byte === IAC) {
            this.#telnet = 0;
            this.#data(byte);
          } else if (byte >= WILL && byte <= DONT) this.#telnet = 2;
          else if (byte === SB) this.#telnet = 3;
          else this.#telnet = 0;
          continue;
        case 2:
          this.#telnet = 0;
          continue;
        case 3:
          if (byte === IAC) this.#telnet = 4;
          continue;
        case 4:
          this.#telnet = byte === SE ? 0 : 3;
          continue;
      }
      if (byte === IAC) {
        this.#telnet = 1;
      } else if (byte === LF) {
        if (this.#discarding) {
          this.#discarding = false; // the overlong event went out when the cap was passed
          this.#discarded = 0;
        } else {
          events.push({ kind: "line", bytes: this.#line.slice(0, this.#length) });
        }
        this.#length = 0;
        this.#cr = false;
      } else {
        this.#data(byte);
      }
    }
    return events;
  }

  /** Takes one data byte other than LF. */
  #data(byte: number): void {
    if (this.#discarding) return;
    if (this.#cr) {
      this.#cr = false;
      this.#append(CR);
    }
    if (byte === CR) this.#cr = true;
    else this.#append(byte);
  }

  #append(byte: number): void {
    if (this.#discarding) return;
    if (this.#length >= this.#max) {
      this.#discarding = true;
      this.#discarded = 0;
      this.#length = 0;
      this.#cr = false;
      this.#events.push({ kind: "overlong" });
      return;
    }
    if (this.#length === this.#line.length) {
      const grown = new Uint8Array(Math.min(this.#line.length * 2, this.#max));
      grown.set(this.#line);
      this.#line = grown;
    }
    this.#line[this.#length++] = byte;
  }
}

/**
 * Verbs in use that do not fit RFC 959's three or four letters, because they
 * carry digits (the checksum commands of IIS, GlobalSCAPE and others).
 * {@linkcode parseCommand} reads them as verbs, so a server that does not
 * implement one answers it like any other verb it does not implement.
 *
 * @example
 * ```ts
 * DIGIT_VERBS.has("XSHA256"); // true
 * ```
 */
export const DIGIT_VERBS: ReadonlySet<string> = new Set([
  "XMD5",
  "XSHA1",
  "XSHA256",
  "XSHA512",
]);

function _isDigitVerb(word: string): boolean {
  return /^[A-Za-z][A-Za-z0-9]{3,6}$/.test(word) && DIGIT_VERBS.has(word.toUpperCase());
}

/** Why a line could not be parsed as a command. */
export type CommandParseFailure = "empty" | "bad-verb" | "bad-encoding" | "bad-character";

/** The result of {@linkcode parseCommand}. */
export type ParsedCommand =
  | { ok: true; command: Command }
  | { ok: false; reason: CommandParseFailure };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses one command line (without its CRLF) into a verb and an argument.
 * The verb is 3 or 4 letters (or one of {@linkcode DIGIT_VERBS}), case-insensitive; the argument is everything
 * after the first space, kept verbatim so names with spaces work. Text must be
 * UTF-8 (RFC 2640); CR or NUL inside the line is refused.
 *
 * @example
 * ```ts
 * parseCommand("stor my file.txt");
 * // { ok: true, command: { verb: "STOR", argument: "my file.txt" } }
 * ```
 */
export function parseCommand(line: Uint8Array | string): ParsedCommand {
  let text: string;
  if (typeof line === "string") {
    text = line;
  } else {
    try {
      text = utf8.decode(line);
    } catch {
      return { ok: false, reason: "bad-encoding" };
    }
  }
  if (text.trim() === "") return { ok: false, reason: "empty" };
  if (/[\r\n\0]/.test(text)) return { ok: false, reason: "bad-character" };
  const space = text.indexOf(" ");
  const word = space < 0 ? text : text.slice(0, space);
  // Checked before upper-casing: "ſtor".toUpperCase() is "STOR".
  const verb = /^[A-Za-z]{3,4}$/.test(word) || _isDigitVerb(word) ? word.toUpperCase() : undefined;
  if (verb === undefined) return { ok: false, reason: "bad-verb" };
  const argument = space < 0 ? "" : text.slice(space + 1);
  return { ok: true, command: { verb, argument } };
}

/**
 * Formats a command for the wire, CRLF-terminated. Refuses CR, LF and NUL
 * in the verb or argument, which would let a caller inject a second command.
 *
 * @example
 * ```ts
 * formatCommand("RETR", "a b.txt"); // "RETR a b.txt\r\n"
 * ```
 */
export function formatCommand(verb: string, argument?: string): string {
  if (!/^[A-Za-z]{3,4}$/.test(verb) && !_isDigitVerb(verb)) {
    throw new TypeError(`Invalid FTP verb "${verb}"`);
  }
  if (argument !== undefined && /[\r\n\0]/.test(argument)) {
    throw new TypeError("Command argument contains CR, LF or NUL");
  }
  return argument === undefined || argument === "" ? `${verb}\r\n` : `${verb} ${argument}\r\n`;
}
