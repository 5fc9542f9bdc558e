/**
 * Tab completion for the shell: command names for the first word, then
 * remote names (from a cached listing of the directory being typed), local
 * names or fixed keywords, as the command's table entry says.
 *
 * @module
 */

import { commandNames, findCommand } from "./commands.ts";
import type { ShellSession } from "./session.ts";
import { quoteWord } from "./words.ts";

/** The word being typed: everything after the last unescaped space. */
function currentWord(line: string): { before: string; word: string } {
  for (let i = line.length - 1; i >= 0; i--) {
    if ((line[i] === " " || line[i] === "\t") && line[i - 1] !== "\\") {
      return { before: line.slice(0, i + 1), word: line.slice(i + 1) };
    }
  }
  return { before: "", word: line };
}

function unescape(word: string): string {
  return word.replace(/\\(.)/g, "$1").replace(/^["']/, "");
}

async function remoteNames(session: ShellSession, dir: string): Promise<[string, boolean][]> {
  if (!session.client) return [];
  const where = dir === "" ? "." : dir;
  const entries = session.busy
    ? await session.listRemote(where, { cachedOnly: true })
    : await session.serialize(() => session.listRemote(where));
  return entries.map((entry) => [entry.name, entry.type === "dir"]);
}

async function localNames(session: ShellSession, dir: string): Promise<[string, boolean][]> {
  const names: [string, boolean][] = [];
  for await (const entry of Deno.readDir(session.localPath(dir === "" ? "." : dir))) {
    names.push([entry.name, entry.isDirectory]);
  }
  return names;
}

/**
 * Makes the completer for a session: given the line up to the cursor, the
 * candidates for the word being typed and that word.
 *
 * @example
 * ```ts ignore
 * const complete = shellCompleter(session);
 * await complete("get no"); // [["notes.txt"], "no"]
 * ```
 */
export function shellCompleter(
  session: ShellSession,
): (line: string) => Promise<[string[], string]> {
  return async (line) => {
    const { before, word } = currentWord(line);
    const first = before.trim().split(/\s+/)[0] ?? "";
    if (before.trim() === "") {
      return [commandNames().filter((name) => name.startsWith(word.toLowerCase())), word];
    }
    const completion = findCommand(first)?.completion;
    if (!completion) return [[], word];
    if (completion === "command") {
      return [commandNames().filter((name) => name.startsWith(word)), word];
    }
    if (typeof completion !== "string") {
      return [completion.filter((value) => value.startsWith(word)), word];
    }
    const plain = unescape(word);
    const slash = plain.lastIndexOf("/");
    const dir = slash < 0 ? "" : plain.slice(0, slash + 1);
    const prefix = plain.slice(slash + 1);
    let names: [string, boolean][];
    try {
      names = completion === "remote"
        ? await remoteNames(session, dir)
        : await localNames(session, dir);
    } catch {
      return [[], word];
    }
    const hits = names
      .filter(([name]) =>
        name.startsWith(prefix) && (prefix.startsWith(".") || !name.startsWith("."))
      )
      .map(([name, isDir]) => quoteWord(dir + name) + (isDir ? "/" : ""))
      .sort();
    return [hits, word];
  };
}
