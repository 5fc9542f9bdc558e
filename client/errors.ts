/**
 * The client's errors, each with the exit code a script can rely on.
 *
 * @module
 */

import { type Reply, ReplyCode, replyKind } from "../protocol/reply.ts";
import { CommandError } from "../cli/command_error.ts";

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

/** Any client error: carries an exit code. */
export class ClientError extends CommandError {
  /** Creates the error with the exit code `ferry client` ends with. */
  constructor(message: string, exitCode: number, options?: ErrorOptions) {
    super(message, exitCode, options);
    this.name = "ClientError";
  }
}

/** A server answered a command with a negative (4xx/5xx) or unexpected reply. */
export class FtpReplyError extends ClientError {
  /** The reply code. */
  readonly code: number;
  /** The command that got it (verb only; arguments may hold secrets). */
  readonly verb: string;
  /** The whole reply. */
  readonly reply: Reply;

  /** Creates the error from the command's verb and the server's reply. */
  constructor(verb: string, reply: Reply, exitCode: number = exitCodeFor(verb, reply.code)) {
    super(`${verb}: ${reply.code} ${reply.lines.join(" ").trim()}`, exitCode);
    this.name = "FtpReplyError";
    this.code = reply.code;
    this.verb = verb;
    this.reply = reply;
  }
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
