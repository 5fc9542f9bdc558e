/**
 * IP addresses as bytes and CIDR networks ("10.0.0.0/8", "fd00::/8"): parsing
 * and matching, for `--proxy-trusted`, `--pasv-address-for` and per-user
 * address rules. IPv4-mapped IPv6 addresses ("::ffff:10.1.2.3") match IPv4
 * networks. Pure functions, no I/O.
 *
 * @module
 */

/** An IP address as its 4 (IPv4) or 16 (IPv6) bytes. */
export interface IpBytes {
  /** The address family. */
  family: 4 | 6;
  /** The address, network byte order. */
  bytes: Uint8Array;
}

/** A network: an address and how many leading bits of it count. */
export interface Cidr extends IpBytes {
  /** The prefix length, 0-32 (IPv4) or 0-128 (IPv6). */
  prefix: number;
  /** The network as written back (`10.0.0.0/8`). */
  text: string;
}

const _IPV4_PART = /^(?:0|[1-9]\d{0,2})$/;
const _HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function _parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!_IPV4_PART.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

function _parseGroups(text: string, allowIPv4Tail: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (allowIPv4Tail && i === parts.length - 1 && part.includes(".")) {
      const v4 = _parseIPv4(part);
      if (!v4) return undefined;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      continue;
    }
    if (!_HEX_GROUP.test(part)) return undefined;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

function _parseIPv6(text: string): Uint8Array | undefined {
  if (text.length > 45) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = _parseGroups(halves[0]!, false);
    const tail = _parseGroups(halves[1]!, true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = _parseGroups(text, true);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 255;
  });
  return bytes;
}

/**
 * Parses an IPv4 dotted quad (no leading zeros) or an IPv6 literal (no zone
 * id; brackets allowed); undefined for anything else.
 *
 * @example
 * ```ts
 * parseIpAddress("10.0.0.1"); // { family: 4, bytes: Uint8Array [10, 0, 0, 1] }
 * parseIpAddress("example.com"); // undefined
 * ```
 */
export function parseIpAddress(text: string): IpBytes | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (bare.includes(":")) {
    const bytes = _parseIPv6(bare);
    return bytes ? { family: 6, bytes } : undefined;
  }
  const bytes = _parseIPv4(bare);
  return bytes ? { family: 4, bytes } : undefined;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else undefined. */
function _unmapped(address: IpBytes): Uint8Array | undefined {
  if (address.family !== 6) return undefined;
  const b = address.bytes;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return undefined;
  return b[10] === 0xff && b[11] === 0xff ? b.subarray(12) : undefined;
}

/**
 * Formats address bytes as text: a dotted quad, or RFC 5952 IPv6 (lower
 * case, the longest run of two or more zero groups as "::").
 *
 * @example
 * ```ts
 * formatIpAddress(new Uint8Array([127, 0, 0, 1])); // "127.0.0.1"
 * ```
 * @throws {RangeError} If `bytes` is neither 4 nor 16 bytes long.
 */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  if (bytes.length !== 16) throw new RangeError(`Cannot format ${bytes.length} bytes as an IP`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/**
 * Parses a network in CIDR notation; a bare address is a network of one
 * (/32 or /128). Host bits set beyond the prefix are refused, so a typo
 * such as "10.0.0.1/8" is caught.
 *
 * @example
 * ```ts
 * parseCidr("10.0.0.0/8").prefix; // 8
 * parseCidr("::1").prefix; // 128
 * ```
 * @throws {SyntaxError} If the text is not an address with an optional valid prefix length.
 */
export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf("/");
  const addressText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const address = parseIpAddress(addressText);
  if (!address) throw new SyntaxError(`Cannot parse "${text}" as a network (ADDRESS/PREFIX)`);
  const bits = address.bytes.length * 8;
  let prefix = bits;
  if (slash >= 0) {
    const prefixText = trimmed.slice(slash + 1);
    if (!/^(?:0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
      throw new SyntaxError(`Cannot parse prefix length in "${text}" (0-${bits})`);
    }
    prefix = Number(prefixText);
  }
  for (let bit = prefix; bit < bits; bit++) {
    if (address.bytes[bit >> 3]! & (0x80 >> (bit & 7))) {
      throw new SyntaxError(`Network "${text}" has host bits set beyond /${prefix}`);
    }
  }
  return { ...address, prefix, text: `${formatIpAddress(address.bytes)}/${prefix}` };
}

function _prefixMatches(network: Uint8Array, address: Uint8Array, prefix: number): boolean {
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) if (network[i] !== address[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (network[whole]! & mask) === (address[whole]! & mask);
}

/**
 * True if `address` (text or bytes) is inside `cidr`. An IPv4-mapped IPv6
 * address matches IPv4 networks; text that is not an address matches nothing.
 *
 * @example
 * ```ts
 * cidrContains(parseCidr("10.0.0.0/8"), "::ffff:10.1.2.3"); // true
 * ```
 */
export function cidrContains(cidr: Cidr, address: string | IpBytes): boolean {
  const parsed = typeof address === "string" ? parseIpAddress(address) : address;
  if (!parsed) return false;
  let bytes = parsed.bytes;
  if (cidr.family === 4 && parsed.family === 6) {
    const v4 = _unmapped(parsed);
    if (!v4) return false;
    bytes = v4;
  } else if (cidr.family !== parsed.family) {
    return false;
  }
  return _prefixMatches(cidr.bytes, bytes, cidr.prefix);
}

/**
 * A list of networks to test addresses against.
 *
 * @example
 * ```ts
 * const trusted = CidrList.parse(["127.0.0.1/32", "fd00::/8"]);
 * trusted.has("127.0.0.1"); // true
 * trusted.has("10.0.0.1"); // false
 * ```
 */
export class CidrList {
  /** The networks, in the order given. */
  readonly networks: readonly Cidr[];

  /** Wraps parsed networks. */
  constructor(networks: readonly Cidr[]) {
    this.networks = networks;
  }

  /**
   * Parses every entry with {@linkcode parseCidr}.
   *
   * @throws {SyntaxError} If an entry is not a network.
   */
  static parse(texts: readonly string[]): CidrList {
    return new CidrList(texts.map(parseCidr));
  }

  /** True if any network contains `address`. */
  has(address: string | IpBytes): boolean {
    const parsed = typeof address === "string" ? parseIpAddress(address) : address;
    if (!parsed) return false;
    return this.networks.some((cidr) => cidrContains(cidr, parsed));
  }
}
