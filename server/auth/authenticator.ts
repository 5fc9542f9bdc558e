/**
 * The user database of the server: the credentials file, password hashing and
 * the permission letters of pyftpdlib's authorizer.
 *
 * @module
 */

import { createHmac, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { normalize } from "node:path/posix";

/**
 * pyftpdlib's permission letters: e=CWD, l=list, r=RETR, a=APPE, d=DELE/RMD,
 * f=rename, m=MKD, w=STOR/STOU, M=SITE CHMOD, T=MFMT. Their order here is the
 * canonical order.
 *
 * @example
 * ```ts
 * PERMISSION_LETTERS.includes("w"); // true
 * ```
 */
export const PERMISSION_LETTERS = "elradfmwMT";

/**
 * The permissions of a read-only user (and of anonymous users): change
 * directory, list and download.
 *
 * @example
 * ```ts
 * const user = { name: "guest", passwordHash, home: "/pub", permissions: READ_ONLY_PERMISSIONS };
 * ```
 */
export const READ_ONLY_PERMISSIONS = "elr";

/** The names that mean "anonymous login" (compared case-insensitively). */
const _ANONYMOUS_NAMES = ["anonymous", "ftp"];
const _NAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
// deno-lint-ignore no-control-regex
const _CONTROL_CHARACTERS = /[\x00-\x1f\x7f]/;

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

/**
 * Validates permission letters and returns them deduplicated in the canonical
 * order of {@linkcode PERMISSION_LETTERS}. An empty string (no permission at
 * all) is allowed.
 *
 * @param text The letters, in any order, possibly repeated.
 * @returns The letters in canonical order.
 * @throws {RangeError} If a character is not a permission letter.
 *
 * @example
 * ```ts
 * parsePermissions("wrle"); // "elrw"
 * ```
 */
export function parsePermissions(text: string): string {
  for (const letter of text) {
    if (!PERMISSION_LETTERS.includes(letter)) {
      throw new RangeError(
        `Unknown permission letter "${letter}" (expected some of "${PERMISSION_LETTERS}")`,
      );
    }
  }
  return [...PERMISSION_LETTERS].filter((letter) => text.includes(letter)).join("");
}

/** One user of the server, as stored in the credentials file. */
export interface UserRecord {
  /** The login name: 1-64 characters of `[A-Za-z0-9._@-]`. */
  name: string;
  /** The password hash, `scrypt$N$r$p$saltB64$keyB64` (see {@linkcode hashPassword}). */
  passwordHash: string;
  /**
   * The home directory: a virtual POSIX path relative to the served root,
   * normalized, starting with "/".
   */
  home: string;
  /** Permission letters in canonical order (see {@linkcode PERMISSION_LETTERS}). */
  permissions: string;
}

/**
 * Normalizes a home directory to a virtual path that starts with "/", has no
 * trailing slash and cannot climb above the served root.
 *
 * @param home A virtual path, absolute ("/pub") or relative to the root ("pub").
 * @returns The normalized path, such as "/pub" or "/".
 * @throws {RangeError} If the path is empty, contains control characters or
 * climbs above the root with "..".
 *
 * @example
 * ```ts
 * normalizeHome("pub/./incoming/"); // "/pub/incoming"
 * ```
 */
export function normalizeHome(home: string): string {
  if (home === "") throw new RangeError("Home directory must not be empty");
  if (_CONTROL_CHARACTERS.test(home)) {
    throw new RangeError("Home directory must not contain control characters");
  }
  // Normalize as a relative path so a leading ".." stays visible instead of
  // being silently dropped as it would be for an absolute path.
  const relative = normalize(home.replace(/^\/+/, ""));
  if (relative === ".." || relative.startsWith("../")) {
    throw new RangeError(`Home directory "${home}" climbs above the served root`);
  }
  const trimmed = relative.replace(/\/+$/, "");
  return trimmed === "." || trimmed === "" ? "/" : `/${trimmed}`;
}

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
 * Checks that a name can be used for a user of the credentials file: 1-64
 * characters of `[A-Za-z0-9._@-]`, and not "anonymous" or "ftp" in any case.
 *
 * @param name The user name.
 * @throws {RangeError} If the name is not allowed.
 *
 * @example
 * ```ts
 * checkUserName("alice"); // ok
 * checkUserName("FTP"); // throws: reserved for anonymous login
 * ```
 */
export function checkUserName(name: string): void {
  if (!_NAME_PATTERN.test(name)) {
    throw new RangeError(
      `Invalid user name "${name}": expected 1-64 characters of A-Z a-z 0-9 . _ @ -`,
    );
  }
  if (_ANONYMOUS_NAMES.includes(name.toLowerCase())) {
    throw new RangeError(`User name "${name}" is reserved for anonymous login`);
  }
}

/** Checks one record, returning it normalized, or throws a RangeError naming the problem. */
function _checkUser(user: UserRecord): UserRecord {
  checkUserName(user.name);
  if (_parseHash(user.passwordHash) === null) {
    throw new RangeError(
      `Invalid password hash for user "${user.name}": expected scrypt$N$r$p$salt$key`,
    );
  }
  return {
    name: user.name,
    passwordHash: user.passwordHash,
    home: normalizeHome(user.home),
    permissions: parsePermissions(user.permissions),
  };
}

/**
 * Parses a credentials file. Each line is `name:hash:home:permissions`; blank
 * lines and lines starting with "#" are ignored. The home may itself contain
 * ":" (the permissions are the last field).
 *
 * @param text The file's content.
 * @returns The users, in file order, with homes and permissions normalized.
 * @throws {SyntaxError} "Cannot parse credentials line N: ..." on a bad line or
 * a duplicate name.
 *
 * @example
 * ```ts
 * const [demo] = parseCredentials("demo:scrypt$16384$8$1$c2FsdA==$a2V5...:/:elr\n");
 * ```
 */
export function parseCredentials(text: string): UserRecord[] {
  const users: UserRecord[] = [];
  const seen = new Set<string>();
  const lines = text.split("\n");
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const fail = (reason: string): never => {
      throw new SyntaxError(`Cannot parse credentials line ${index + 1}: ${reason}`);
    };
    const fields = line.split(":");
    if (fields.length < 4) {
      fail(`expected name:hash:home:permissions, got ${fields.length} fields`);
    }
    const name = fields[0] ?? "";
    const passwordHash = fields[1] ?? "";
    const permissions = fields[fields.length - 1] ?? "";
    const home = fields.slice(2, -1).join(":");
    let user: UserRecord;
    try {
      user = _checkUser({ name, passwordHash, home, permissions });
    } catch (error) {
      return fail(error instanceof Error ? _lowerFirst(error.message) : String(error));
    }
    if (seen.has(user.name)) fail(`duplicate user "${user.name}"`);
    seen.add(user.name);
    users.push(user);
  }
  return users;
}

