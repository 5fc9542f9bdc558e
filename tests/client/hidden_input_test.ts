import assert from "node:assert/strict";
import { HiddenInputCancelledError, HiddenLineEditor } from "../../cli/hidden_input.ts";

const push = (editor: HiddenLineEditor, text: string) =>
  editor.push(new TextEncoder().encode(text));

Deno.test("HiddenLineEditor returns the line at Enter, across chunks", () => {
  const editor = new HiddenLineEditor();
  assert.equal(push(editor, "pa"), undefined);
  assert.equal(push(editor, "ss\r"), "pass");
});

Deno.test("HiddenLineEditor handles backspace over UTF-8, Ctrl-U and escape sequences", () => {
  assert.equal(push(new HiddenLineEditor(), "ab\x7fc\n"), "ac");
  assert.equal(push(new HiddenLineEditor(), "aé\x7f\x7fz\n"), "z");
  assert.equal(push(new HiddenLineEditor(), "junk\x15ok\r"), "ok");
  assert.equal(push(new HiddenLineEditor(), "a\x1b[Db\r"), "ab");
  assert.equal(push(new HiddenLineEditor(), "pw\x04"), "pw");
});

Deno.test("HiddenLineEditor cancels on Ctrl-C and on Ctrl-D at an empty line", () => {
  assert.throws(() => push(new HiddenLineEditor(), "ab\x03"), HiddenInputCancelledError);
  assert.throws(() => push(new HiddenLineEditor(), "\x04"), HiddenInputCancelledError);
});
