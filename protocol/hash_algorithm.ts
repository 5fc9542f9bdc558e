/**
 * File checksums on the wire, shared by server and client: the algorithms of
 * `HASH` (draft-bryan-ftpext-hash-02, names from IANA's "Hash Function
 * Textual Names"), the older one-algorithm verbs (`XCRC`, `XMD5`, `XSHA1`,
 * `XSHA256`, `XSHA512`), the `RANG` byte range (draft-bryan-ftp-range), and
 * the replies: `213 <ALGO> <start>-<end> <hex> <path>` for HASH (the end is
 * inclusive, as in RANG) and `250 <hex>` for the X-verbs.
 *
 * @module
 */

/** An algorithm's IANA name, as FEAT, OPTS HASH and the HASH reply spell it. */
export type HashAlgorithm = "SHA-1" | "SHA-256" | "SHA-512" | "MD5" | "CRC32";

/** The algorithms `HASH` offers, in FEAT order. */
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ["SHA-1", "SHA-256", "SHA-512", "MD5"];

/** The algorithm a session starts with (the draft: none weaker than SHA-1 by default). */
export const DEFAULT_HASH_ALGORITHM: HashAlgorithm = "SHA-256";

/** The one-algorithm verbs and what each computes. */
export const X_HASH_VERBS: Readonly<Record<string, HashAlgorithm>> = {
  XCRC: "CRC32",
  XMD5: "MD5",
  XSHA1: "SHA-1",
  XSHA256: "SHA-256",
  XSHA512: "SHA-512",
};

/** Hex digits in each algorithm's checksum. */
export const HEX_LENGTH: Readonly<Record<HashAlgorithm, number>> = {
  "SHA-1": 40,
  "SHA-256": 64,
  "SHA-512": 128,
  MD5: 32,
  CRC32: 8,
};

const ALIASES: Readonly<Record<string, HashAlgorithm>> = {
  "SHA-1": "SHA-1",
  SHA1: "SHA-1",
  "SHA-256": "SHA-256",
  SHA256: "SHA-256",
  "SHA-512": "SHA-512",
  SHA512: "SHA-512",
  MD5: "MD5",
  CRC32: "CRC32",
  "CRC-32": "CRC32",
  CRC: "CRC32",
};

/**
 * The algorithm a name stands for, case-insensitive, with or without the
 * dash (`sha256`, `SHA-256`); undefined for anything else.
 *
 * @example
 * ```ts
 * parseHashAlgorithm("sha256"); // "SHA-256"
 * ```
 */
export function parseHashAlgorithm(name: string): HashAlgorithm | undefined {
  return ALIASES[name.trim().toUpperCase()];
}

/**
 * The FEAT line for HASH, with `*` on the selected algorithm.
 *
 * @example
 * ```ts
 * formatHashFeat("SHA-256"); // "HASH SHA-1;SHA-256*;SHA-512;MD5"
 * ```
 */
export function formatHashFeat(selected: HashAlgorithm): string {
  return `HASH ${HASH_ALGORITHMS.map((name) => name === selected ? `${name}*` : name).join(";")}`;
}

/**
 * The algorithms of a FEAT `HASH` line's value and the selected one.
 *
 * @example
 * ```ts
 * parseHashFeat("SHA-1;SHA-256*;MD5");
 * // { algorithms: ["SHA-1", "SHA-256", "MD5"], selected: "SHA-256" }
 * ```
 */
export function parseHashFeat(
  value: string,
): { algorithms: HashAlgorithm[]; selected?: HashAlgorithm } {
  const algorithms: HashAlgorithm[] = [];
  let selected: HashAlgorithm | undefined;
  for (const item of value.split(";")) {
    const star = item.trim().endsWith("*");
    const algorithm = parseHashAlgorithm(item.trim().replace(/\*$/, ""));
    if (!algorithm) continue;
    algorithms.push(algorithm);
    if (star) selected = algorithm;
  }
  return selected ? { algorithms, selected } : { algorithms };
}