function _lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** The comment written at the top of a new credentials file. */
const _DEFAULT_HEADER = [
  "ferry credentials file, one user per line:",
  "  name:hash:home:permissions",
  "hash        scrypt$N$r$p$saltBase64$keyBase64 (make it with `ferry user add` or `ferry user passwd`)",
  'home        virtual directory the user starts in, relative to the served root ("/" = all of it)',
  "permissions pyftpdlib letters: e=CWD l=list r=RETR a=APPE d=DELE/RMD f=rename m=MKD",
  "            w=STOR/STOU M=SITE CHMOD T=MFMT (elr = read-only)",
  "Lines starting with # are comments.",
].join("\n");

/**
 * Writes users in the format read by {@linkcode parseCredentials}, after a
 * comment header.
 *
 * @param users The users to write.
 * @param header Plain text put before the users, each line prefixed with "# ";
 * "" for no header. Defaults to a short description of the format.
 * @returns The file content, ending with a newline.
 * @throws {RangeError} If a record is invalid or two records share a name.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("credentials.txt", formatCredentials(users));
 * ```
 */
export function formatCredentials(
  users: readonly UserRecord[],
  header: string = _DEFAULT_HEADER,
): string {
  const seen = new Set<string>();
  const lines = header === ""
    ? []
    : header.replace(/\n$/, "").split("\n").map((line) => line === "" ? "#" : `# ${line}`);
  for (const record of users) {
    const user = _checkUser(record);
    if (seen.has(user.name)) throw new RangeError(`Duplicate user "${user.name}"`);
    seen.add(user.name);
    lines.push(`${user.name}:${user.passwordHash}:${user.home}:${user.permissions}`);
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/** Options of {@linkcode Authenticator}. */
export interface AuthenticatorOptions {
  /**
   * Enables anonymous read-only login ("anonymous" or "ftp", any password),
   * starting in `home`.
   *
   * @default {undefined} (anonymous login disabled)
   */
  anonymous?: { home: string };
}

/**
 * Checks logins against a list of users, and optionally lets anonymous users
 * in read-only.
 *
 * @example
 * ```ts
 * const auth = await Authenticator.fromFile("credentials.txt", { anonymous: { home: "/pub" } });
 * const user = await auth.authenticate("demo", "demo"); // UserRecord | null
 * ```
 */
export class Authenticator {
  #users = new Map<string, UserRecord>();
  #anonymous: UserRecord | null = null;
  #dummyHash: string;
  /** Recently verified logins: user → keyed tag of the password that worked. */
  readonly #verified = new Map<string, { tag: Uint8Array; hash: string; expires: number }>();
  readonly #cacheKey = randomBytes(32);
  /** Verifications running now, by user and keyed password tag. */
  readonly #verifying = new Map<string, Promise<boolean>>();

  /**
   * @param users The users; invalid records or duplicate names throw a RangeError.
   * @param options Anonymous login.
   */
  constructor(users: readonly UserRecord[], options: AuthenticatorOptions = {}) {
    for (const record of users) {
      const user = _checkUser(record);
      if (this.#users.has(user.name)) throw new RangeError(`Duplicate user "${user.name}"`);
      this.#users.set(user.name, Object.freeze(user));
    }
    if (options.anonymous !== undefined) {
      this.#anonymous = Object.freeze({
        name: "anonymous",
        passwordHash: "",
        home: normalizeHome(options.anonymous.home),
        permissions: READ_ONLY_PERMISSIONS,
      });
    }
    this.#dummyHash = _dummyHashFor([...this.#users.values()]);
  }

  /**
   * Reads users from a credentials file (see {@linkcode parseCredentials}).
   *
   * @param path The credentials file.
   * @param options Anonymous login.
   * @throws {Deno.errors.NotFound} If the file does not exist.
   * @throws {SyntaxError} If a line cannot be parsed.
   *
   * @example
   * ```ts
   * const auth = await Authenticator.fromFile("credentials.txt");
   * ```
   */
  static async fromFile(
    path: string,
    options: AuthenticatorOptions = {},
  ): Promise<Authenticator> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Deno.errors.NotFound(
          `Credentials file "${path}" not found; create it with \`ferry user add\``,
          { cause: error },
        );
      }
      throw error;
    }
    return new Authenticator(parseCredentials(text), options);
  }

  /**
   * Tells whether a login name means anonymous login.
   *
   * @param name The name sent with USER.
   * @returns True if anonymous login is enabled and name is "anonymous" or
   * "ftp" (case-insensitive).
   *
   * @example
   * ```ts
   * new Authenticator([], { anonymous: { home: "/" } }).isAnonymousName("FTP"); // true
   * ```
   */
  isAnonymousName(name: string): boolean {
    return this.#anonymous !== null && _ANONYMOUS_NAMES.includes(name.toLowerCase());
  }

  /**
   * Checks a login. Unknown users still spend the same scrypt time (verified
   * against a dummy hash) so timing does not reveal whether a user exists.
   * Anonymous users may give any password (by convention their e-mail
   * address) and get {@linkcode READ_ONLY_PERMISSIONS} under the name
   * "anonymous".
   *
   * @param name The name sent with USER (case-sensitive, except anonymous).
   * @param password The password sent with PASS.
   * @returns The user on success, null on failure.
   *
   * @example
   * ```ts
   * const user = await auth.authenticate("demo", "demo");
   * if (user === null) reply(530, "Login incorrect");
   * ```
   */
  async authenticate(name: string, password: string): Promise<UserRecord | null> {
    if (this.#anonymous !== null && this.isAnonymousName(name)) return this.#anonymous;
    const user = this.#users.get(name);
    if (user === undefined) {
      await verifyPassword(password, this.#dummyHash);
      return null;
    }
    const tag = createHmac("sha256", this.#cacheKey).update(password).digest();
    const cached = this.#verified.get(name);
    if (
      cached && cached.expires > Date.now() && cached.hash === user.passwordHash &&
      timingSafeEqual(cached.tag, tag)
    ) {
      return user;
    }
    // Logins arriving together with the same name and password share one scrypt run
    // (each takes 16 MiB and tens of milliseconds).
    const key = `${name}\0${tag.toString("hex")}`;
    let verifying = this.#verifying.get(key);
    if (!verifying) {
      verifying = verifyPassword(password, user.passwordHash)
        .finally(() => this.#verifying.delete(key));
      this.#verifying.set(key, verifying);
    }
    if (!await verifying) return null;
    this.#remember(name, { tag, hash: user.passwordHash, expires: Date.now() + _VERIFIED_TTL_MS });
    return user;
  }

  /**
   * Remembers a verified login, so the same user with the same password
   * logs in again without another scrypt run until it expires. Only a
   * keyed HMAC of the password is kept (the key is random per process);
   * wrong passwords and unknown users always pay the full scrypt cost.
   */
  #remember(name: string, entry: { tag: Uint8Array; hash: string; expires: number }): void {
    this.#verified.delete(name);
    this.#verified.set(name, entry);
    if (this.#verified.size > _VERIFIED_MAX) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
  }
}

/** How long a verified login is remembered. */
const _VERIFIED_TTL_MS = 10 * 60 * 1000;
/** How many verified logins are remembered at most. */
const _VERIFIED_MAX = 10_000;

/**
 * Makes a hash that matches no password and costs the same to verify as the
 * most common parameters among the users (the defaults if there are none).
 */
function _dummyHashFor(users: readonly UserRecord[]): string {
  const counts = new Map<string, { hash: _ScryptHash; count: number }>();
  for (const user of users) {
    const hash = _parseHash(user.passwordHash);
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
