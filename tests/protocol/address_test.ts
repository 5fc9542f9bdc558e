import assert from "node:assert/strict";
import {
  formatEprtArgument,
  formatEpsvReplyText,
  formatPasvReplyText,
  formatPortArgument,
  normalizeHost,
  parseEprtArgument,
  parseEpsvArgument,
  parseEpsvReply,
  parsePasvReply,
  parsePortArgument,
  UnsupportedProtocolError,
} from "../../protocol/address.ts";

Deno.test("parsePortArgument() decodes six bytes into host and port", () => {
  const cases: [string, string, number][] = [
    ["192,168,1,2,4,1", "192.168.1.2", 1025],
    ["127,0,0,1,0,21", "127.0.0.1", 21],
    ["0,0,0,0,255,255", "0.0.0.0", 65535],
    ["10, 0, 0, 1, 1, 0", "10.0.0.1", 256],
    ["010,001,000,001,000,001", "10.1.0.1", 1],
  ];
  for (const [arg, host, port] of cases) {
    assert.deepEqual(parsePortArgument(arg), { host, port, family: 4 }, arg);
  }
});

Deno.test("parsePortArgument() throws SyntaxError on bad input", () => {
  for (
    const arg of [
      "",
      "1,2,3,4,5",
      "1,2,3,4,5,6,7",
      "256,0,0,1,4,1",
      "1,2,3,4,5,256",
      "1,2,3,4,0,0",
      "a,b,c,d,e,f",
      "1,2,3,4,-1,2",
      "1,2,3,4,5,",
      "1.2.3.4,5,6",
      "1234,2,3,4,5,6",
    ]
  ) {
    assert.throws(() => parsePortArgument(arg), SyntaxError, arg);
  }
});

Deno.test("formatPortArgument() encodes IPv4 and IPv4-mapped hosts", () => {
  assert.equal(formatPortArgument({ host: "192.168.1.2", port: 1025 }), "192,168,1,2,4,1");
  assert.equal(formatPortArgument({ host: "::ffff:127.0.0.1", port: 21 }), "127,0,0,1,0,21");
  assert.equal(formatPortArgument({ host: "::FFFF:7f00:1", port: 65535 }), "127,0,0,1,255,255");
});

Deno.test("formatPortArgument() throws RangeError for IPv6, hostnames and bad ports", () => {
  assert.throws(() => formatPortArgument({ host: "::1", port: 21 }), RangeError);
  assert.throws(() => formatPortArgument({ host: "2001:db8::1", port: 21 }), RangeError);
  assert.throws(() => formatPortArgument({ host: "example.com", port: 21 }), RangeError);
  for (const port of [0, -1, 65536, 1.5, NaN]) {
    assert.throws(() => formatPortArgument({ host: "1.2.3.4", port }), RangeError, String(port));
  }
});

Deno.test("formatPortArgument() round-trips through parsePortArgument()", () => {
  for (const port of [1, 255, 256, 1025, 50000, 65535]) {
    const hp = { host: "203.0.113.7", port, family: 4 as const };
    assert.deepEqual(parsePortArgument(formatPortArgument(hp)), hp);
  }
});

Deno.test("formatPasvReplyText() writes the RFC 959 227 text", () => {
  assert.equal(
    formatPasvReplyText({ host: "127.0.0.1", port: 1025 }),
    "Entering Passive Mode (127,0,0,1,4,1).",
  );
  assert.throws(() => formatPasvReplyText({ host: "::1", port: 1025 }), RangeError);
});

Deno.test("parsePasvReply() finds the numbers with or without parentheses", () => {
  const cases: [string, string, number][] = [
    ["Entering Passive Mode (127,0,0,1,4,1).", "127.0.0.1", 1025],
    ["227 Entering Passive Mode (192,168,1,2,195,80)", "192.168.1.2", 50000],
    ["Entering Passive Mode 10,0,0,5,39,16", "10.0.0.5", 10000],
    ["=10,0,0,5,39,16", "10.0.0.5", 10000],
    ["Entering Passive Mode (10, 0, 0, 5, 39, 16)", "10.0.0.5", 10000],
    ["Passive (0,0,0,0,4,1) ok", "0.0.0.0", 1025],
  ];
  for (const [text, host, port] of cases) {
    assert.deepEqual(parsePasvReply(text), { host, port, family: 4 }, text);
  }
});

