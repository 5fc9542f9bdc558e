/**
 * Making a hook's output safe to send as an FTP reply's text.
 *
 * @module
 */

/** The longest reply text taken from a hook's output, in characters. */
export const MAX_REPLY_TEXT = 200;

/**
 * The first non-empty line of `output`, made safe for a one-line reply:
 * control and format characters (C0, DEL, C1, bidi overrides, zero-width
 * marks, line and paragraph separators) become spaces, runs of spaces shrink to one, and the result is cut to
 * {@linkcode MAX_REPLY_TEXT} characters. Empty when there is no such line.
 *
 * @example
 * ```ts
 * firstReplyLine("\n  Virus found:\tEICAR\r\nmore"); // "Virus found: EICAR"
 * ```
 */
export function firstReplyLine(output: string): string {
  for (const line of output.split(/\r\n|[\r\n\u2028\u2029]/)) {
    const clean = line.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, " ")
      .replace(/\s+/g, " ").trim();
    if (clean === "") continue;
    const chars = [...clean];
    return chars.length > MAX_REPLY_TEXT ? chars.slice(0, MAX_REPLY_TEXT).join("") : clean;
  }
  return "";
}
