/**
 * FTP replies (RFC 959 §4.2): named codes, formatting for the server and an
 * incremental parser for the client.
 *
 * @module
 */

/** Reply codes used by ferry, named after their RFC 959 / 2228 / 2428 / 3659 meaning. */
export const ReplyCode = {
  RestartMarker: 110,
  ServiceReadySoon: 120,
  DataAlreadyOpen: 125,
  FileStatusOk: 150,
  Ok: 200,
  Superfluous: 202,
  SystemStatus: 211,
  DirectoryStatus: 212,
  FileStatus: 213,
  Help: 214,
  SystemType: 215,
  ServiceReady: 220,
  Closing: 221,
  DataOpenNoTransfer: 225,
  ClosingData: 226,
  EnteringPassive: 227,
  EnteringExtendedPassive: 229,
  LoggedIn: 230,
  AuthOk: 234,
  FileActionOk: 250,
  PathCreated: 257,
  NeedPassword: 331,
  NeedAccount: 332,
  PendingFurtherInfo: 350,
  ServiceUnavailable: 421,
  /** RFC 2228: the server needs a security resource it does not have. */
  SecurityResourceUnavailable: 431,
  CannotOpenData: 425,
  TransferAborted: 426,
  FileBusy: 450,
  LocalError: 451,
  InsufficientStorage: 452,
  SyntaxError: 500,
  ArgumentSyntaxError: 501,
  NotImplemented: 502,
  BadSequence: 503,
  ParameterNotImplemented: 504,
  DataProtectionRefused: 521,
  /** RFC 2428's "network protocol not supported" and RFC 4217's "TLS negotiation failed" share 522. */
  NetworkProtocolNotSupported: 522,
  TlsNegotiationFailed: 522,
  NotLoggedIn: 530,
  PolicyDenied: 534,
  ProtectionLevelNotSupported: 536,
  FileUnavailable: 550,
  PageTypeUnknown: 551,
  ExceededStorage: 552,
  /** draft-bryan-ftpext-hash: 552 also means "not allowed to use HASH". */
  HashNotAllowed: 552,
  BadFileName: 553,
  InvalidRestart: 554,
  /** draft-bryan-ftpext-hash: the file cannot be hashed for policy reasons (too large). */
  HashPolicyRefused: 556,
} as const;

/** A reply: a three-digit code and one or more text lines (without CRLF). */
export interface Reply {
  code: number;
  lines: string[];
}

/** The class of a reply, from its first digit (RFC 959 §4.2.1). */
export type ReplyKind =
  | "preliminary"
  | "completion"
  | "intermediate"
  | "transient"
  | "permanent";

/**
 * Classifies a reply code by its first digit.
 *
 * @example
 * ```ts
 * replyKind(150); // "preliminary"
 * ```
 */
export function replyKind(code: number): ReplyKind {
  const first = Math.floor(code / 100);
  switch (first) {
    case 1:
      return "preliminary";
    case 2:
      return "completion";
    case 3:
      return "intermediate";
    case 4:
      return "transient";
    case 5:
      return "permanent";
    default:
      throw new RangeError(`Invalid reply code ${code}`);
  }
}

/**
 * Whether a reply refuses the command: a transient (4xx) or permanent (5xx)
 * negative completion (RFC 959 §4.2.1).
 *
 * @example
 * ```ts
 * isNegativeReply(550); // true
 * ```
 */
export function isNegativeReply(code: number): boolean {
  const kind = replyKind(code);
  return kind === "transient" || kind === "permanent";
}

/**
 * Makes text safe to place on a reply line: CR, LF and NUL never reach the
 * wire, so a client's argument echoed in a reply cannot forge a line.
 *
 * @example
 * ```ts
 * sanitizeReplyText("a\r\n230 hi"); // "a  230 hi"
 * ```
 */
export function sanitizeReplyText(text: string): string {
  return text.replace(/[\r\n\0]/g, " ");
}

/**
 * Formats a reply for the wire, CRLF-terminated. Several lines give a
 * multi-line reply (`211-first`, middle lines indented by one space, `211
 * last`), so no middle line can be taken for the final one.
 *
 * @example
 * ```ts
 * formatReply(230, "Login successful."); // "230 Login successful.\r\n"
 * formatReply(211, ["Features:", "MDTM", "End"]);
 * // "211-Features:\r\n MDTM\r\n211 End\r\n"
 * ```
 */
export function formatReply(code: number, text: string | readonly string[]): string {
  if (!Number.isInteger(code) || code < 100 || code > 599) {
    throw new RangeError(`Invalid reply code ${code}`);
  }
  const lines = (typeof text === "string" ? [text] : text).map(sanitizeReplyText);
  if (lines.length <= 1) return `${code} ${lines[0] ?? ""}\r\n`;
  const last = lines.length - 1;
  return `${code}-${lines[0]}\r\n` + formatReplyContinuation(lines.slice(1, last)) +
    `${code} ${lines[last]}\r\n`;
}

/**
 * The first line of a multi-line reply sent in parts (a long listing over
 * the control connection): `code-text`, CRLF-terminated. Follow it with
 * {@linkcode formatReplyContinuation} and end with {@linkcode formatReply}.
 *
 * @example
 * ```ts
 * formatReplyOpening(213, "Status of /:"); // "213-Status of /:\r\n"
 * ```
 */
