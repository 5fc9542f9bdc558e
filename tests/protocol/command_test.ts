import assert from "node:assert/strict";
import {
  CommandLineReader,
  formatCommand,
  type LineEvent,
  parseCommand,
} from "../../protocol/command.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const IAC = 255;
const DONT = 254;
const DO = 253;
const WONT = 252;
const WILL = 251;
const SB = 250;
const SE = 240;
const IP = 244;
const DM = 242;

function bytes(...parts: (string | number)[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === "number") out.push(part);
    else out.push(...encoder.encode(part));
  }
  return Uint8Array.from(out);
}

/** Events as strings: the decoded line, or "<overlong>". */
function show(events: LineEvent[]): string[] {
  return events.map((event) => event.kind === "line" ? decoder.decode(event.bytes) : "<overlong>");
}

function feedWhole(data: Uint8Array, maxLineLength?: number): string[] {
  const reader = new CommandLineReader(maxLineLength === undefined ? {} : { maxLineLength });
  return show(reader.push(data));
}

function feedBytewise(data: Uint8Array, maxLineLength?: number): string[] {
  const reader = new CommandLineReader(maxLineLength === undefined ? {} : { maxLineLength });
  const events: LineEvent[] = [];
  for (let i = 0; i < data.length; i++) events.push(...reader.push(data.subarray(i, i + 1)));
  return show(events);
}

function feedSplitAt(data: Uint8Array, at: number, maxLineLength?: number): string[] {
  const reader = new CommandLineReader(maxLineLength === undefined ? {} : { maxLineLength });
  return show([...reader.push(data.subarray(0, at)), ...reader.push(data.subarray(at))]);
}

/** Checks one input gives `expected` whole, one byte at a time and split at every position. */
function assertLines(data: Uint8Array, expected: string[], maxLineLength?: number): void {
  assert.deepEqual(feedWhole(data, maxLineLength), expected, "whole");
  assert.deepEqual(feedBytewise(data, maxLineLength), expected, "byte by byte");
  for (let at = 0; at <= data.length; at++) {
    assert.deepEqual(feedSplitAt(data, at, maxLineLength), expected, `split at ${at}`);
  }
}

/** Like {@linkcode assertLines} for lines that are not UTF-8. */
function assertLineBytes(data: Uint8Array, expected: number[][]): void {
  for (let at = 0; at <= data.length; at++) {
    const reader = new CommandLineReader();
    const events = [...reader.push(data.subarray(0, at)), ...reader.push(data.subarray(at))];
    const lines = events.map((event) => event.kind === "line" ? [...event.bytes] : []);
    assert.deepEqual(lines, expected, `split at ${at}`);
  }
}

Deno.test("CommandLineReader splits lines on CRLF and on bare LF", () => {
  assertLines(bytes("USER bob\r\nPASS x\nNOOP\r\n"), ["USER bob", "PASS x", "NOOP"]);
});

Deno.test("CommandLineReader holds an unfinished line until its LF arrives", () => {
  const reader = new CommandLineReader();
  assert.deepEqual(show(reader.push(bytes("NOOP\r\nQU"))), ["NOOP"]);
  assert.equal(reader.buffered, 2);
  assert.deepEqual(show(reader.push(bytes("IT"))), []);
  assert.equal(reader.buffered, 4);
  assert.deepEqual(show(reader.push(bytes("\r"))), []);
  assert.deepEqual(show(reader.push(bytes("\n"))), ["QUIT"]);
  assert.equal(reader.buffered, 0);
});

Deno.test("CommandLineReader accepts chunks of any size, including empty ones", () => {
  const reader = new CommandLineReader();
  assert.deepEqual(reader.push(new Uint8Array(0)), []);
  assert.deepEqual(show(reader.push(bytes("A\r\nB\r\nC\r\n"))), ["A", "B", "C"]);
  assert.deepEqual(reader.push(new Uint8Array(0)), []);
});

Deno.test("CommandLineReader keeps a CR that is not followed by LF", () => {
  assertLines(bytes("a\rb\r\n"), ["a\rb"]);
  assertLines(bytes("a\r\r\n"), ["a\r"]);
  assertLines(bytes("\r\n"), [""]);
  assertLines(bytes("\n\n"), ["", ""]);
});