Deno.test("parsePasvReply() throws SyntaxError when no host-port is found", () => {
  for (
    const text of [
      "",
      "Entering Passive Mode",
      "Entering Passive Mode (1,2,3,4,5)",
      "(300,0,0,1,4,1)",
      "(1,2,3,4,0,0)",
    ]
  ) {
    assert.throws(() => parsePasvReply(text), SyntaxError, text);
  }
});

Deno.test("formatPasvReplyText() round-trips through parsePasvReply()", () => {
  const hp = { host: "198.51.100.20", port: 40001, family: 4 as const };
  assert.deepEqual(parsePasvReply(formatPasvReplyText(hp)), hp);
});

Deno.test("parseEprtArgument() decodes IPv4 and IPv6 with any delimiter", () => {
  const cases: [string, string, number, 4 | 6][] = [
    ["|1|132.235.1.2|6275|", "132.235.1.2", 6275, 4],
    ["|2|1080::8:800:200C:417A|5282|", "1080::8:800:200C:417A", 5282, 6],
    ["|2|::1|5282|", "::1", 5282, 6],
    ["!1!10.0.0.1!21!", "10.0.0.1", 21, 4],
    ["~2~::ffff:1.2.3.4~65535~", "::ffff:1.2.3.4", 65535, 6],
    ["#1#127.0.0.1#1#", "127.0.0.1", 1, 4],
  ];
  for (const [arg, host, port, family] of cases) {
    assert.deepEqual(parseEprtArgument(arg), { host, port, family }, arg);
  }
});

Deno.test("parseEprtArgument() throws UnsupportedProtocolError for other protocols", () => {
  for (const arg of ["|3|1.2.3.4|21|", "|0|1.2.3.4|21|", "|22|::1|21|"]) {
    assert.throws(
      () => parseEprtArgument(arg),
      (error: unknown) =>
        error instanceof UnsupportedProtocolError && error.supported === "(1,2)" &&
        error.name === "UnsupportedProtocolError",
      arg,
    );
  }
});

Deno.test("parseEprtArgument() throws SyntaxError on malformed input", () => {
  for (
    const arg of [
      "",
      "1|1|1.2.3.4|21|",
      " |1|1.2.3.4|21|",
      "|1|1.2.3.4|21",
      "|1|1.2.3.4|21|x",
      "|x|1.2.3.4|21|",
      "||1.2.3.4|21|",
      "|1|::1|21|",
      "|2|1.2.3.4|21|",
      "|1|256.1.1.1|21|",
      "|1|example.com|21|",
      "|1|1.2.3.4|0|",
      "|1|1.2.3.4|65536|",
      "|1|1.2.3.4|port|",
      "|1|1.2.3.4||",
      ":2:::1:21:",
    ]
  ) {
    assert.throws(() => parseEprtArgument(arg), SyntaxError, JSON.stringify(arg));
  }
});

Deno.test("formatEprtArgument() picks the family from the host", () => {
  assert.equal(formatEprtArgument({ host: "132.235.1.2", port: 6275 }), "|1|132.235.1.2|6275|");
  assert.equal(formatEprtArgument({ host: "::1", port: 5282 }), "|2|::1|5282|");
  assert.equal(formatEprtArgument({ host: "[::1]", port: 5282 }), "|2|::1|5282|");
  assert.equal(formatEprtArgument({ host: "::ffff:1.2.3.4", port: 21 }), "|1|1.2.3.4|21|");
  assert.equal(
    formatEprtArgument({ host: "::ffff:1.2.3.4", port: 21, family: 6 }),
    "|2|::ffff:1.2.3.4|21|",
  );
  assert.equal(formatEprtArgument({ host: "1.2.3.4", port: 21, family: 4 }), "|1|1.2.3.4|21|");
});

Deno.test("formatEprtArgument() throws RangeError on mismatched family or bad port", () => {
  assert.throws(() => formatEprtArgument({ host: "::1", port: 21, family: 4 }), RangeError);
  assert.throws(() => formatEprtArgument({ host: "1.2.3.4", port: 21, family: 6 }), RangeError);
  assert.throws(() => formatEprtArgument({ host: "example.com", port: 21 }), RangeError);
  assert.throws(() => formatEprtArgument({ host: "::1", port: 0 }), RangeError);
  assert.throws(() => formatEprtArgument({ host: "::1", port: 70000 }), RangeError);
});

