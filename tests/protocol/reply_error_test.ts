import assert from "node:assert/strict";
import { ReplyCode } from "../../protocol/reply.ts";
import { ReplyError } from "../../protocol/reply_error.ts";
import { FtpError, toFtpError } from "../../server/ftp_error.ts";

Deno.test("ReplyError carries the code and uses the reply text as its message", () => {
  const error = new ReplyError(ReplyCode.FileUnavailable, "No such file or directory.");
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ReplyError");
  assert.equal(error.code, 550);
  assert.equal(error.text, "No such file or directory.");
  assert.equal(error.message, "No such file or directory.");
  assert.equal(error.toReplyLine(), "550 No such file or directory.\r\n");
  assert.equal(error.cause, undefined);
  assert.equal(Object.hasOwn(error, "cause"), false, "no cause unless one is given");
});

Deno.test("ReplyError keeps the underlying error as its cause", () => {
  const cause = new Error("disk");
  const error = new ReplyError(ReplyCode.LocalError, "Local error in processing.", { cause });
  assert.equal(error.cause, cause);
  assert.equal(error.toReplyLine(), "451 Local error in processing.\r\n");
});

Deno.test("ReplyError with a message of its own still replies with its text", () => {
  const error = new ReplyError(ReplyCode.FileUnavailable, "No such file.", {
    message: "RETR: 550 No such file.",
  });
  assert.equal(error.message, "RETR: 550 No such file.");
  assert.equal(error.text, "No such file.");
  assert.equal(error.toReplyLine(), "550 No such file.\r\n");
});

Deno.test("ReplyError.toReplyLine() goes through the one formatter (no CR/LF injection)", () => {
  const error = new ReplyError(ReplyCode.FileUnavailable, "a\r\n230 b");
  assert.equal(error.toReplyLine(), "550 a  230 b\r\n");
});

Deno.test("the server's FtpError is the protocol's ReplyError", () => {
  assert.equal(FtpError, ReplyError);
  const own = new FtpError(ReplyCode.BadSequence, "Bad sequence of commands.");
  assert.equal(toFtpError(own), own);
  assert.equal(own.toReplyLine(), "503 Bad sequence of commands.\r\n");
});
