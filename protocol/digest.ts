/**
 * Incremental checksums of byte streams for every {@linkcode HashAlgorithm}:
 * SHA-1, SHA-256, SHA-512 and MD5 through `node:crypto`, CRC-32 (the zlib
 * and gzip one, which `XCRC` means) through `node:zlib`. Fed in pieces, so
 * no file is ever held in memory whole.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import type { HashAlgorithm } from "./hash_algorithm.ts";

/** A checksum being computed: feed it bytes, then read the lower-case hex once. */
export interface Digest {
  /** Adds bytes. */
  update(data: Uint8Array): void;
  /** The checksum of everything added, in lower-case hex (CRC-32: 8 digits). */
  hex(): string;
}

const NODE_NAMES: Readonly<Record<Exclude<HashAlgorithm, "CRC32">, string>> = {
  "SHA-1": "sha1",
  "SHA-256": "sha256",
  "SHA-512": "sha512",
  MD5: "md5",
};

class Crc32Digest implements Digest {
  #value = 0;
  update(data: Uint8Array): void {
    this.#value = crc32(data, this.#value);
  }
  hex(): string {
    return (this.#value >>> 0).toString(16).padStart(8, "0");
  }
}

/**
 * Starts a checksum.
 *
 * @example
 * ```ts
 * const digest = createDigest("SHA-256");
 * digest.update(new TextEncoder().encode("abc"));
 * digest.hex(); // "ba7816bf…"
 * ```
 */
export function createDigest(algorithm: HashAlgorithm): Digest {
  if (algorithm === "CRC32") return new Crc32Digest();
  const hash = createHash(NODE_NAMES[algorithm]);
  return {
    update: (data) => void hash.update(data),
    hex: () => hash.digest("hex"),
  };
}