Deno.test("CommandLineReader turns IAC IAC into one 255 byte", () => {
  assertLineBytes(bytes("A", IAC, IAC, "B\r\n"), [[0x41, 255, 0x42]]);
  assertLineBytes(bytes(IAC, IAC, IAC, IAC, "\n"), [[255, 255]]);
});

Deno.test("CommandLineReader drops Telnet option negotiation (WILL, WONT, DO, DONT)", () => {
  for (const verb of [WILL, WONT, DO, DONT]) {
    // The option byte is dropped too, even when it looks like LF or IAC.
    assertLines(bytes("NO", IAC, verb, 1, "OP\r\n"), ["NOOP"]);
    assertLines(bytes("NO", IAC, verb, 10, "OP\r\n"), ["NOOP"]);
    assertLines(bytes("NO", IAC, verb, IAC, "OP\r\n"), ["NOOP"]);
  }
});

Deno.test("CommandLineReader drops Telnet IP and DM (the ABOR synch)", () => {
  assertLines(bytes(IAC, IP, IAC, DM, "ABOR\r\n"), ["ABOR"]);
});

Deno.test("CommandLineReader drops a subnegotiation IAC SB ... IAC SE", () => {
  assertLines(bytes("NO", IAC, SB, 24, 0, "xterm", IAC, SE, "OP\r\n"), ["NOOP"]);
  // LF and an escaped IAC IAC inside the subnegotiation are part of it.
  assertLines(bytes("NO", IAC, SB, 10, IAC, IAC, 13, IAC, SE, "OP\r\n"), ["NOOP"]);
  // IAC followed by anything other than SE stays inside it.
  assertLines(bytes("A", IAC, SB, IAC, 1, "\n", IAC, SE, "B\n"), ["AB"]);
});

Deno.test("CommandLineReader keeps CRLF detection across a Telnet command between CR and LF", () => {
  assertLines(bytes("NOOP\r", IAC, WILL, 3, "\n"), ["NOOP"]);
  // An escaped 255 after the CR makes the CR data.
  assertLineBytes(bytes("A\r", IAC, IAC, "\n"), [[0x41, 13, 255]]);
});

Deno.test("CommandLineReader reports an overlong line once, then parses the next line", () => {
  const long = "X".repeat(50);
  assertLines(bytes(`${long}\r\nNOOP\r\n`), ["<overlong>", "NOOP"], 10);
  assertLines(bytes(`${long}\n${long}\nNOOP\n`), ["<overlong>", "<overlong>", "NOOP"], 10);
});

Deno.test("CommandLineReader accepts a line of exactly the cap, with or without CR", () => {
  assertLines(bytes("0123456789\r\n0123456789\n"), ["0123456789", "0123456789"], 10);
});

Deno.test("CommandLineReader refuses a line one byte over the cap", () => {
  assertLines(bytes("0123456789A\nok\n"), ["<overlong>", "ok"], 10);
  assertLines(bytes("0123456789A\r\nok\n"), ["<overlong>", "ok"], 10);
  // A CR that is data (not followed by LF) counts towards the cap.
  assertLines(bytes("0123456789\rA\nok\n"), ["<overlong>", "ok"], 10);
  assertLines(bytes("012345678\r\r\nok\n"), ["012345678\r", "ok"], 10);
});

Deno.test("CommandLineReader never buffers more than the cap", () => {
  const reader = new CommandLineReader({ maxLineLength: 16 });
  const chunk = bytes("ABCDEFG\r");
  const events = [];
  for (let i = 0; i < 1000; i++) {
    for (const byte of chunk) {
      events.push(...reader.push(Uint8Array.of(byte)));
      assert.ok(reader.buffered <= 16, `buffered ${reader.buffered}`);
    }
  }
  // Reported once, as soon as the line passed the cap (the 17th byte), not at its LF.
  assert.deepEqual(show(events), ["<overlong>"]);
  assert.deepEqual(show(reader.push(bytes("\nSTAT\r\n"))), ["STAT"]);
  assert.equal(reader.buffered, 0);
});

