import assert from "node:assert/strict";
import {
  formatReply,
  type Reply,
  ReplyCode,
  ReplyFormatError,
  replyKind,
  ReplyParser,
  type ReplyParserOptions,
  replyText,
  sanitizeReplyText,
} from "../../protocol/reply.ts";

/** Feeds `text` split at every position and checks the replies each time. */
function assertParsesAnySplit(
  text: string,
  expected: Reply[],
  options: ReplyParserOptions = {},
): void {
  assert.deepEqual(new ReplyParser(options).push(text), expected, "whole");
  const bytewise = new ReplyParser(options);
  assert.deepEqual([...text].flatMap((char) => bytewise.push(char)), expected, "char by char");
  for (let at = 0; at <= text.length; at++) {
    const parser = new ReplyParser(options);
    const replies = [...parser.push(text.slice(0, at)), ...parser.push(text.slice(at))];
    assert.deepEqual(replies, expected, `split at ${at}`);
    assert.equal(parser.incomplete, false);
  }
}

Deno.test("formatReply() formats a single-line reply", () => {
  assert.equal(formatReply(230, "Login successful."), "230 Login successful.\r\n");
  assert.equal(formatReply(200, ""), "200 \r\n");
  assert.equal(formatReply(200, []), "200 \r\n");
  assert.equal(formatReply(211, ["Only"]), "211 Only\r\n");
});

Deno.test("formatReply() formats a multi-line reply with middle lines indented", () => {
  assert.equal(
    formatReply(211, ["Features:", "MDTM", "End"]),
    "211-Features:\r\n MDTM\r\n211 End\r\n",
  );
  assert.equal(formatReply(214, ["a", "b"]), "214-a\r\n214 b\r\n");
  // Already indented lines are not indented twice.
  assert.equal(formatReply(211, ["x", " SIZE", "y"]), "211-x\r\n SIZE\r\n211 y\r\n");
});

Deno.test("formatReply() indents middle lines that start with a code", () => {
  const wire = formatReply(250, ["Listing", "250 forged", "250-also", "End"]);
  assert.equal(wire, "250-Listing\r\n 250 forged\r\n 250-also\r\n250 End\r\n");
  assert.deepEqual(new ReplyParser().push(wire), [{
    code: 250,
    lines: ["Listing", " 250 forged", " 250-also", "End"],
  }]);
});

Deno.test("formatReply() sanitizes CR, LF and NUL so no reply line can be forged", () => {
  const evil = "x\r\n230 Login successful.\r\n";
  for (const text of [evil, [evil], ["first", evil, "last"], [evil, evil]]) {
    const wire = formatReply(550, text);
    const lines = wire.split("\r\n");
    assert.equal(lines.pop(), "", "ends with CRLF");
    assert.ok(!lines.some((line) => /[\r\n\0]/.test(line)), JSON.stringify(wire));
    const replies = new ReplyParser().push(wire);
    assert.equal(replies.length, 1, JSON.stringify(wire));
    assert.equal(replies[0]?.code, 550);
  }
  assert.equal(formatReply(550, "a\0b\rc\nd"), "550 a b c d\r\n");
});

Deno.test("sanitizeReplyText() replaces CR, LF and NUL by spaces", () => {
  assert.equal(sanitizeReplyText("a\r\n230 hi"), "a  230 hi");
  assert.equal(sanitizeReplyText("clean text"), "clean text");
});

Deno.test("formatReply() refuses an invalid code", () => {
  for (const code of [0, 99, 600, 1000, -200, 200.5, Number.NaN]) {
    assert.throws(() => formatReply(code, "x"), RangeError, String(code));
  }
});

Deno.test("ReplyParser parses a single-line reply in any chunking", () => {
  assertParsesAnySplit("220 ferry ready\r\n", [{ code: 220, lines: ["ferry ready"] }]);
});

Deno.test("ReplyParser accepts a bare LF and a code without text", () => {
  assertParsesAnySplit("200 ok\n226\r\n", [
    { code: 200, lines: ["ok"] },
    { code: 226, lines: [""] },
  ]);
});

Deno.test("ReplyParser parses a multi-line reply in any chunking", () => {
  assertParsesAnySplit("211-Features:\r\n MDTM\r\n SIZE\r\n211 End\r\n", [
    { code: 211, lines: ["Features:", " MDTM", " SIZE", "End"] },
  ]);
});

Deno.test("ReplyParser keeps middle lines that start with digits", () => {
  assertParsesAnySplit(
    "250-Listing\r\n123 not the end\r\n2500 bytes\r\n200 other code\r\n250 End\r\n",
    [
      {
        code: 250,
        lines: ["Listing", "123 not the end", "2500 bytes", "200 other code", "End"],
      },
    ],
  );
});

Deno.test("ReplyParser keeps middle lines with the same code followed by '-'", () => {
  assertParsesAnySplit("230-Welcome\r\n230-Rules apply\r\n230 Logged in\r\n", [
    { code: 230, lines: ["Welcome", "230-Rules apply", "Logged in"] },
  ]);
});

