/**
 * Codecs for the data-connection addresses of FTP: the PORT argument and the
 * PASV reply of RFC 959, and the EPRT argument and EPSV reply and argument of
 * RFC 2428. Pure functions, no I/O.
 *
 * @module
 */

import { isIPv4, isIPv6 } from "./ip_literal.ts";

/** A host and port, with the IP family of the host literal. */
export interface HostPort {
  /** An IPv4 dotted quad or an IPv6 literal without brackets. */
  host: string;
  /** A TCP port, 1-65535. */
  port: number;
  /** The IP family of `host`. */
  family: 4 | 6;
}

/**
 * Thrown for a network protocol number other than 1 (IPv4) or 2 (IPv6) in
 * EPRT or EPSV; the server answers "522 Network protocol not supported, use
 * (1,2)".
 *
 * @example Usage
 * ```ts
 * import { parseEprtArgument, UnsupportedProtocolError } from "./address.ts";
 * try {
 *   parseEprtArgument("|3|x|21|");
 * } catch (error) {
 *   if (error instanceof UnsupportedProtocolError) console.log(error.supported); // "(1,2)"
 * }
 * ```
 */
export class UnsupportedProtocolError extends Error {
  /** The supported network protocol numbers, as sent in the 522 reply. */
  readonly supported = "(1,2)";

  /** Creates the error with a message naming the refused protocol. */
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedProtocolError";
  }
}

const _BYTE = /^\d{1,3}$/;
const _PORT = /^\d{1,5}$/;
const _MAPPED_DOTTED = /^(?:::|(?:0{1,4}:){5})ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
const _MAPPED_HEX = /^(?:::|(?:0{1,4}:){5})ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;

