/**
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2)
 * that a load balancer sends first on a connection to pass on the client's
 * address. A pure, incremental parser: hand it the bytes read so far; it says
 * how many more it needs (never more than the header holds, so a caller that
 * reads exactly that many never takes bytes that follow the header), or
 * returns the header, or throws {@linkcode ProxyHeaderError}.
 *
 * Bounds: a v1 line is at most 107 bytes with its CRLF; a v2 header at most
 * 16 + 216 bytes of addresses plus {@linkcode ProxyParseOptions.maxTlvBytes}
 * of TLVs, which are skipped.
 *
 * @module
 */

import { formatIpAddress, parseIpAddress } from "./cidr.ts";

/** One end of the proxied connection. */
export interface ProxyEndpoint {
  /** The IP address as text (dotted quad, or RFC 5952 IPv6). */
  address: string;
  /** The TCP port. */
  port: number;
}

/** A parsed PROXY header. */
export interface ProxyHeader {
  /** 1 (text) or 2 (binary). */
  version: 1 | 2;
  /**
   * "proxy": the header names the client (`source`) and the address it
   * connected to (`destination`). "local": it names no one (v2 LOCAL, as in a
   * balancer's health check; v1 UNKNOWN; v2 UNSPEC or UNIX): the connection's
   * own addresses stand.
   */
  command: "proxy" | "local";
  /** The IP family of the addresses, for "proxy". */
  family?: 4 | 6;
  /** The client, for "proxy". */
  source?: ProxyEndpoint;
  /** The address the client connected to, for "proxy". */
  destination?: ProxyEndpoint;
  /** The header's length in bytes: the connection's own data starts after it. */
  length: number;
}

/** The result of {@linkcode parseProxyHeader}. */
export type ProxyParse =
  | {
    done: false; /** Bytes still needed before the parser can say more (at least 1). */
    need: number;
  }
  | { done: true; header: ProxyHeader };

/** Options for {@linkcode parseProxyHeader}. */
export interface ProxyParseOptions {
  /**
   * The most TLV bytes accepted after a v2 header's addresses (skipped).
   * @default {256}
   */
  maxTlvBytes?: number;
}

/** A connection's first bytes are not a valid PROXY header. */
export class ProxyHeaderError extends SyntaxError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ProxyHeaderError";
  }
}

/** The longest v1 header, "PROXY" ... CRLF included (the spec's 107 bytes). */
export const MAX_V1_LENGTH = 107;
/** The v2 fixed part: signature, version/command, family/protocol, length. */
export const V2_FIXED_LENGTH = 16;
/** The largest v2 address block (two UNIX paths of 108 bytes). */
export const MAX_V2_ADDRESS_LENGTH = 216;
/** The v2 signature. */
export const V2_SIGNATURE: Uint8Array = new Uint8Array([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
]);
const _V1_PREFIX = new Uint8Array([0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]); // "PROXY "
/** The shortest v1 header, "PROXY UNKNOWN\r\n". */
const _MIN_V1_LENGTH = 15;

function _startsWith(bytes: Uint8Array, prefix: Uint8Array): "yes" | "maybe" | "no" {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return "no";
  return bytes.length >= prefix.length ? "yes" : "maybe";
}

/**
 * Parses a PROXY header from the first bytes of a connection.
 *
 * @example
 * ```ts
 * const line = new TextEncoder().encode("PROXY TCP4 192.0.2.7 10.0.0.1 51000 21\r\n");
 * const result = parseProxyHeader(line);
 * if (result.done) result.header.source; // { address: "192.0.2.7", port: 51000 }
 * ```
 * @throws {ProxyHeaderError} If the bytes cannot begin, or are not, a valid header.
 */
