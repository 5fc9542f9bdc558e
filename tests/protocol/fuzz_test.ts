import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CommandLineReader,
  formatCommand,
  type LineEvent,
  parseCommand,
} from "../../protocol/command.ts";
import { formatReply, ReplyParser } from "../../protocol/reply.ts";
import { CrlfToLf, LfToCrlf } from "../../protocol/type_a.ts";
import { resolveVirtualPath } from "../../protocol/virtual_path.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes biased towards the ones the reader treats specially: LF, CR and the Telnet commands. */
const interestingByte = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 2, arbitrary: fc.constantFrom(10, 13, 255, 250, 240, 251, 254, 244, 242) },
  { weight: 3, arbitrary: fc.constantFrom(0x41, 0x42, 0x20) },
);
const byteArrays = fc.array(interestingByte, { maxLength: 400 }).map((bytes) =>
  Uint8Array.from(bytes)
);
/** Cut points for splitting an input into chunks. */
const cuts = fc.array(fc.nat(), { maxLength: 40 });
const caps = fc.integer({ min: 1, max: 40 });

function byNumber(a: number, b: number): number {
  return a - b;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Splits `data` at the cut points (taken modulo its length plus one); chunks may be empty. */
function chunked(data: Uint8Array, points: number[]): Uint8Array[] {
  const sorted = [...new Set(points.map((point) => point % (data.length + 1)))].sort(byNumber);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...sorted, data.length]) {
    chunks.push(data.subarray(start, point));
    start = point;
  }
  return chunks;
}

function show(events: LineEvent[]): (number[] | "overlong")[] {
  return events.map((event) => event.kind === "line" ? [...event.bytes] : "overlong");
}

/** A model of the reader for input without IAC: split on LF, drop one CR, cap the length. */
function model(data: Uint8Array, cap: number): (number[] | "overlong")[] {
  const events: (number[] | "overlong")[] = [];
  let line: number[] = [];
  for (const byte of data) {
    if (byte !== 10) {
      line.push(byte);
      continue;
    }
    if (line.at(-1) === 13) line.pop();
    events.push(line.length > cap ? "overlong" : line);
    line = [];
  }
  // A line is reported overlong as soon as it passes the cap, LF or not (a CR
  // at the very end may still end the line, so it does not count yet).
  if (line.length - (line.at(-1) === 13 ? 1 : 0) > cap) events.push("overlong");
  return events;
}

