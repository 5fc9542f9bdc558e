/**
 * Virtual paths: the POSIX paths a client sees, always absolute and rooted at
 * the user's home. Nothing here touches the disk; the storage module maps a
 * virtual path to a real one.
 *
 * @module
 */

import * as posix from "node:path/posix";

/** Thrown for a path argument that can never name a file (NUL, CR or LF in it). */
export class InvalidPathError extends Error {
  /** Creates the error. */
  constructor(message = "Invalid path") {
    super(message);
    this.name = "InvalidPathError";
  }
}

/**
 * Resolves a path argument against the working directory into a normalized
 * absolute virtual path. Backslashes count as separators, and `..` can never
 * climb above "/", so the result always stays inside the virtual root.
 *
 * @example
 * ```ts
 * resolveVirtualPath("/docs", "../../etc/passwd"); // "/etc/passwd"
 * resolveVirtualPath("/docs", "a\\b"); // "/docs/a/b"
 * ```
 */
export function resolveVirtualPath(cwd: string, input: string): string {
  if (/[\0\r\n]/.test(input)) throw new InvalidPathError("Path contains NUL, CR or LF");
  const slashed = input.replaceAll("\\", "/");
  const joined = slashed.startsWith("/") ? slashed : `${cwd}/${slashed}`;
  const normalized = posix.normalize(`/${joined}`);
  return normalized.length > 1 && normalized.endsWith("/") ? normalized.slice(0, -1) : normalized;
}

/**
 * Quotes a path for a 257 reply (RFC 959 Appendix II): wrapped in double
 * quotes, embedded double quotes doubled.
 *
 * @example
 * ```ts
 * quotePath('/a "b"'); // '"/a ""b"""'
 * ```
 */
export function quotePath(path: string): string {
  return `"${path.replaceAll('"', '""')}"`;
}

/**
 * Reads the path out of a 257 reply text, undoing {@linkcode quotePath}.
 * Returns undefined if the text holds no quoted path.
 *
 * @example
 * ```ts
 * unquotePath('"/a ""b""" is the current directory'); // '/a "b"'
 * ```
 */
export function unquotePath(text: string): string | undefined {
  const start = text.indexOf('"');
  if (start < 0) return undefined;
  let path = "";
  for (let i = start + 1; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      if (text[i + 1] === '"') {
        path += '"';
        i++;
      } else {
        return path;
      }
    } else {
      path += char;
    }
  }
  return undefined;
}