/** A byte range of a file: `start` and the inclusive `end`; `end` is `start - 1` when empty. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The text of a successful HASH reply (without the 213). An empty range is
 * shown as `start-start`, the draft having no spelling for it.
 *
 * @example
 * ```ts
 * formatHashReply("SHA-256", { start: 0, end: 9 }, "ab12", "/a.txt"); // "SHA-256 0-9 ab12 /a.txt"
 * ```
 */
export function formatHashReply(
  algorithm: HashAlgorithm,
  range: ByteRange,
  hex: string,
  path: string,
): string {
  return `${algorithm} ${range.start}-${Math.max(range.start, range.end)} ${hex} ${path}`;
}

/** What {@linkcode parseChecksumReply} found in a reply's text. */
export interface ParsedChecksum {
  /** The algorithm the reply names (HASH replies), if any. */
  algorithm?: HashAlgorithm;
  /** The range the reply names (HASH replies), if any. */
  range?: ByteRange;
  /** The checksum, lower-case hex. */
  hex: string;
}

/**
 * Reads a checksum out of a HASH or X-verb reply's last line: the draft's
 * `<ALGO> <start>-<end> <hex> <path>`, or the X-verbs' `<hex>` (some servers
 * add the path before or after it). The first token of hex digits of the
 * expected length wins, so a path made of hex digits is not mistaken for it.
 *
 * @example
 * ```ts
 * parseChecksumReply("MD5 0-2 900150983cd24fb0d6963f7d28e17f72 abc", "MD5")?.hex;
 * // "900150983cd24fb0d6963f7d28e17f72"
 * ```
 */
export function parseChecksumReply(
  text: string,
  expected: HashAlgorithm,
): ParsedChecksum | undefined {
  const words = text.trim().split(/\s+/);
  const length = HEX_LENGTH[expected];
  const pattern = new RegExp(`^[0-9a-fA-F]{${length}}$`);
  const result: Partial<ParsedChecksum> = {};
  let i = 0;
  const named = parseHashAlgorithm(words[0] ?? "");
  if (named && words.length >= 3) {
    result.algorithm = named;
    i = 1;
    const range = /^(\d+)-(\d+)$/.exec(words[1] ?? "");
    if (range) {
      result.range = { start: Number(range[1]), end: Number(range[2]) };
      i = 2;
    }
  }
  const hex = words.slice(i).find((word) => pattern.test(word));
  if (hex === undefined) return undefined;
  return { ...result, hex: hex.toLowerCase() };
}

/** The argument of an X-verb: a path, and an optional range (start, exclusive end). */
export interface XHashArgument {
  path: string;
  /** The first byte, with `end`: the command asked for part of the file. */
  start?: number;
  /** One past the last byte (GlobalSCAPE's and ProFTPD's "ending point"). */
  end?: number;
}

/**
 * Splits an X-verb's argument as clients send it: `path`, `path start end`
 * or `"path" start end` (the quotes allow spaces before numbers). Without
 * quotes, a path ending in two numbers reads as a range; the caller may try
 * the whole text as a path first. Offsets must be whole numbers.
 *
 * @example
 * ```ts
 * parseXHashArgument("big file.iso 0 1048576");
 * // { path: "big file.iso", start: 0, end: 1048576 }
 * ```
 */
export function parseXHashArgument(argument: string): XHashArgument {
  const text = argument.trim();
  const quoted = /^"((?:[^"]|"")*)"(?:\s+(\d+)\s+(\d+))?\s*$/.exec(text);
  if (quoted) {
    const path = quoted[1]!.replaceAll('""', '"');
    if (quoted[2] === undefined) return { path };
    return { path, start: Number(quoted[2]), end: Number(quoted[3]) };
  }
  const ranged = /^(.*\S)\s+(\d+)\s+(\d+)$/.exec(text);
  if (ranged) return { path: ranged[1]!, start: Number(ranged[2]), end: Number(ranged[3]) };
  return { path: text };
}