Deno.test("CommandLineReader applies the default cap of 4096 bytes", () => {
  assert.deepEqual(feedWhole(bytes(`${"a".repeat(4096)}\r\n`)), ["a".repeat(4096)]);
  assert.deepEqual(feedWhole(bytes(`${"a".repeat(4097)}\r\nNOOP\r\n`)), ["<overlong>", "NOOP"]);
});

Deno.test("CommandLineReader returns lines that later input does not change", () => {
  const reader = new CommandLineReader();
  const [first] = reader.push(bytes("AAAA\n"));
  reader.push(bytes("BBBB\n"));
  assert.ok(first?.kind === "line");
  assert.equal(decoder.decode(first.bytes), "AAAA");
});

Deno.test("CommandLineReader refuses an invalid cap", () => {
  for (const maxLineLength of [0, -1, 1.5, Number.NaN, Infinity]) {
    assert.throws(() => new CommandLineReader({ maxLineLength }), RangeError);
  }
});

Deno.test("parseCommand() accepts lowercase and mixed-case verbs", () => {
  for (const line of ["noop", "NOOP", "NoOp", "nOOp"]) {
    assert.deepEqual(parseCommand(line), { ok: true, command: { verb: "NOOP", argument: "" } });
  }
  assert.deepEqual(parseCommand("cwd"), { ok: true, command: { verb: "CWD", argument: "" } });
});

Deno.test("parseCommand() keeps the argument verbatim after the first space", () => {
  const cases: [string, string, string][] = [
    ["stor my file.txt", "STOR", "my file.txt"],
    ["RETR  two leading", "RETR", " two leading"],
    ["RETR trailing  ", "RETR", "trailing  "],
    ["CWD    ", "CWD", "   "],
    ["USER ", "USER", ""],
    ["SITE CHMOD 644 a b", "SITE", "CHMOD 644 a b"],
    ["RETR tab\there", "RETR", "tab\there"],
    ["STOR naïve 日本.txt", "STOR", "naïve 日本.txt"],
  ];
  for (const [line, verb, argument] of cases) {
    assert.deepEqual(parseCommand(line), { ok: true, command: { verb, argument } }, line);
  }
});

Deno.test("parseCommand() decodes UTF-8 bytes", () => {
  assert.deepEqual(parseCommand(encoder.encode("MKD Ünïcødé")), {
    ok: true,
    command: { verb: "MKD", argument: "Ünïcødé" },
  });
});

Deno.test("parseCommand() reports an empty line", () => {
  for (const line of ["", " ", "   ", "\t"]) {
    assert.deepEqual(parseCommand(line), { ok: false, reason: "empty" }, JSON.stringify(line));
  }
  assert.deepEqual(parseCommand(new Uint8Array(0)), { ok: false, reason: "empty" });
});

Deno.test("parseCommand() refuses bad verbs", () => {
  const lines = [
    "NO",
    "NOOPS",
    "ABCDE x",
    "US3R bob",
    "123",
    "RETR1",
    " USER bob",
    "NOOP\t",
    "NO-OP",
    "ÜSER x",
    "ſtor x", // upper-cases to "STOR"
    "lıst", // dotless i upper-cases to "LIST"
    "ﬆor x", // the ligature upper-cases to "STOR"
    "ＵＳＥＲ bob",
  ];
  for (const line of lines) {
    assert.deepEqual(parseCommand(line), { ok: false, reason: "bad-verb" }, line);
  }
});

Deno.test("parseCommand() refuses CR, LF and NUL inside the line", () => {
  const lines = ["RETR a\rb", "RETR a\0b", "RETR a\nb", "NOOP\r", "\0"];
  for (const line of lines) {
    assert.deepEqual(
      parseCommand(line),
      { ok: false, reason: "bad-character" },
      JSON.stringify(line),
    );
    assert.deepEqual(parseCommand(encoder.encode(line)), { ok: false, reason: "bad-character" });
  }
});

