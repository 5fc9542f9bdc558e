import assert from "node:assert/strict";
import { CommandError, isCommandFailure } from "../../cli/command_error.ts";
import { ChecksumUnavailableError } from "../../client/checksum.ts";
import { ClientError, ExitCode, FtpReplyError, isClientError } from "../../client/errors.ts";
import { ReplyCode } from "../../protocol/reply.ts";
import { ReplyError } from "../../protocol/reply_error.ts";

const reply = (code: number, ...lines: string[]) => ({ code, lines });

Deno.test("FtpReplyError is the protocol's ReplyError: code, text and reply line", () => {
  const error = new FtpReplyError("RETR", reply(ReplyCode.FileUnavailable, "No such file."));
  assert.ok(error instanceof ReplyError);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "FtpReplyError");
  assert.equal(error.code, 550);
  assert.equal(error.text, "No such file.");
  assert.equal(error.toReplyLine(), "550 No such file.\r\n");
});

Deno.test("FtpReplyError keeps the verb, the whole reply, and the message VERB: CODE text", () => {
  const multi = reply(ReplyCode.FileUnavailable, "First line", " second line ", "Last.");
  const error = new FtpReplyError("STOR", multi);
  assert.equal(error.verb, "STOR");
  assert.equal(error.reply, multi);
  assert.equal(error.text, "First line  second line  Last.");
  assert.equal(error.message, "STOR: 550 First line  second line  Last.");
  assert.equal(error.toReplyLine(), "550 First line  second line  Last.\r\n");
  const trimmed = new FtpReplyError("CWD", reply(550, "  Not a directory.  "));
  assert.equal(trimmed.message, "CWD: 550 Not a directory.");
  assert.equal(trimmed.text, "Not a directory.");
});

Deno.test("FtpReplyError maps replies to the documented exit codes", () => {
  const exitCode = (verb: string, code: number) =>
    new FtpReplyError(verb, reply(code, "x")).exitCode;
  // Login: the login verbs whatever the code, and 530 on any verb.
  assert.equal(exitCode("USER", 530), ExitCode.Login);
  assert.equal(exitCode("PASS", 530), ExitCode.Login);
  assert.equal(exitCode("PASS", 421), ExitCode.Login);
  assert.equal(exitCode("ACCT", 502), ExitCode.Login);
  assert.equal(exitCode("LIST", ReplyCode.NotLoggedIn), ExitCode.Login);
  // A transfer broken off.
  assert.equal(exitCode("RETR", ReplyCode.TransferAborted), ExitCode.TransferInterrupted);
  // The server closing the session.
  assert.equal(exitCode("RETR", ReplyCode.ServiceUnavailable), ExitCode.Connect);
  // Permanent refusals, and a busy file.
  assert.equal(exitCode("RETR", ReplyCode.FileUnavailable), ExitCode.RemoteFile);
  assert.equal(exitCode("MKD", ReplyCode.FileUnavailable), ExitCode.RemoteFile);
  assert.equal(exitCode("STOR", ReplyCode.BadFileName), ExitCode.RemoteFile);
  assert.equal(exitCode("SITE", ReplyCode.NotImplemented), ExitCode.RemoteFile);
  assert.equal(exitCode("RETR", ReplyCode.FileBusy), ExitCode.RemoteFile);
  // Other transient failures.
  assert.equal(exitCode("STOR", ReplyCode.LocalError), ExitCode.Failure);
  assert.equal(exitCode("PASV", ReplyCode.CannotOpenData), ExitCode.Failure);
  // An unexpected positive reply.
  assert.equal(exitCode("CWD", ReplyCode.PendingFurtherInfo), ExitCode.Failure);
});

Deno.test("FtpReplyError takes an explicit exit code over the mapping", () => {
  const error = new FtpReplyError("AUTH", reply(534, "Policy."), ExitCode.Connect);
  assert.equal(error.exitCode, ExitCode.Connect);
  assert.equal(error.code, 534);
});

Deno.test("FtpReplyError is a command failure that main.ts reports", () => {
  const error = new FtpReplyError("RETR", reply(550, "No such file."));
  assert.ok(isCommandFailure(error));
  assert.equal(error instanceof CommandError, false, "it is a ReplyError, not a CommandError");
});

Deno.test("isClientError() accepts ClientError, its subclasses and FtpReplyError", () => {
  assert.ok(isClientError(new ClientError("Bad URL", ExitCode.Usage)));
  assert.ok(isClientError(new ChecksumUnavailableError("No checksum command")));
  assert.ok(isClientError(new FtpReplyError("PASS", reply(530, "Login incorrect."))));
});

Deno.test("isClientError() rejects other errors, even with an exit code", () => {
  assert.equal(isClientError(new Error("boom")), false);
  assert.equal(isClientError(new ReplyError(550, "server-side reply")), false);
  assert.equal(isClientError(new CommandError("a server command's error", 2)), false);
  assert.equal(isClientError(Object.assign(new Error("x"), { exitCode: 5 })), false);
  assert.equal(isClientError(undefined), false);
  assert.equal(isClientError({ exitCode: 5, message: "x" }), false);
});

Deno.test("ClientError keeps its message and exit code and is a CommandError", () => {
  const error = new ClientError("Connection closed", ExitCode.Connect);
  assert.ok(error instanceof CommandError);
  assert.equal(error.name, "ClientError");
  assert.equal(error.message, "Connection closed");
  assert.equal(error.exitCode, ExitCode.Connect);
});