export function parseProxyHeader(bytes: Uint8Array, options: ProxyParseOptions = {}): ProxyParse {
  if (bytes.length === 0) return { done: false, need: _MIN_V1_LENGTH };
  if (bytes[0] === V2_SIGNATURE[0]) {
    const signature = _startsWith(bytes, V2_SIGNATURE);
    if (signature === "no") throw new ProxyHeaderError("Not a PROXY header (bad v2 signature)");
    return _parseV2(bytes, options.maxTlvBytes ?? 256);
  }
  const prefix = _startsWith(bytes, _V1_PREFIX);
  if (prefix === "no") throw new ProxyHeaderError("Not a PROXY header");
  if (bytes.length < _MIN_V1_LENGTH) return { done: false, need: _MIN_V1_LENGTH - bytes.length };
  return _parseV1(bytes);
}

function _parseV1(bytes: Uint8Array): ProxyParse {
  const limit = Math.min(bytes.length, MAX_V1_LENGTH);
  let end = -1;
  for (let i = 0; i < limit; i++) {
    const byte = bytes[i]!;
    if (byte === 0x0d) {
      if (i + 1 >= bytes.length) break; // the LF may still come
      if (bytes[i + 1] !== 0x0a) throw new ProxyHeaderError("PROXY v1 line has CR without LF");
      end = i;
      break;
    }
    if (byte < 0x20 || byte > 0x7e) {
      throw new ProxyHeaderError("PROXY v1 line has a control or non-ASCII byte");
    }
  }
  if (end < 0) {
    if (bytes.length >= MAX_V1_LENGTH) {
      throw new ProxyHeaderError(`PROXY v1 line longer than ${MAX_V1_LENGTH} bytes`);
    }
    return { done: false, need: 1 };
  }
  const length = end + 2;
  const line = String.fromCharCode(...bytes.subarray(0, end));
  const parts = line.split(" ");
  const protocol = parts[1];
  if (protocol === "UNKNOWN") {
    return { done: true, header: { version: 1, command: "local", length } };
  }
  if (protocol !== "TCP4" && protocol !== "TCP6") {
    throw new ProxyHeaderError(
      `PROXY v1 protocol "${protocol ?? ""}" is not TCP4, TCP6 or UNKNOWN`,
    );
  }
  if (parts.length !== 6) {
    throw new ProxyHeaderError("PROXY v1 line needs two addresses and two ports");
  }
  const family = protocol === "TCP4" ? 4 : 6;
  const source = _v1Endpoint(parts[2]!, parts[4]!, family);
  const destination = _v1Endpoint(parts[3]!, parts[5]!, family);
  return {
    done: true,
    header: { version: 1, command: "proxy", family, source, destination, length },
  };
}

function _v1Endpoint(addressText: string, portText: string, family: 4 | 6): ProxyEndpoint {
  const address = addressText.startsWith("[") ? undefined : parseIpAddress(addressText);
  if (!address || address.family !== family) {
    throw new ProxyHeaderError(`PROXY v1 address "${addressText}" is not IPv${family}`);
  }
  if (!/^(?:0|[1-9]\d{0,4})$/.test(portText) || Number(portText) > 65535) {
    throw new ProxyHeaderError(`PROXY v1 port "${portText}" is not 0-65535`);
  }
  return { address: formatIpAddress(address.bytes), port: Number(portText) };
}

