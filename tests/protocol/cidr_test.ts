import assert from "node:assert/strict";
import fc from "fast-check";
import { isIPv6 } from "node:net";
import {
  cidrContains,
  CidrList,
  formatIpAddress,
  parseCidr,
  parseIpAddress,
} from "../../protocol/cidr.ts";

Deno.test("parseIpAddress() reads IPv4 and IPv6 literals and refuses the rest", () => {
  assert.deepEqual(parseIpAddress("10.1.2.3")?.bytes, new Uint8Array([10, 1, 2, 3]));
  assert.equal(parseIpAddress("::1")?.family, 6);
  assert.equal(parseIpAddress("[::1]")?.family, 6);
  assert.deepEqual(
    parseIpAddress("::ffff:1.2.3.4")?.bytes,
    new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]),
  );
  for (const bad of ["", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.0.0.1", "1::2::3", "fe80::1%lo"]) {
    assert.equal(parseIpAddress(bad), undefined, bad);
  }
  assert.equal(parseIpAddress("1:2:3:4:5:6:7:8:9"), undefined);
  assert.equal(parseIpAddress("example.com"), undefined);
});

Deno.test("formatIpAddress() writes RFC 5952 text that parses back to the same bytes", () => {
  assert.equal(formatIpAddress(parseIpAddress("2001:db8:0:0:0:0:2:1")!.bytes), "2001:db8::2:1");
  assert.equal(
    formatIpAddress(parseIpAddress("2001:db8:0:1:1:1:1:1")!.bytes),
    "2001:db8:0:1:1:1:1:1",
  );
  assert.equal(formatIpAddress(new Uint8Array(16)), "::");
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const text = formatIpAddress(bytes);
      assert.ok(isIPv6(text), text);
      assert.deepEqual(parseIpAddress(text)?.bytes, bytes);
    }),
  );
  fc.assert(
    fc.property(fc.ipV6(), (text) => {
      const parsed = parseIpAddress(text);
      assert.ok(parsed, text);
      assert.deepEqual(parseIpAddress(formatIpAddress(parsed.bytes))?.bytes, parsed.bytes);
    }),
  );
  fc.assert(
    fc.property(
      fc.ipV4(),
      (text) => assert.equal(formatIpAddress(parseIpAddress(text)!.bytes), text),
    ),
  );
});

Deno.test("parseCidr() reads networks and refuses host bits, bad prefixes and non-addresses", () => {
  assert.equal(parseCidr("10.0.0.0/8").text, "10.0.0.0/8");
  assert.equal(parseCidr("127.0.0.1").prefix, 32);
  assert.equal(parseCidr("fd00::/8").prefix, 8);
  assert.equal(parseCidr("::/0").prefix, 0);
  for (
    const bad of ["10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08", "::/129", "x/8", "/8"]
  ) {
    assert.throws(() => parseCidr(bad), SyntaxError, bad);
  }
});

Deno.test("cidrContains() matches by prefix, IPv4-mapped addresses against IPv4 networks", () => {
  const net = parseCidr("10.0.0.0/8");
  assert.ok(cidrContains(net, "10.255.1.2"));
  assert.ok(cidrContains(net, "::ffff:10.1.2.3"));
  assert.ok(!cidrContains(net, "11.0.0.1"));
  assert.ok(!cidrContains(net, "::1"));
  assert.ok(!cidrContains(net, "not an address"));
  assert.ok(cidrContains(parseCidr("192.168.1.128/25"), "192.168.1.200"));
  assert.ok(!cidrContains(parseCidr("192.168.1.128/25"), "192.168.1.127"));
  assert.ok(cidrContains(parseCidr("2001:db8::/32"), "2001:db8:ffff::1"));
  assert.ok(!cidrContains(parseCidr("2001:db8::/32"), "2001:db9::1"));
  assert.ok(cidrContains(parseCidr("0.0.0.0/0"), "203.0.113.9"));
  assert.ok(!cidrContains(parseCidr("::1"), "127.0.0.1"));
});

Deno.test("cidrContains() agrees with a bit-by-bit comparison for any IPv4 network and address", () => {
  fc.assert(
    fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), (base, probe, prefix) => {
      const bytes = parseIpAddress(base)!.bytes;
      const value = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      const network = (value & mask) >>> 0;
      const text = [network >>> 24, (network >>> 16) & 255, (network >>> 8) & 255, network & 255]
        .join(".");
      const p = parseIpAddress(probe)!.bytes;
      const probeValue = ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
      const expected = ((probeValue & mask) >>> 0) === network;
      assert.equal(cidrContains(parseCidr(`${text}/${prefix}`), probe), expected);
    }),
  );
});

Deno.test("CidrList.has() is true when any network matches", () => {
  const list = CidrList.parse(["127.0.0.1/32", "fd00::/8"]);
  assert.ok(list.has("127.0.0.1"));
  assert.ok(list.has("fd12::5"));
  assert.ok(!list.has("127.0.0.3"));
  assert.throws(() => CidrList.parse(["nope"]), SyntaxError);
});