Deno.test("formatEprtArgument() round-trips through parseEprtArgument()", () => {
  const cases = [
    { host: "10.1.2.3", port: 1, family: 4 as const },
    { host: "2001:db8::1", port: 65535, family: 6 as const },
    { host: "fe80::1", port: 2121, family: 6 as const },
  ];
  for (const hp of cases) assert.deepEqual(parseEprtArgument(formatEprtArgument(hp)), hp);
});

Deno.test("formatEpsvReplyText() writes the RFC 2428 229 text", () => {
  assert.equal(formatEpsvReplyText(6446), "Entering Extended Passive Mode (|||6446|)");
  for (const port of [0, 65536, 2.5]) {
    assert.throws(() => formatEpsvReplyText(port), RangeError, String(port));
  }
});

Deno.test("parseEpsvReply() extracts the port with any delimiter", () => {
  const cases: [string, number][] = [
    ["Entering Extended Passive Mode (|||6446|)", 6446],
    ["229 Entering Extended Passive Mode (|||6446|).", 6446],
    ["Entering Extended Passive Mode (!!!1!)", 1],
    ["EPSV ok (###65535#)", 65535],
    ["Extended Passive |||2121|", 2121],
  ];
  for (const [text, port] of cases) assert.equal(parseEpsvReply(text), port, text);
  assert.equal(parseEpsvReply(formatEpsvReplyText(40000)), 40000);
});

Deno.test("parseEpsvReply() throws SyntaxError when no valid port is found", () => {
  for (
    const text of [
      "",
      "Entering Extended Passive Mode",
      "Entering Extended Passive Mode (||6446|)",
      "Entering Extended Passive Mode (|||6446!)",
      "Entering Extended Passive Mode (|||0|)",
      "Entering Extended Passive Mode (|||70000|)",
      "Entering Extended Passive Mode (|||port|)",
    ]
  ) {
    assert.throws(() => parseEpsvReply(text), SyntaxError, text);
  }
});

Deno.test("parseEpsvArgument() accepts empty, ALL, 1 and 2", () => {
  assert.deepEqual(parseEpsvArgument(""), { kind: "any" });
  assert.deepEqual(parseEpsvArgument("  "), { kind: "any" });
  assert.deepEqual(parseEpsvArgument("ALL"), { kind: "all" });
  assert.deepEqual(parseEpsvArgument("all"), { kind: "all" });
  assert.deepEqual(parseEpsvArgument("All"), { kind: "all" });
  assert.deepEqual(parseEpsvArgument("1"), { kind: "family", family: 4 });
  assert.deepEqual(parseEpsvArgument("2"), { kind: "family", family: 6 });
});

Deno.test("parseEpsvArgument() rejects other protocols and garbage", () => {
  for (const arg of ["3", "0", "22", "01"]) {
    assert.throws(() => parseEpsvArgument(arg), UnsupportedProtocolError, arg);
  }
  for (const arg of ["x", "ALLX", "1.5", "-1", "|||1|"]) {
    assert.throws(() => parseEpsvArgument(arg), SyntaxError, arg);
  }
});

Deno.test("normalizeHost() unmaps IPv4-mapped addresses and strips brackets", () => {
  const cases: [string, string, 4 | 6][] = [
    ["127.0.0.1", "127.0.0.1", 4],
    ["::ffff:127.0.0.1", "127.0.0.1", 4],
    ["::FFFF:10.0.0.1", "10.0.0.1", 4],
    ["0:0:0:0:0:ffff:192.168.0.1", "192.168.0.1", 4],
    ["::ffff:c0a8:101", "192.168.1.1", 4],
    ["[::ffff:127.0.0.1]", "127.0.0.1", 4],
    ["::1", "::1", 6],
    ["[::1]", "::1", 6],
    ["2001:db8::ffff:1.2.3.4", "2001:db8::ffff:1.2.3.4", 6],
    ["fe80::1%eth0", "fe80::1%eth0", 6],
  ];
  for (const [input, host, family] of cases) {
    assert.deepEqual(normalizeHost(input), { host, family }, input);
  }
});

Deno.test("normalizeHost() throws SyntaxError for non-IP hosts", () => {
  for (const host of ["", "localhost", "1.2.3", "[1.2.3.4", "::ffff:300.1.1.1"]) {
    assert.throws(() => normalizeHost(host), SyntaxError, host);
  }
});
