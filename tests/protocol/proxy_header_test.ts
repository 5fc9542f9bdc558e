import assert from "node:assert/strict";
import fc from "fast-check";
import {
  formatProxyHeader,
  MAX_V1_LENGTH,
  parseProxyHeader,
  type ProxyHeader,
  ProxyHeaderError,
  type ProxyParse,
  V2_SIGNATURE,
} from "../../protocol/proxy_header.ts";
import { formatIpAddress, parseIpAddress } from "../../protocol/cidr.ts";

const encoder = new TextEncoder();

/** Feeds `bytes` the way a reader would: only as many bytes as the parser asks for. */
function feed(bytes: Uint8Array): { result: ProxyParse; consumed: number } {
  let have = 0;
  for (;;) {
    const result = parseProxyHeader(bytes.subarray(0, have));
    if (result.done) return { result, consumed: have };
    assert.ok(result.need >= 1);
    if (have >= bytes.length) return { result, consumed: have };
    have = Math.min(bytes.length, have + result.need);
  }
}

function header(bytes: Uint8Array): ProxyHeader {
  const { result } = feed(bytes);
  assert.ok(result.done, "header incomplete");
  return result.header;
}

Deno.test("parseProxyHeader() reads v1 TCP4, TCP6 and UNKNOWN lines", () => {
  const tcp4 = header(encoder.encode("PROXY TCP4 192.0.2.7 10.0.0.1 51000 21\r\nUSER x\r\n"));
  assert.deepEqual(tcp4, {
    version: 1,
    command: "proxy",
    family: 4,
    source: { address: "192.0.2.7", port: 51000 },
    destination: { address: "10.0.0.1", port: 21 },
    length: 40,
  });
  const tcp6 = header(encoder.encode("PROXY TCP6 2001:db8::7 ::1 65535 0\r\n"));
  assert.equal(tcp6.family, 6);
  assert.deepEqual(tcp6.source, { address: "2001:db8::7", port: 65535 });
  assert.deepEqual(header(encoder.encode("PROXY UNKNOWN\r\n")), {
    version: 1,
    command: "local",
    length: 15,
  });
  assert.equal(header(encoder.encode("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n")).command, "local");
});

Deno.test("parseProxyHeader() refuses malformed v1 lines", () => {
  const bad = [
    "GET / HTTP/1.0\r\n",
    "PROXY TCP4 192.0.2.7 10.0.0.1 51000\r\n",
    "PROXY TCP4 192.0.2.7 10.0.0.1 51000 21 extra\r\n",
    "PROXY TCP4 192.0.2.7  10.0.0.1 51000 21\r\n",
    "PROXY TCP4 ::1 ::1 1 2\r\n",
    "PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n",
    "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n",
    "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n",
    "PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n",
    "PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n",
    "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX",
    "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n",
    "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n",
  ];
  for (const line of bad) {
    assert.throws(() => feed(encoder.encode(line)), ProxyHeaderError, JSON.stringify(line));
  }
});

Deno.test("parseProxyHeader() refuses a v1 line that reaches 108 bytes without CRLF", () => {
  const longest = `PROXY UNKNOWN ${"x".repeat(MAX_V1_LENGTH - 16)}\r\n`;
  assert.equal(longest.length, MAX_V1_LENGTH);
  assert.equal(header(encoder.encode(longest)).length, MAX_V1_LENGTH);
  const over = `PROXY UNKNOWN ${"x".repeat(MAX_V1_LENGTH - 15)}\r\n`;
  assert.throws(() => feed(encoder.encode(over)), /longer than 107/);
  assert.throws(() => feed(encoder.encode(`PROXY ${"x".repeat(500)}`)), /longer than 107/);
});

function v2(command: number, familyProtocol: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + payload.length);
  out.set(V2_SIGNATURE);
  out[12] = 0x20 | command;
  out[13] = familyProtocol;
  out[14] = payload.length >> 8;
  out[15] = payload.length & 255;
  out.set(payload, 16);
  return out;
}

Deno.test("parseProxyHeader() reads v2 PROXY (IPv4, IPv6, with TLVs) and LOCAL headers", () => {
  const ipv4 = v2(1, 0x11, new Uint8Array([192, 0, 2, 7, 10, 0, 0, 1, 0xc7, 0x38, 0, 21]));
  assert.deepEqual(header(ipv4), {
    version: 2,
    command: "proxy",
    family: 4,
    source: { address: "192.0.2.7", port: 51000 },
    destination: { address: "10.0.0.1", port: 21 },
    length: 28,
  });
  const six = new Uint8Array(36 + 7);
  six.set(parseIpAddress("2001:db8::7")!.bytes, 0);
  six.set(parseIpAddress("::1")!.bytes, 16);
  six.set([0, 80, 1, 0], 32);
  six.set([0x04, 0x00, 0x04, 1, 2, 3, 4], 36); // a NOOP TLV, skipped
  const parsed = header(v2(1, 0x21, six));
  assert.equal(parsed.source?.address, "2001:db8::7");
  assert.equal(parsed.destination?.port, 256);
  assert.equal(parsed.length, 16 + 43);
  assert.deepEqual(header(v2(0, 0x00, new Uint8Array())), {
    version: 2,
    command: "local",
    length: 16,
  });
  assert.equal(header(v2(1, 0x00, new Uint8Array())).command, "local"); // UNSPEC
  assert.equal(header(v2(1, 0x31, new Uint8Array(216))).command, "local"); // UNIX
  assert.equal(header(v2(0, 0x11, new Uint8Array(12))).command, "local"); // LOCAL with addresses
});