Deno.test("CommandLineReader gives the same events for any chunking, never throws and stays under its cap", () => {
  fc.assert(
    fc.property(byteArrays, cuts, caps, (data, points, cap) => {
      const whole = show(new CommandLineReader({ maxLineLength: cap }).push(data));
      const reader = new CommandLineReader({ maxLineLength: cap });
      const events: LineEvent[] = [];
      for (const chunk of chunked(data, points)) {
        events.push(...reader.push(chunk));
        assert.ok(reader.buffered <= cap, `buffered ${reader.buffered} > ${cap}`);
      }
      assert.deepEqual(show(events), whole);
      for (const event of events) {
        if (event.kind === "line") assert.ok(event.bytes.length <= cap);
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("CommandLineReader fed byte by byte never buffers more than its cap", () => {
  fc.assert(
    fc.property(byteArrays, caps, (data, cap) => {
      const reader = new CommandLineReader({ maxLineLength: cap });
      for (let i = 0; i < data.length; i++) {
        reader.push(data.subarray(i, i + 1));
        assert.ok(reader.buffered <= cap, `buffered ${reader.buffered} > ${cap}`);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("CommandLineReader matches a simple line splitter on input without Telnet commands", () => {
  const plain = fc.array(fc.constantFrom(10, 13, 0x41, 0x20, 0xc3, 0x00), { maxLength: 200 })
    .map((bytes) => Uint8Array.from(bytes));
  fc.assert(
    fc.property(plain, cuts, caps, (data, points, cap) => {
      const reader = new CommandLineReader({ maxLineLength: cap });
      const events = chunked(data, points).flatMap((chunk) => reader.push(chunk));
      assert.deepEqual(show(events), model(data, cap));
    }),
    { numRuns: 500 },
  );
});

Deno.test("parseCommand() never throws on random strings or bytes", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ unit: "binary" }), fc.string(), fc.uint8Array({ maxLength: 200 })),
      (line) => {
        const parsed = parseCommand(line);
        if (parsed.ok) {
          assert.match(parsed.command.verb, /^[A-Z]{3,4}$|^X(MD5|SHA1|SHA256|SHA512)$/);
          assert.doesNotMatch(parsed.command.argument, /[\r\n\0]/);
        }
      },
    ),
  );
});

Deno.test("parseCommand() accepts only an ASCII verb, whatever upper-casing would make of it", () => {
  // "ſ", "ı" and "ﬆ" upper-case to ASCII letters; the Kelvin sign lower-cases to "k".
  const letters = fc.constantFrom("s", "T", "o", "R", "i", "ſ", "ı", "ﬆ", "\u212a", "ß", " ");
  fc.assert(
    fc.property(fc.string({ unit: letters, maxLength: 8 }), (line) => {
      const parsed = parseCommand(line);
      if (parsed.ok) assert.match(line.slice(0, parsed.command.verb.length), /^[A-Za-z]{3,4}$/);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("parseCommand() reads back any command formatCommand() accepts", () => {
  const verbs = fc.stringMatching(/^[A-Za-z]{3,4}$/);
  const argumentText = fc.string({ unit: "binary" }).filter((text) => !/[\r\n\0]/.test(text));
  fc.assert(
    fc.property(verbs, argumentText, (verb, argument) => {
      const wire = formatCommand(verb, argument);
      const [event] = new CommandLineReader({ maxLineLength: 1 << 20 }).push(encoder.encode(wire));
      assert.ok(event?.kind === "line");
      const parsed = parseCommand(event.bytes);
      assert.deepEqual(parsed, { ok: true, command: { verb: verb.toUpperCase(), argument } });
    }),
  );
});

Deno.test("resolveVirtualPath() always gives an absolute path without '..' segments", () => {
  const pathText = fc.oneof(
    fc.string({ unit: fc.constantFrom("/", "\\", ".", ".", "a", "b", " ") }),
    fc.string({ unit: "binary" }),
  ).filter((text) => !/[\0\r\n]/.test(text));
  fc.assert(
    fc.property(pathText, pathText, (cwdInput, input) => {
      const cwd = resolveVirtualPath("/", cwdInput);
      const resolved = resolveVirtualPath(cwd, input);
      for (const path of [cwd, resolved]) {
        assert.ok(path.startsWith("/"), path);
        assert.ok(!path.split("/").includes(".."), path);
        assert.ok(!path.split("/").includes("."), path);
        assert.ok(!path.includes("\\") && !path.includes("//"), path);
        assert.ok(path === "/" || !path.endsWith("/"), path);
      }
      assert.equal(resolveVirtualPath("/", resolved), resolved, "idempotent");
    }),
    { numRuns: 1000 },
  );
});

Deno.test("formatReply() output parses back as exactly one reply in any chunking", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 100, max: 599 }),
      fc.array(fc.string({ unit: "binary" }), { minLength: 1, maxLength: 6 }),
      cuts,
      (code, lines, points) => {
        const wire = formatReply(code, lines);
        const parser = new ReplyParser();
        // Split the text at positions taken from the cut points.
        const replies = [];
        let start = 0;
        for (const point of [...new Set(points.map((p) => p % (wire.length + 1)))].sort(byNumber)) {
          replies.push(...parser.push(wire.slice(start, point)));
          start = point;
        }
        replies.push(...parser.push(wire.slice(start)));
        assert.equal(replies.length, 1, JSON.stringify(wire));
        assert.equal(replies[0]?.code, code);
        assert.equal(replies[0]?.lines.length, lines.length);
        assert.equal(parser.incomplete, false);
      },
    ),
  );
});

Deno.test("CrlfToLf(LfToCrlf(x)) is x for any text without CR, in any chunking", () => {
  const text = fc.string({ unit: fc.constantFrom("a", "\n", "é", " ", "\u00ff") });
  fc.assert(
    fc.property(text, cuts, cuts, (input, first, second) => {
      const toNetwork = new LfToCrlf();
      const network = concat(
        chunked(encoder.encode(input), first).map((c) => toNetwork.convert(c)),
      );
      assert.doesNotMatch(decoder.decode(network), /(^|[^\r])\n/);
      const toLocal = new CrlfToLf();
      const local = chunked(network, second).map((chunk) => toLocal.convert(chunk));
      local.push(toLocal.flush());
      assert.equal(decoder.decode(concat(local)), input);
    }),
  );
});
