/**
 * The client's errors, each with the exit code a script can rely on: the
 * {@linkcode ClientError} class, the server-reply {@linkcode FtpReplyError}
 * (the protocol's `ReplyError`), and {@linkcode isClientError} for either.
 *
 * @module
 */

import { type Reply, ReplyCode, replyKind } from "../protocol/reply.ts";
import { CommandError, type CommandFailure } from "../cli/command_error.ts";
import { ReplyError } from "../protocol/reply_error.ts";

/** Exit codes of `ferry client`, documented in the README. */
export const ExitCode = {
  Ok: 0,
  /** Something else went wrong. */
  Failure: 1,
  /** Bad command line (unknown option, bad URL). */
  Usage: 2,
  /** Could not connect, or the connection broke / timed out. */
  Connect: 3,
  /** Login refused. */
  Login: 4,
  /** The remote file or directory is missing or refused (5xx on a file command). */
  RemoteFile: 5,
  /** Local file error (cannot read, write or create). */
  LocalIo: 6,
  /** A transfer started but did not complete. */
  TransferInterrupted: 7,
  /** The server broke the protocol (unparseable or out-of-sequence reply). */
  Protocol: 8,
  /** The destination exists and neither --overwrite, --skip-existing, --rename nor --continue was given. */
  Exists: 9,
  /** `--verify`: the server's checksum of the file differs from the local one. */
  ChecksumMismatch: 10,
  /** `hash`, `--verify`: the server offers no checksum command (or not for that algorithm). */
  ChecksumUnavailable: 11,
} as const;

/**
 * A client failure that is not a server's reply: carries an exit code.
 * Check for any client failure with {@linkcode isClientError}, which also
 * accepts an {@linkcode FtpReplyError}.
 */
export class ClientError extends CommandError {
  /** Creates the error with the exit code `ferry client` ends with. */
  constructor(message: string, exitCode: number, options?: ErrorOptions) {
    super(message, exitCode, options);
    this.name = "ClientError";
  }
}

/**
 * A server answered a command with a negative (4xx/5xx) or unexpected
 * reply. It is the protocol's {@linkcode ReplyError} (`code`, `text` — the
 * reply's lines joined by spaces —, `toReplyLine()`), and a
 * {@linkcode CommandFailure} with the exit code the reply maps to; its
 * message names the command: `VERB: CODE text`.
 *
 * @example
 * ```ts
 * const error = new FtpReplyError("RETR", { code: 550, lines: ["No such file."] });
 * error.message; // "RETR: 550 No such file."
 * error.exitCode; // 5 (ExitCode.RemoteFile)
 * ```
 */
export class FtpReplyError extends ReplyError implements CommandFailure {
  /** The command that got it (verb only; arguments may hold secrets). */
  readonly verb: string;
  /** The whole reply. */
  readonly reply: Reply;
  /** The exit code `ferry client` ends with. */
  readonly exitCode: number;

  /** Creates the error from the command's verb and the server's reply. */
  constructor(verb: string, reply: Reply, exitCode: number = exitCodeFor(verb, reply.code)) {
    const text = reply.lines.join(" ").trim();
    super(reply.code, text, { message: `${verb}: ${reply.code} ${text}` });
    this.name = "FtpReplyError";
    this.verb = verb;
    this.reply = reply;
    this.exitCode = exitCode;
  }
}

/** Any client failure: a {@linkcode ClientError} or an {@linkcode FtpReplyError}. */
export type ClientFailure = ClientError | FtpReplyError;

/**
 * Whether `error` is a client failure with an exit code from
 * {@linkcode ExitCode}: a {@linkcode ClientError} (or a subclass) or an
 * {@linkcode FtpReplyError}.
 *
 * @example
 * ```ts
 * isClientError(new ClientError("Bad URL", ExitCode.Usage)); // true
 * isClientError(new FtpReplyError("PASS", { code: 530, lines: ["Login incorrect."] })); // true
 * isClientError(new Error("boom")); // false
 * ```
 */
export function isClientError(error: unknown): error is ClientFailure {
  return error instanceof ClientError || error instanceof FtpReplyError;
}

function exitCodeFor(verb: string, code: number): number {
  if (verb === "USER" || verb === "PASS" || verb === "ACCT" || code === ReplyCode.NotLoggedIn) {
    return ExitCode.Login;
  }
  if (code === ReplyCode.TransferAborted) return ExitCode.TransferInterrupted;
  if (code === ReplyCode.ServiceUnavailable) return ExitCode.Connect;
  if (replyKind(code) === "permanent" || code === ReplyCode.FileBusy) return ExitCode.RemoteFile;
  return ExitCode.Failure;
}