export function formatReplyOpening(code: number, text: string): string {
  if (!Number.isInteger(code) || code < 100 || code > 599) {
    throw new RangeError(`Invalid reply code ${code}`);
  }
  return `${code}-${sanitizeReplyText(text)}\r\n`;
}

/**
 * Middle lines of a multi-line reply, each indented by one space (unless it
 * starts with one) so none can be taken for the final line.
 *
 * @example
 * ```ts
 * formatReplyContinuation(["a", "b"]); // " a\r\n b\r\n"
 * ```
 */
export function formatReplyContinuation(lines: readonly string[]): string {
  let out = "";
  for (const text of lines) {
    const line = sanitizeReplyText(text);
    out += (line.startsWith(" ") ? "" : " ") + line + "\r\n";
  }
  return out;
}

/** Thrown by {@linkcode ReplyParser} when a server sends something that is not an FTP reply. */
export class ReplyFormatError extends Error {
  /** Creates the error with a message describing the bad input. */
  constructor(message: string) {
    super(message);
    this.name = "ReplyFormatError";
  }
}

/** Options for {@linkcode ReplyParser}. */
export interface ReplyParserOptions {
  /**
   * Longest line accepted, in characters.
   * @default {8192}
   */
  maxLineLength?: number;
  /**
   * Most lines in one multi-line reply.
   * @default {100000}
   */
  maxLines?: number;
}

/**
 * Incremental reply parser: feed it text as it arrives, in chunks of any
 * size, and take complete replies out. Handles multi-line replies whose
 * middle lines may themselves start with digits (RFC 959 §4.2).
 *
 * @example
 * ```ts
 * const parser = new ReplyParser();
 * parser.push("211-Features:\r\n MDTM\r\n21"); // []
 * parser.push("1 End\r\n"); // [{ code: 211, lines: ["Features:", " MDTM", "End"] }]
 * ```
 */
export class ReplyParser {
  #buffer = "";
  #pending: Reply | undefined;
  readonly #maxLineLength: number;
  readonly #maxLines: number;

  /** Creates a parser with the given limits. */
  constructor(options: ReplyParserOptions = {}) {
    this.#maxLineLength = options.maxLineLength ?? 8192;
    this.#maxLines = options.maxLines ?? 100_000;
  }

  /** Adds text and returns every reply it completes, in order. */
  push(chunk: string): Reply[] {
    const buffer = this.#buffer + chunk;
    const replies: Reply[] = [];
    let start = 0;
    let newline: number;
    while ((newline = buffer.indexOf("\n", start)) >= 0) {
      let line = buffer.slice(start, newline);
      start = newline + 1;
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line.length > this.#maxLineLength) {
        throw new ReplyFormatError(`Reply line longer than ${this.#maxLineLength} characters`);
      }
      const reply = this.#takeLine(line);
      if (reply) replies.push(reply);
    }
    this.#buffer = buffer.slice(start);
    // A partial line may hold the CR of its CRLF on top of the longest text.
    const partial = this.#buffer.length - (this.#buffer.endsWith("\r") ? 1 : 0);
    if (partial > this.#maxLineLength) {
      throw new ReplyFormatError(`Reply line longer than ${this.#maxLineLength} characters`);
    }
    return replies;
  }

  /** True when a multi-line reply has started but not ended, or a line is incomplete. */
  get incomplete(): boolean {
    return this.#pending !== undefined || this.#buffer.length > 0;
  }

  #takeLine(line: string): Reply | undefined {
    const pending = this.#pending;
    const match = /^(\d{3})([ -]|$)(.*)$/.exec(line);
    if (pending) {
      if (match && Number(match[1]) === pending.code && match[2] !== "-") {
        pending.lines.push(match[3] ?? "");
        this.#pending = undefined;
        return pending;
      }
      if (pending.lines.length >= this.#maxLines) {
        throw new ReplyFormatError(`Reply longer than ${this.#maxLines} lines`);
      }
      pending.lines.push(line);
      return undefined;
    }
    if (!match) throw new ReplyFormatError(`Cannot parse reply line "${line.slice(0, 80)}"`);
    const code = Number(match[1]);
    if (code < 100 || code > 599) throw new ReplyFormatError(`Invalid reply code ${code}`);
    if (match[2] === "-") {
      this.#pending = { code, lines: [match[3] ?? ""] };
      return undefined;
    }
    return { code, lines: [match[3] ?? ""] };
  }
}

/** The text of a reply as one string, lines joined with "\n". */
export function replyText(reply: Reply): string {
  return reply.lines.join("\n");
}

/**
 * A parsed reply's lines as they are shown to a user (`-v`, `quote`, the
 * shell): `213-first`, middle lines as sent, `213 last`.
 *
 * @example
 * ```ts
 * formatReplyLines({ code: 213, lines: ["42"] }); // ["213 42"]
 * ```
 */
export function formatReplyLines(reply: Reply): string[] {
  const last = reply.lines.length - 1;
  return reply.lines.map((line, i) =>
    i === last ? `${reply.code} ${line}` : i === 0 ? `${reply.code}-${line}` : line
  );
}
