/**
 * pyftpdlib's permission letters, which many FTP admins know.
 *
 * @module
 */

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
 * parsePermissions("rle") === READ_ONLY_PERMISSIONS; // true
 * ```
 */
export const READ_ONLY_PERMISSIONS = "elr";

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