Deno.test("ReplyParser parses several replies in one chunk", () => {
  assertParsesAnySplit("150 Opening\r\n226-Done\r\n stats\r\n226 Bye\r\n221 Goodbye\r\n", [
    { code: 150, lines: ["Opening"] },
    { code: 226, lines: ["Done", " stats", "Bye"] },
    { code: 221, lines: ["Goodbye"] },
  ]);
});

Deno.test("ReplyParser reports an incomplete reply", () => {
  const parser = new ReplyParser();
  assert.equal(parser.incomplete, false);
  assert.deepEqual(parser.push("211-a\r\n"), []);
  assert.equal(parser.incomplete, true);
  assert.deepEqual(parser.push("211 b\r\n21"), [{ code: 211, lines: ["a", "b"] }]);
  assert.equal(parser.incomplete, true);
  assert.deepEqual(parser.push("1 c\r\n"), [{ code: 211, lines: ["c"] }]);
  assert.equal(parser.incomplete, false);
});

Deno.test("ReplyParser throws on an overlong line", () => {
  const parser = new ReplyParser({ maxLineLength: 20 });
  assert.throws(() => parser.push(`200 ${"x".repeat(30)}\r\n`), ReplyFormatError);
  // Without a line end: the buffer itself is capped.
  const partial = new ReplyParser({ maxLineLength: 20 });
  partial.push("200 ");
  assert.throws(() => partial.push("x".repeat(30)), ReplyFormatError);
});

Deno.test("ReplyParser accepts a line of exactly the cap split between CR and LF", () => {
  const line = `200 ${"x".repeat(16)}`; // 20 characters
  const expected = [{ code: 200, lines: ["x".repeat(16)] }];
  assertParsesAnySplit(`${line}\r\n`, expected, { maxLineLength: 20 });
  assertParsesAnySplit(`${line}\n`, expected, { maxLineLength: 20 });
  const parser = new ReplyParser({ maxLineLength: 20 });
  assert.deepEqual(parser.push(`${line}\r`), []);
  assert.deepEqual(parser.push("\n"), expected);
  assert.throws(() => new ReplyParser({ maxLineLength: 20 }).push(`${line}x\r`), ReplyFormatError);
});

Deno.test("ReplyParser throws on too many lines in one reply", () => {
  const parser = new ReplyParser({ maxLines: 3 });
  assert.throws(() => parser.push("211-a\r\n b\r\n c\r\n d\r\n e\r\n"), ReplyFormatError);
});

Deno.test("ReplyParser throws on garbage", () => {
  for (const text of ["hello\r\n", "\r\n", "20 ok\r\n", "2000 ok\r\n", "abc ok\r\n", "200x\r\n"]) {
    assert.throws(() => new ReplyParser().push(text), ReplyFormatError, JSON.stringify(text));
  }
});

Deno.test("ReplyParser throws on a code outside 100-599", () => {
  for (const text of ["099 x\r\n", "600 x\r\n", "999-x\r\n"]) {
    assert.throws(() => new ReplyParser().push(text), ReplyFormatError, text);
  }
});

Deno.test("ReplyParser reads back what formatReply() writes", () => {
  const cases: [number, string[]][] = [
    [220, ["hello"]],
    [211, ["Features:", "MDTM", "End"]],
    [257, ['"/a ""b""" created']],
    [214, ["one", "211 two", "three"]],
  ];
  for (const [code, lines] of cases) {
    const [reply] = new ReplyParser().push(formatReply(code, lines));
    assert.equal(reply?.code, code);
    assert.deepEqual(
      reply?.lines.map((line, i) => i > 0 && i < lines.length - 1 ? line.slice(1) : line),
      lines,
    );
  }
});

Deno.test("replyText() joins the lines with LF", () => {
  assert.equal(replyText({ code: 211, lines: ["a", " b", "c"] }), "a\n b\nc");
});

Deno.test("replyKind() classifies a code by its first digit", () => {
  assert.equal(replyKind(ReplyCode.FileStatusOk), "preliminary");
  assert.equal(replyKind(110), "preliminary");
  assert.equal(replyKind(ReplyCode.ClosingData), "completion");
  assert.equal(replyKind(ReplyCode.NeedPassword), "intermediate");
  assert.equal(replyKind(ReplyCode.PendingFurtherInfo), "intermediate");
  assert.equal(replyKind(ReplyCode.FileBusy), "transient");
  assert.equal(replyKind(ReplyCode.FileUnavailable), "permanent");
  assert.equal(replyKind(599), "permanent");
});

Deno.test("replyKind() throws RangeError outside 100-599", () => {
  for (const code of [0, 99, 600, 1000, -150]) {
    assert.throws(() => replyKind(code), RangeError, String(code));
  }
});

Deno.test("ReplyCode values are all valid reply codes", () => {
  for (const [name, code] of Object.entries(ReplyCode)) {
    assert.ok(Number.isInteger(code) && code >= 100 && code <= 599, name);
  }
});
