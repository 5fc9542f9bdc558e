import assert from "node:assert/strict";
import { CrlfToLf, crlfToLfStream, LfToCrlf, lfToCrlfStream } from "../../protocol/type_a.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Runs `chunks` through a fresh converter (plus flush, if it has one) and returns the text. */
function run(converter: LfToCrlf | CrlfToLf, chunks: string[]): string {
  const parts = chunks.map((chunk) => decoder.decode(converter.convert(encoder.encode(chunk))));
  if (converter instanceof CrlfToLf) parts.push(decoder.decode(converter.flush()));
  return parts.join("");
}

/** Checks `input` gives `expected` whole, one character at a time, and split at every position. */
function assertConverts(make: () => LfToCrlf | CrlfToLf, input: string, expected: string): void {
  assert.equal(run(make(), [input]), expected, "whole");
  assert.equal(run(make(), [...input]), expected, "char by char");
  for (let at = 0; at <= input.length; at++) {
    assert.equal(run(make(), [input.slice(0, at), input.slice(at)]), expected, `split at ${at}`);
  }
}

async function pipe(stream: TransformStream<Uint8Array, Uint8Array>, chunks: string[]) {
  const source = ReadableStream.from(chunks.map((chunk) => encoder.encode(chunk)));
  const out: Uint8Array[] = [];
  for await (const chunk of source.pipeThrough(stream)) out.push(chunk);
  return out;
}

/** A seeded generator, so a failing case can be reproduced. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

Deno.test("LfToCrlf turns LF into CRLF", () => {
  assertConverts(() => new LfToCrlf(), "a\nb\n\nc", "a\r\nb\r\n\r\nc");
  assertConverts(() => new LfToCrlf(), "\n", "\r\n");
});

Deno.test("LfToCrlf does not double an existing CRLF", () => {
  assertConverts(() => new LfToCrlf(), "a\r\nb\n", "a\r\nb\r\n");
  assertConverts(() => new LfToCrlf(), "\r\n\r\n", "\r\n\r\n");
});

Deno.test("LfToCrlf handles a CRLF split across chunks", () => {
  const converter = new LfToCrlf();
  assert.equal(decoder.decode(converter.convert(encoder.encode("a\r"))), "a\r");
  assert.equal(decoder.decode(converter.convert(encoder.encode("\nb\n"))), "\nb\r\n");
  // An empty chunk between keeps the state.
  const gap = new LfToCrlf();
  assert.equal(run(gap, ["a\r", "", "\n"]), "a\r\n");
});

Deno.test("LfToCrlf keeps a bare CR", () => {
  assertConverts(() => new LfToCrlf(), "a\rb\r", "a\rb\r");
  assertConverts(() => new LfToCrlf(), "\r\r\n", "\r\r\n");
});

Deno.test("LfToCrlf passes text without LF through unchanged", () => {
  assertConverts(() => new LfToCrlf(), "", "");
  assertConverts(() => new LfToCrlf(), "plain text", "plain text");
});

Deno.test("CrlfToLf turns CRLF into LF", () => {
  assertConverts(() => new CrlfToLf(), "a\r\nb\r\n\r\nc", "a\nb\n\nc");
});

Deno.test("CrlfToLf handles a CRLF split across chunks", () => {
  const converter = new CrlfToLf();
  assert.equal(decoder.decode(converter.convert(encoder.encode("a\r"))), "a");
  assert.equal(decoder.decode(converter.convert(encoder.encode(""))), "");
  assert.equal(decoder.decode(converter.convert(encoder.encode("\nb"))), "\nb");
  assert.equal(converter.flush().length, 0);
});

Deno.test("CrlfToLf keeps a bare CR and LF", () => {
  assertConverts(() => new CrlfToLf(), "a\rb\nc", "a\rb\nc");
  assertConverts(() => new CrlfToLf(), "\r\r\n", "\r\n");
  assertConverts(() => new CrlfToLf(), "\r\r\r", "\r\r\r");
});

Deno.test("CrlfToLf returns a CR held at the end on flush", () => {
  const converter = new CrlfToLf();
  assert.equal(decoder.decode(converter.convert(encoder.encode("end\r"))), "end");
  assert.deepEqual([...converter.flush()], [13]);
  assert.equal(converter.flush().length, 0);
});

Deno.test("CrlfToLf(LfToCrlf(x)) is x for random text without CR", () => {
  const next = random(959);
  const alphabet = ["a", "b", " ", "\n", "\n", "é", "\u00ff"];
  for (let round = 0; round < 300; round++) {
    const length = Math.floor(next() * 60);
    let text = "";
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)];
    const bytes = encoder.encode(text);
    // Random chunking on both sides.
    const chunk = (data: Uint8Array): Uint8Array[] => {
      const chunks: Uint8Array[] = [];
      let at = 0;
      while (at < data.length) {
        const size = 1 + Math.floor(next() * 8);
        chunks.push(data.subarray(at, at + size));
        at += size;
      }
      return chunks;
    };
    const toNetwork = new LfToCrlf();
    const network = concat(chunk(bytes).map((part) => toNetwork.convert(part)));
    assert.ok(!/(^|[^\r])\n/.test(decoder.decode(network)), "no bare LF on the network side");
    const toLocal = new CrlfToLf();
    const local = concat([...chunk(network).map((part) => toLocal.convert(part)), toLocal.flush()]);
    assert.equal(decoder.decode(local), text, JSON.stringify(text));
  }
});

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

Deno.test("lfToCrlfStream() converts a stream, across chunk borders", async () => {
  const out = await pipe(lfToCrlfStream(), ["line one\nline", " two\r", "\nthree\n"]);
  assert.equal(decoder.decode(concat(out)), "line one\r\nline two\r\nthree\r\n");
});

Deno.test("crlfToLfStream() converts a stream and emits a trailing CR on close", async () => {
  const out = await pipe(crlfToLfStream(), ["a\r", "\nb\r", "\r", "\nc\r"]);
  assert.equal(decoder.decode(concat(out)), "a\nb\r\nc\r");
  assert.ok(out.every((chunk) => chunk.length > 0), "no empty chunks");
});

Deno.test("crlfToLfStream() of an empty stream is empty", async () => {
  assert.deepEqual(await pipe(crlfToLfStream(), []), []);
});
