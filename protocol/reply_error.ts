/**
 * The one error type that carries an FTP reply (code and text), shared by
 * both sides: the server throws it to answer a command with that reply, and
 * a client can raise it for a reply it did not expect.
 *
 * @module
 */

import { formatReply } from "./reply.ts";

/**
 * An error that is an FTP reply. Its message is the reply text; the text
 * must not reveal server-side paths.
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

  /**
   * @param code The reply code (100-599).
   * @param text The reply text.
   * @param options The underlying error, if any.
   */
  constructor(code: number, text: string, options?: ErrorOptions) {
    super(text, options);
    this.name = "ReplyError";
    this.code = code;
  }

  /** The reply text (the message). */
  get text(): string {
    return this.message;
  }

  /** The reply as sent on the wire, through the one formatter. */
  toReplyLine(): string {
    return formatReply(this.code, this.message);
  }
}