function _parseV2(bytes: Uint8Array, maxTlvBytes: number): ProxyParse {
  if (bytes.length < V2_FIXED_LENGTH) return { done: false, need: V2_FIXED_LENGTH - bytes.length };
  const versionCommand = bytes[12]!;
  if (versionCommand >> 4 !== 2) {
    throw new ProxyHeaderError(`PROXY v2 header has version ${versionCommand >> 4}`);
  }
  const command = versionCommand & 0x0f;
  if (command > 1) throw new ProxyHeaderError(`PROXY v2 command ${command} is unknown`);
  const familyProtocol = bytes[13]!;
  const addressFamily = familyProtocol >> 4;
  const transport = familyProtocol & 0x0f;
  if (addressFamily > 3 || transport > 2) {
    throw new ProxyHeaderError(`PROXY v2 family/protocol byte 0x${familyProtocol.toString(16)}`);
  }
  const payload = (bytes[14]! << 8) | bytes[15]!;
  if (payload > MAX_V2_ADDRESS_LENGTH + maxTlvBytes) {
    throw new ProxyHeaderError(
      `PROXY v2 header of ${payload} bytes is over the ${
        MAX_V2_ADDRESS_LENGTH + maxTlvBytes
      }-byte bound`,
    );
  }
  const length = V2_FIXED_LENGTH + payload;
  if (bytes.length < length) return { done: false, need: length - bytes.length };
  if (command === 0 || addressFamily === 0 || addressFamily === 3) {
    // LOCAL (a health check), or addresses the receiver cannot use (UNSPEC, UNIX).
    return { done: true, header: { version: 2, command: "local", length } };
  }
  if (transport !== 1) {
    throw new ProxyHeaderError("PROXY v2 header is not for a TCP (stream) connection");
  }
  const size = addressFamily === 1 ? 4 : 16;
  if (payload < 2 * size + 4) {
    throw new ProxyHeaderError(`PROXY v2 address block of ${payload} bytes is too short`);
  }
  const at = V2_FIXED_LENGTH;
  const portsAt = at + 2 * size;
  const source = {
    address: formatIpAddress(bytes.slice(at, at + size)),
    port: (bytes[portsAt]! << 8) | bytes[portsAt + 1]!,
  };
  const destination = {
    address: formatIpAddress(bytes.slice(at + size, at + 2 * size)),
    port: (bytes[portsAt + 2]! << 8) | bytes[portsAt + 3]!,
  };
  const family = addressFamily === 1 ? 4 : 6;
  return {
    done: true,
    header: { version: 2, command: "proxy", family, source, destination, length },
  };
}

/** Options for {@linkcode formatProxyHeader}. */
export interface FormatProxyOptions {
  /**
   * The version to write.
   * @default {1}
   */
  version?: 1 | 2;
}

/**
 * Writes a PROXY header for a TCP connection from `source` to
 * `destination` (or a LOCAL/UNKNOWN one when they are absent): for tests and
 * for clients that sit behind nothing but want to say who they are.
 *
 * @example
 * ```ts
 * formatProxyHeader({ address: "192.0.2.7", port: 51000 }, { address: "10.0.0.1", port: 21 });
 * // "PROXY TCP4 192.0.2.7 10.0.0.1 51000 21\r\n" as bytes
 * ```
 * @throws {RangeError} If the addresses are not IP literals of one family.
 */
export function formatProxyHeader(
  source: ProxyEndpoint | undefined,
  destination: ProxyEndpoint | undefined,
  options: FormatProxyOptions = {},
): Uint8Array {
  const version = options.version ?? 1;
  const from = source && parseIpAddress(source.address);
  const to = destination && parseIpAddress(destination.address);
  if ((source || destination) && (!from || !to || from.family !== to.family)) {
    throw new RangeError("PROXY header addresses must be IP literals of one family");
  }
  if (version === 1) {
    if (!from || !to) return new TextEncoder().encode("PROXY UNKNOWN\r\n");
    const protocol = from.family === 4 ? "TCP4" : "TCP6";
    return new TextEncoder().encode(
      `PROXY ${protocol} ${formatIpAddress(from.bytes)} ${formatIpAddress(to.bytes)} ${
        source!.port
      } ${destination!.port}\r\n`,
    );
  }
  if (!from || !to) {
    const local = new Uint8Array(V2_FIXED_LENGTH);
    local.set(V2_SIGNATURE);
    local[12] = 0x20;
    return local;
  }
  const size = from.bytes.length;
  const out = new Uint8Array(V2_FIXED_LENGTH + 2 * size + 4);
  out.set(V2_SIGNATURE);
  out[12] = 0x21;
  out[13] = from.family === 4 ? 0x11 : 0x21;
  const payload = 2 * size + 4;
  out[14] = payload >> 8;
  out[15] = payload & 255;
  out.set(from.bytes, 16);
  out.set(to.bytes, 16 + size);
  const portsAt = 16 + 2 * size;
  out[portsAt] = source!.port >> 8;
  out[portsAt + 1] = source!.port & 255;
  out[portsAt + 2] = destination!.port >> 8;
  out[portsAt + 3] = destination!.port & 255;
  return out;
}
