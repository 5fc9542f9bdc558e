/**
 * The one error type that carries an FTP reply (code and text), shared by
 * both sides: the server throws it to answer a command with that reply, and
 * the client's `FtpReplyError` (client/errors.ts) extends it for a reply it
 * did not expect.
 *
 * @module
 */

import { formatReply } from "./reply.ts";

/** Options for {@linkcode ReplyError}. */
export interface ReplyErrorOptions extends ErrorOptions {
  /**
   * The error's message, when it should say more than the reply text (the
   * client names the command: `RETR: 550 No such file.`). The reply itself
   * ({@linkcode ReplyError.text}, {@linkcode ReplyError.toReplyLine}) is
   * not affected.
   * @default {the reply text}
   */
  message?: string;
}

/**
 * An error that is an FTP reply. Its message is the reply text unless
 * `options.message` says otherwise; the text must not reveal server-side
 * paths.
 *
 * @example
 * ```ts
 * import { ReplyCode } from "./reply.ts";
 * const error = new ReplyError(ReplyCode.FileUnavailable, "No such file or directory.");
 * error.toReplyLine(); // "550 No such file or directory.\r\n"
 * ```
 */
export class ReplyError extends Error {
  /** The reply code. */
  readonly code: number;
  /** The reply text, as sent (or received) after the code. */
  readonly text: string;

  /**
   * @param code The reply code (100-599).
   * @param text The reply text.
   * @param options The underlying error, if any, and a message other than the text.
   */
  constructor(code: number, text: string, options?: ReplyErrorOptions) {
    super(options?.message ?? text, options);
    this.name = "ReplyError";
    this.code = code;
    this.text = text;
  }

  /** The reply as sent on the wire, through the one formatter. */
  toReplyLine(): string {
    return formatReply(this.code, this.text);
  }
}
