/**
 * Splitting a shell line into words (quotes and backslashes as in sh, no
 * expansion) and the simple glob patterns `mget`/`mput` take: `*`, `?` and
 * `[...]` (with `[!...]` or `[^...]` for "not").
 *
 * @module
 */

/**
 * Splits a command line into words. Single quotes keep everything literally,
 * double quotes allow `\"` and `\\`, and a backslash outside quotes escapes
 * the next character.
 *
 * @example
 * ```ts
 * splitWords(`put "my file.txt" 'a b'`); // ["put", "my file.txt", "a b"]
 * ```
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) word += line[++i];
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (char === " " || char === "\t") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) throw new SyntaxError(`Unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/**
 * Quotes a word so that {@linkcode splitWords} gives it back unchanged
 * (used when completing names with spaces).
 *
 * @example
 * ```ts
 * quoteWord("my file.txt"); // "my\\ file.txt"
 * ```
 */
export function quoteWord(word: string): string {
  return word.replace(/([\s'"\\])/g, "\\$1");
}

/**
 * True if a word holds glob characters.
 *
 * @example
 * ```ts
 * hasGlob("*.txt"); // true
 * ```
 */
export function hasGlob(word: string): boolean {
  return /[*?[]/.test(word);
}

/**
 * Turns a glob into an anchored regular expression for one path segment:
 * `*` is any run of characters, `?` one character, `[...]` a class. Names
 * starting with "." are matched only by patterns starting with ".".
 *
 * @example
 * ```ts
 * globToRegExp("*.tx?").test("notes.txt"); // true
 * ```
 */
export function globToRegExp(glob: string): RegExp {
  let source = glob.startsWith(".") ? "" : "(?!\\.)";
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === "*") source += ".*";
    else if (char === "?") source += ".";
    else if (char === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) {
        source += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      source += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = end;
    } else source += char.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "s");
}