Deno.test("parseProxyHeader() refuses bad v2 headers and bounds their length", () => {
  const ok = v2(1, 0x11, new Uint8Array(12));
  const cases: [string, Uint8Array][] = [
    [
      "version 1 in the binary form",
      (() => {
        const b = ok.slice();
        b[12] = 0x11;
        return b;
      })(),
    ],
    ["command 2", v2(2, 0x11, new Uint8Array(12))],
    ["family 4", v2(1, 0x41, new Uint8Array(12))],
    ["protocol 3", v2(1, 0x13, new Uint8Array(12))],
    ["datagram", v2(1, 0x12, new Uint8Array(12))],
    ["short IPv4 block", v2(1, 0x11, new Uint8Array(11))],
    ["short IPv6 block", v2(1, 0x21, new Uint8Array(35))],
    ["oversized", v2(1, 0x11, new Uint8Array(216 + 257))],
    [
      "bad signature",
      (() => {
        const b = ok.slice();
        b[7] = 0;
        return b;
      })(),
    ],
  ];
  for (const [name, bytes] of cases) assert.throws(() => feed(bytes), ProxyHeaderError, name);
  // The length is checked from the fixed part alone: nothing more need be read.
  const claim = v2(1, 0x11, new Uint8Array(0));
  claim[14] = 0xff;
  claim[15] = 0xff;
  assert.throws(() => parseProxyHeader(claim), /over the 472-byte bound/);
  assert.equal(header(v2(1, 0x11, new Uint8Array(12 + 256))).length, 16 + 268);
});

Deno.test("parseProxyHeader() never asks for bytes past the header", () => {
  const body = encoder.encode("USER alice\r\n");
  const headers = [
    encoder.encode("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
    encoder.encode("PROXY UNKNOWN\r\n"),
    v2(1, 0x11, new Uint8Array(12)),
    v2(0, 0x00, new Uint8Array()),
  ];
  for (const head of headers) {
    const joined = new Uint8Array(head.length + body.length);
    joined.set(head);
    joined.set(body, head.length);
    const { result, consumed } = feed(joined);
    assert.ok(result.done);
    assert.equal(consumed, head.length);
    assert.equal(result.header.length, head.length);
  }
});

const endpoint4 = fc.record({ address: fc.ipV4(), port: fc.integer({ min: 0, max: 65535 }) });
const endpoint6 = fc.record({
  address: fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIpAddress),
  port: fc.integer({ min: 0, max: 65535 }),
});

Deno.test("formatProxyHeader() output parses back to the same endpoints (v1 and v2)", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.tuple(endpoint4, endpoint4), fc.tuple(endpoint6, endpoint6)),
      fc.constantFrom(1 as const, 2 as const),
      ([source, destination], version) => {
        const bytes = formatProxyHeader(source, destination, { version });
        if (version === 1) assert.ok(bytes.length <= MAX_V1_LENGTH);
        const parsed = header(bytes);
        assert.equal(parsed.version, version);
        assert.equal(parsed.length, bytes.length);
        assert.deepEqual(parsed.source, { ...source });
        assert.deepEqual(parsed.destination, { ...destination });
      },
    ),
  );
});

Deno.test("parseProxyHeader() on any bytes returns a bounded answer or a ProxyHeaderError", () => {
  const nearHeader = fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc.tuple(
      fc.constantFrom(encoder.encode("PROXY "), V2_SIGNATURE),
      fc.uint8Array({ maxLength: 600 }),
    )
      .map(([head, tail]) => {
        const out = new Uint8Array(head.length + tail.length);
        out.set(head);
        out.set(tail, head.length);
        return out;
      }),
    fc.tuple(
      fc.oneof(endpoint4.map((e) => [e, e]), endpoint6.map((e) => [e, e])),
      fc.nat(),
      fc.nat(255),
      fc.constantFrom(1 as const, 2 as const),
    )
      .map(([[a, b], at, value, version]) => {
        const bytes = formatProxyHeader(a!, b!, { version }).slice();
        bytes[at % bytes.length] = value; // one byte changed
        return bytes;
      }),
  );
  fc.assert(
    fc.property(nearHeader, (bytes) => {
      for (let cut = 0; cut <= bytes.length; cut++) {
        let result: ProxyParse;
        try {
          result = parseProxyHeader(bytes.subarray(0, cut));
        } catch (error) {
          assert.ok(error instanceof ProxyHeaderError);
          return;
        }
        if (result.done) {
          assert.ok(result.header.length <= cut);
          assert.ok(result.header.length <= 16 + 216 + 256);
          return;
        }
        assert.ok(result.need >= 1);
        assert.ok(cut + result.need <= 16 + 216 + 256, "never asks past the bound");
      }
    }),
    { numRuns: 300 },
  );
});