Deno.test("parseCommand() refuses invalid UTF-8", () => {
  const lines = [
    bytes("RETR ", 0xff),
    bytes("RETR ", 0xc3), // truncated sequence
    bytes("RETR ", 0xc0, 0x80), // overlong NUL
    bytes("RETR ", 0xed, 0xa0, 0x80), // UTF-16 surrogate
    bytes(0x80, "NOOP"),
  ];
  for (const line of lines) {
    assert.deepEqual(parseCommand(line), { ok: false, reason: "bad-encoding" }, String([...line]));
  }
});

Deno.test("formatCommand() formats a command with and without an argument", () => {
  assert.equal(formatCommand("NOOP"), "NOOP\r\n");
  assert.equal(formatCommand("NOOP", ""), "NOOP\r\n");
  assert.equal(formatCommand("RETR", "a b.txt"), "RETR a b.txt\r\n");
  assert.equal(formatCommand("CWD", " x "), "CWD  x \r\n");
});

Deno.test("formatCommand() refuses CR, LF and NUL in the argument", () => {
  for (const argument of ["a\r\nDELE b", "a\nb", "a\rb", "a\0b"]) {
    assert.throws(() => formatCommand("RETR", argument), TypeError, JSON.stringify(argument));
  }
});

Deno.test("formatCommand() refuses a verb that is not 3 or 4 letters", () => {
  for (const verb of ["", "NO", "NOOPS", "RE\r\n", "NO P", "US3R", "ſtor"]) {
    assert.throws(() => formatCommand(verb), TypeError, JSON.stringify(verb));
  }
});

Deno.test("formatCommand() output parses back to the same command", () => {
  for (const [verb, argument] of [["STOR", "a b"], ["LIST", ""], ["CWD", " sp "]] as const) {
    const wire = formatCommand(verb, argument);
    const reader = new CommandLineReader();
    const [event] = reader.push(encoder.encode(wire));
    assert.ok(event?.kind === "line");
    assert.deepEqual(parseCommand(event.bytes), { ok: true, command: { verb, argument } });
  }
});

Deno.test("CommandLineReader reports an overlong line when it passes the cap, before its LF", () => {
  const reader = new CommandLineReader({ maxLineLength: 10 });
  assert.deepEqual(show(reader.push(bytes("0123456789"))), []);
  assert.deepEqual(show(reader.push(bytes("AB"))), ["<overlong>"]);
  assert.deepEqual(show(reader.push(bytes("more and more"))), []);
  assert.deepEqual(show(reader.push(bytes("\r\nNOOP\r\n"))), ["NOOP"]);
});

Deno.test("CommandLineReader reports a runaway line once past the discard bound, Telnet bytes included", () => {
  const reader = new CommandLineReader({ maxLineLength: 4, maxDiscard: 20 });
  const kinds = (events: LineEvent[]) => events.map((event) => event.kind);
  assert.deepEqual(kinds(reader.push(bytes("ABCDE"))), ["overlong"]);
  assert.deepEqual(kinds(reader.push(bytes("x".repeat(19)))), []);
  // IAC NOP pairs never reach the line, but they count as discarded bytes.
  assert.deepEqual(kinds(reader.push(bytes(IAC, 241, IAC, 241))), ["runaway"]);
  assert.deepEqual(kinds(reader.push(bytes("y".repeat(100)))), []);
  assert.deepEqual(show(reader.push(bytes("\nNOOP\n"))), ["NOOP"]);
  // The bound is per line: the next overlong line starts counting afresh.
  assert.deepEqual(kinds(reader.push(bytes("ABCDE" + "z".repeat(19) + "\n"))), ["overlong"]);
});

Deno.test("parseCommand reads the digit-bearing checksum verbs as verbs, and nothing else with digits", () => {
  for (const line of ["XMD5 file", "xsha1 file", "XSHA256 a b", "XSHA512"]) {
    const parsed = parseCommand(line);
    assert.ok(parsed.ok, line);
    assert.equal(parsed.command.verb, line.split(" ")[0]!.toUpperCase());
  }
  for (const line of ["XSHA2 x", "XMD55 x", "X5 x", "XSHA256X", "ＸMD5 x"]) {
    assert.deepEqual(parseCommand(line), { ok: false, reason: "bad-verb" }, line);
  }
});
