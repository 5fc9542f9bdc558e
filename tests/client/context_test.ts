import assert from "node:assert/strict";
import { existingPolicy } from "../../client/context.ts";
import { moveTarget } from "../../client/commands/remote_fs.ts";
import { formatReplyLines } from "../../protocol/reply.ts";
import { ClientError, ExitCode } from "../../client/errors.ts";

Deno.test("existingPolicy() defaults to fail and maps each flag", () => {
  assert.equal(existingPolicy({}), "fail");
  assert.equal(existingPolicy({ overwrite: true }), "overwrite");
  assert.equal(existingPolicy({ skipExisting: true }), "skip");
  assert.equal(existingPolicy({ rename: true }), "rename");
  assert.equal(existingPolicy({ continue: true }), "continue");
});

Deno.test("existingPolicy() refuses two policies with exit code 2", () => {
  assert.throws(
    () => existingPolicy({ overwrite: true, continue: true }),
    (error) => error instanceof ClientError && error.exitCode === ExitCode.Usage,
  );
});

Deno.test("moveTarget() resolves NEWPATH against the source's directory unless absolute", () => {
  assert.equal(moveTarget("/dir/a.txt", "b.txt"), "/dir/b.txt");
  assert.equal(moveTarget("/dir/a.txt", "../b.txt"), "/b.txt");
  assert.equal(moveTarget("/dir/a.txt", "/x/y"), "/x/y");
  assert.equal(moveTarget("/dir/sub/", "renamed"), "/dir/renamed");
  assert.equal(moveTarget("/a", "other/"), "/other/");
});

Deno.test("formatReplyLines() prints a reply the way the server sent it", () => {
  assert.deepEqual(formatReplyLines({ code: 215, lines: ["UNIX Type: L8"] }), [
    "215 UNIX Type: L8",
  ]);
  assert.deepEqual(formatReplyLines({ code: 211, lines: ["Features:", " SIZE", "End"] }), [
    "211-Features:",
    " SIZE",
    "211 End",
  ]);
});
