/**
 * Password hashing with scrypt: self-describing hashes
 * (`scrypt$N$r$p$saltB64$keyB64`), constant-time verification, and dummy
 * hashes that cost the same as real ones.
 *
 * @module
 */

import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

const _DEFAULT_COST = 16384;
const _DEFAULT_BLOCK_SIZE = 8;
const _DEFAULT_PARALLELISM = 1;
const _KEY_LENGTH = 32;
const _SALT_LENGTH = 16;
/** Upper bounds on the parameters read from a hash, so a hostile file cannot exhaust memory. */
const _MAX_COST = 2 ** 20;
const _MAX_BLOCK_SIZE = 32;
const _MAX_PARALLELISM = 16;
const _MAX_KEY_LENGTH = 128;

/** The parameters and bytes of a parsed `scrypt$N$r$p$salt$key` hash. */
interface _ScryptHash {
  cost: number;
  blockSize: number;
  parallelism: number;
  salt: Uint8Array;
  key: Uint8Array;
}

function _parseInteger(text: string, min: number, max: number): number | null {
  if (!/^[0-9]{1,8}$/.test(text)) return null;
  const value = Number(text);
  return value >= min && value <= max ? value : null;
}

function _decodeBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function _encodeBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** Parses a hash string, or returns null if it is malformed or out of bounds. */
function _parseHash(hash: string): _ScryptHash | null {
  const parts = hash.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return null;
  const [, costText = "", blockSizeText = "", parallelismText = "", saltText = "", keyText = ""] =
    parts;
  const cost = _parseInteger(costText, 2, _MAX_COST);
  const blockSize = _parseInteger(blockSizeText, 1, _MAX_BLOCK_SIZE);
  const parallelism = _parseInteger(parallelismText, 1, _MAX_PARALLELISM);
  const salt = _decodeBase64(saltText);
  const key = _decodeBase64(keyText);
  if (cost === null || (cost & (cost - 1)) !== 0) return null;
  if (blockSize === null || parallelism === null || salt === null || key === null) return null;
  if (key.length < 16 || key.length > _MAX_KEY_LENGTH) return null;
  return { cost, blockSize, parallelism, salt, key };
}

function _formatHash(hash: _ScryptHash): string {
  return [
    "scrypt",
    hash.cost,
    hash.blockSize,
    hash.parallelism,
    _encodeBase64(hash.salt),
    _encodeBase64(hash.key),
  ].join("$");
}

function _derive(
  password: string,
  salt: Uint8Array,
  keyLength: number,
  params: { cost: number; blockSize: number; parallelism: number },
): Promise<Uint8Array> {
  const { cost: N, blockSize: r, parallelism: p } = params;
  // scrypt needs about 128·N·r bytes; leave room so valid parameters never trip maxmem.
  const maxmem = 256 * N * r + 128 * r * p + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { N, r, p, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
    });
  });
}

/** Options of {@linkcode hashPassword}. */
export interface HashPasswordOptions {
  /**
   * The scrypt cost parameter N, a power of two. Lower it only in tests.
   *
   * @default {16384}
   */
  cost?: number;
}

/**
 * Hashes a password with scrypt (r=8, p=1, a random 16-byte salt, a 32-byte
 * key). The result is self-describing: `scrypt$N$r$p$saltB64$keyB64`.
 *
 * @param password The password; it is never logged or stored.
 * @param options The cost.
 * @returns The hash string.
 * @throws {RangeError} If the cost is not a power of two between 2 and 2^20.
 *
 * @example
 * ```ts
 * const hash = await hashPassword("s3cret");
 * await verifyPassword("s3cret", hash); // true
 * ```
 */
export async function hashPassword(
  password: string,
  options: HashPasswordOptions = {},
): Promise<string> {
  const cost = options.cost ?? _DEFAULT_COST;
  if (!Number.isInteger(cost) || cost < 2 || cost > _MAX_COST || (cost & (cost - 1)) !== 0) {
    throw new RangeError(`Cannot hash with scrypt cost ${cost}: expected a power of two`);
  }
  const params = { cost, blockSize: _DEFAULT_BLOCK_SIZE, parallelism: _DEFAULT_PARALLELISM };
  const salt = new Uint8Array(randomBytes(_SALT_LENGTH));
  const key = await _derive(password, salt, _KEY_LENGTH, params);
  return _formatHash({ ...params, salt, key });
}

/**
 * Checks a password against a hash made by {@linkcode hashPassword}, with the
 * parameters stored in the hash, comparing in constant time.
 *
 * @param password The password to check.
 * @param hash The stored hash.
 * @returns True if the password matches; false if it does not or the hash is malformed.
 *
 * @example
 * ```ts
 * await verifyPassword("wrong", await hashPassword("right")); // false
 * ```
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = _parseHash(hash);
  if (parsed === null) return false;
  let key: Uint8Array;
  try {
    key = await _derive(password, parsed.salt, parsed.key.length, parsed);
  } catch {
    return false;
  }
  return timingSafeEqual(key, parsed.key);
}

/**
 * Tells whether a string is a well-formed scrypt hash within ferry's bounds.
 *
 * @param hash The stored hash.
 * @returns True if {@linkcode verifyPassword} can check passwords against it.
 *
 * @example
 * ```ts
 * isPasswordHash("plain"); // false
 * ```
 */
export function isPasswordHash(hash: string): boolean {
  return _parseHash(hash) !== null;
}

/**
 * Makes a hash that matches no password and costs the same to verify as the
 * most common parameters among the given hashes (the defaults if there are
 * none), so a login for an unknown user takes as long as one for a real user.
 *
 * @param hashes Stored hashes whose parameters to copy; malformed ones are skipped.
 * @returns A hash no password matches.
 *
 * @example
 * ```ts
 * const dummy = dummyHashLike([await hashPassword("x", { cost: 1024 })]);
 * await verifyPassword("x", dummy); // false, after the same scrypt work
 * ```
 */
export function dummyHashLike(hashes: readonly string[]): string {
  const counts = new Map<string, { hash: _ScryptHash; count: number }>();
  for (const text of hashes) {
    const hash = _parseHash(text);
    if (hash === null) continue;
    const id = `${hash.cost}$${hash.blockSize}$${hash.parallelism}$${hash.key.length}`;
    const entry = counts.get(id) ?? { hash, count: 0 };
    entry.count += 1;
    counts.set(id, entry);
  }
  let common: _ScryptHash | undefined;
  let best = 0;
  for (const { hash, count } of counts.values()) {
    if (count > best) [common, best] = [hash, count];
  }
  const keyLength = common?.key.length ?? _KEY_LENGTH;
  return _formatHash({
    cost: common?.cost ?? _DEFAULT_COST,
    blockSize: common?.blockSize ?? _DEFAULT_BLOCK_SIZE,
    parallelism: common?.parallelism ?? _DEFAULT_PARALLELISM,
    salt: new Uint8Array(randomBytes(_SALT_LENGTH)),
    key: new Uint8Array(randomBytes(keyLength)),
  });
}
