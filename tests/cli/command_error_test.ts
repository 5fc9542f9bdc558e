import assert from "node:assert/strict";
import { CommandError, EXIT_FAILURE, isCommandFailure } from "../../cli/command_error.ts";
import { ExitStatus } from "../../cli/exit_status.ts";

Deno.test("CommandError carries its message and exit code (default 1)", () => {
  const error = new CommandError("Bad input", 2);
  assert.equal(error.message, "Bad input");
  assert.equal(error.exitCode, 2);
  assert.equal(new CommandError("boom").exitCode, EXIT_FAILURE);
});

Deno.test("isCommandFailure() accepts any Error with an integer exit code", () => {
  assert.ok(isCommandFailure(new CommandError("Bad input", 2)));
  class OtherFailure extends RangeError {
    readonly exitCode = 7;
  }
  assert.ok(isCommandFailure(new OtherFailure("from another hierarchy")));
  // ExitStatus qualifies too: main.ts checks for it first.
  assert.ok(isCommandFailure(new ExitStatus(3)));
});

Deno.test("isCommandFailure() rejects errors without an exit code, and non-errors", () => {
  assert.equal(isCommandFailure(new Error("boom")), false);
  assert.equal(isCommandFailure(Object.assign(new Error("x"), { exitCode: "2" })), false);
  assert.equal(isCommandFailure(Object.assign(new Error("x"), { exitCode: 1.5 })), false);
  assert.equal(isCommandFailure(Object.assign(new Error("x"), { exitCode: NaN })), false);
  assert.equal(isCommandFailure({ message: "not an Error", exitCode: 2 }), false);
  assert.equal(isCommandFailure(undefined), false);
  assert.equal(isCommandFailure("ferry: boom"), false);
});