function _byte(text: string): number | undefined {
  const trimmed = text.trim();
  if (!_BYTE.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return value <= 255 ? value : undefined;
}

function _sixBytes(parts: readonly string[], input: string): HostPort {
  const bytes = parts.map(_byte);
  if (bytes.length !== 6 || bytes.some((b) => b === undefined)) {
    throw new SyntaxError(`Cannot parse host-port "${input}"`);
  }
  const [h1, h2, h3, h4, p1, p2] = bytes as number[];
  const port = p1! * 256 + p2!;
  if (port === 0) throw new SyntaxError(`Cannot use port 0 in "${input}"`);
  return { host: `${h1}.${h2}.${h3}.${h4}`, port, family: 4 };
}

function _checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Port must be an integer from 1 to 65535, got ${port}`);
  }
}

function _parsePort(text: string, input: string): number {
  const port = _PORT.test(text) ? Number(text) : 0;
  if (port < 1 || port > 65535) throw new SyntaxError(`Cannot parse port in "${input}"`);
  return port;
}

/**
 * Parses the argument of PORT, "h1,h2,h3,h4,p1,p2" (RFC 959), each number
 * 0-255; port 0 is refused.
 *
 * @example Usage
 * ```ts
 * import { parsePortArgument } from "./address.ts";
 * parsePortArgument("192,168,1,2,4,1"); // { host: "192.168.1.2", port: 1025, family: 4 }
 * ```
 * @throws {SyntaxError} If the argument is not six numbers 0-255 or the port is 0.
 */
export function parsePortArgument(arg: string): HostPort {
  return _sixBytes(arg.split(","), arg);
}

/**
 * Formats an IPv4 host (plain or IPv4-mapped IPv6) and port as the PORT
 * argument "h1,h2,h3,h4,p1,p2".
 *
 * @example Usage
 * ```ts
 * import { formatPortArgument } from "./address.ts";
 * formatPortArgument({ host: "::ffff:10.0.0.1", port: 1025 }); // "10,0,0,1,4,1"
 * ```
 * @throws {RangeError} If the host is not IPv4 or the port is out of range.
 */
export function formatPortArgument(hp: { host: string; port: number }): string {
  _checkPort(hp.port);
  let normalized: { host: string; family: 4 | 6 };
  try {
    normalized = normalizeHost(hp.host);
  } catch {
    throw new RangeError(`Cannot format host "${hp.host}" for PORT: not an IP address`);
  }
  if (normalized.family !== 4) {
    throw new RangeError(`Cannot format IPv6 host "${hp.host}" for PORT`);
  }
  return `${normalized.host.replaceAll(".", ",")},${hp.port >> 8},${hp.port & 255}`;
}

/**
 * Formats the text of the 227 reply to PASV.
 *
 * @example Usage
 * ```ts
 * import { formatPasvReplyText } from "./address.ts";
 * formatPasvReplyText({ host: "127.0.0.1", port: 1025 });
 * // "Entering Passive Mode (127,0,0,1,4,1)."
 * ```
 * @throws {RangeError} If the host is not IPv4 or the port is out of range.
 */
export function formatPasvReplyText(hp: { host: string; port: number }): string {
  return `Entering Passive Mode (${formatPortArgument(hp)}).`;
}

/**
 * Finds the six numbers "h1,h2,h3,h4,p1,p2" anywhere in the text of a 227
 * reply, with or without parentheses, as curl and ftplib do.
 *
 * @example Usage
 * ```ts
 * import { parsePasvReply } from "./address.ts";
 * parsePasvReply("Entering Passive Mode (127,0,0,1,4,1)."); // { host: "127.0.0.1", port: 1025, family: 4 }
 * ```
 * @throws {SyntaxError} If no valid six numbers are found.
 */
export function parsePasvReply(text: string): HostPort {
  const match = /(?<!\d)(\d{1,3}(?:\s*,\s*\d{1,3}){5})(?!\d)/.exec(text);
  if (match === null) throw new SyntaxError(`Cannot find host-port in "${text}"`);
  return _sixBytes(match[1]!.split(","), text);
}

/**
 * Parses the argument of EPRT (RFC 2428), such as "|1|132.235.1.2|6275|" or
 * "|2|::1|5282|". The delimiter is the first character (ASCII 33-126, not a
 * digit).
 *
 * @example Usage
 * ```ts
 * import { parseEprtArgument } from "./address.ts";
 * parseEprtArgument("|2|::1|5282|"); // { host: "::1", port: 5282, family: 6 }
 * ```
 * @throws {UnsupportedProtocolError} If the network protocol is not 1 or 2.
 * @throws {SyntaxError} For any other malformed argument.
 */
export function parseEprtArgument(arg: string): HostPort {
  const delimiter = arg[0];
  if (delimiter === undefined || !_isDelimiter(delimiter)) {
    throw new SyntaxError(`Cannot parse EPRT argument "${arg}": bad delimiter`);
  }
  const parts = arg.split(delimiter);
  if (parts.length !== 5 || parts[0] !== "" || parts[4] !== "") {
    throw new SyntaxError(`Cannot parse EPRT argument "${arg}"`);
  }
  const [, protocol = "", host = "", portText = ""] = parts;
  if (!/^\d+$/.test(protocol)) {
    throw new SyntaxError(`Cannot parse network protocol in "${arg}"`);
  }
  if (protocol !== "1" && protocol !== "2") {
    throw new UnsupportedProtocolError(`Network protocol ${protocol} is not supported`);
  }
  const family = protocol === "1" ? 4 : 6;
  if (family === 4 ? !isIPv4(host) : !isIPv6(host)) {
    throw new SyntaxError(`Cannot parse IPv${family} address in "${arg}"`);
  }
  return { host, port: _parsePort(portText, arg), family };
}

/**
 * Formats a host and port as the EPRT argument "|1|h|port|" or "|2|h|port|".
 * Without `family`, an IPv4-mapped IPv6 host is sent as IPv4.
 *
 * @example Usage
 * ```ts
 * import { formatEprtArgument } from "./address.ts";
 * formatEprtArgument({ host: "::1", port: 5282 }); // "|2|::1|5282|"
 * ```
 * @throws {RangeError} If the host is not an IP literal of the family, or the port is out of range.
 */
export function formatEprtArgument(hp: { host: string; port: number; family?: 4 | 6 }): string {
  _checkPort(hp.port);
  let host: string;
  let family: 4 | 6;
  if (hp.family === 6) {
    host = _stripBrackets(hp.host);
    family = 6;
    if (!isIPv6(host)) throw new RangeError(`Cannot format "${hp.host}" as an IPv6 address`);
  } else {
    let normalized: { host: string; family: 4 | 6 };
    try {
      normalized = normalizeHost(hp.host);
    } catch {
      throw new RangeError(`Cannot format host "${hp.host}" for EPRT: not an IP address`);
    }
    if (hp.family === 4 && normalized.family !== 4) {
      throw new RangeError(`Cannot format "${hp.host}" as an IPv4 address`);
    }
    ({ host, family } = normalized);
  }
  return `|${family === 4 ? 1 : 2}|${host}|${hp.port}|`;
}

/**
 * Formats the text of the 229 reply to EPSV.
 *
 * @example Usage
 * ```ts
 * import { formatEpsvReplyText } from "./address.ts";
 * formatEpsvReplyText(6446); // "Entering Extended Passive Mode (|||6446|)"
 * ```
 * @throws {RangeError} If the port is out of range.
 */
export function formatEpsvReplyText(port: number): string {
  _checkPort(port);
  return `Entering Extended Passive Mode (|||${port}|)`;
}

/**
 * Extracts the port from the text of a 229 reply, "(|||6446|)" with any
 * delimiter.
 *
 * @example Usage
 * ```ts
 * import { parseEpsvReply } from "./address.ts";
 * parseEpsvReply("Entering Extended Passive Mode (!!!6446!)"); // 6446
 * ```
 * @throws {SyntaxError} If no port is found or it is out of range.
 */
export function parseEpsvReply(text: string): number {
  const match = /([!-/:-~])\1\1(\d{1,5})\1/.exec(text);
  if (match === null) throw new SyntaxError(`Cannot find port in "${text}"`);
  return _parsePort(match[2]!, text);
}

/**
 * Parses the argument of EPSV: "" (any family), "ALL" (any case), "1" (IPv4)
 * or "2" (IPv6).
 *
 * @example Usage
 * ```ts
 * import { parseEpsvArgument } from "./address.ts";
 * parseEpsvArgument("all"); // { kind: "all" }
 * parseEpsvArgument("2"); // { kind: "family", family: 6 }
 * ```
 * @throws {UnsupportedProtocolError} If a protocol number other than 1 or 2 is given.
 * @throws {SyntaxError} For any other argument.
 */
export function parseEpsvArgument(
  arg: string,
): { kind: "any" } | { kind: "all" } | { kind: "family"; family: 4 | 6 } {
  const trimmed = arg.trim();
  if (trimmed === "") return { kind: "any" };
  if (trimmed.toUpperCase() === "ALL") return { kind: "all" };
  if (!/^\d+$/.test(trimmed)) throw new SyntaxError(`Cannot parse EPSV argument "${arg}"`);
  if (trimmed === "1") return { kind: "family", family: 4 };
  if (trimmed === "2") return { kind: "family", family: 6 };
  throw new UnsupportedProtocolError(`Network protocol ${trimmed} is not supported`);
}

/**
 * Normalizes an IP literal: strips brackets, and turns an IPv4-mapped IPv6
 * address ("::ffff:127.0.0.1" or "::ffff:7f00:1") into plain IPv4. Zone ids
 * are kept.
 *
 * @example Usage
 * ```ts
 * import { normalizeHost } from "./address.ts";
 * normalizeHost("::ffff:127.0.0.1"); // { host: "127.0.0.1", family: 4 }
 * normalizeHost("[::1]"); // { host: "::1", family: 6 }
 * ```
 * @throws {SyntaxError} If the host is not an IPv4 or IPv6 literal.
 */
export function normalizeHost(host: string): { host: string; family: 4 | 6 } {
  const bare = _stripBrackets(host.trim());
  if (isIPv4(bare)) return { host: bare, family: 4 };
  if (!isIPv6(bare)) throw new SyntaxError(`Cannot parse "${host}" as an IP address`);
  const dotted = _MAPPED_DOTTED.exec(bare);
  if (dotted !== null && isIPv4(dotted[1]!)) return { host: dotted[1]!, family: 4 };
  const hex = _MAPPED_HEX.exec(bare);
  if (hex !== null) {
    const high = parseInt(hex[1]!, 16);
    const low = parseInt(hex[2]!, 16);
    return { host: `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, family: 4 };
  }
  return { host: bare, family: 6 };
}

/**
 * The form in which two addresses of one host compare equal: lower case,
 * IPv4-mapped IPv6 turned into IPv4. Input that is not an IP literal comes
 * back lower-cased, never throws.
 *
 * @example Usage
 * ```ts
 * import { comparableAddress } from "./address.ts";
 * comparableAddress("::FFFF:127.0.0.1"); // "127.0.0.1"
 * ```
 */
export function comparableAddress(address: string): string {
  try {
    return normalizeHost(address).host.toLowerCase();
  } catch {
    return address.trim().toLowerCase();
  }
}

function _stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function _isDelimiter(char: string): boolean {
  const code = char.charCodeAt(0);
  return code >= 33 && code <= 126 && !(code >= 48 && code <= 57);
}
