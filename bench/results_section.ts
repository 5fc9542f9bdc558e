/**
 * Named sections of bench/RESULTS.md written by benchmarks other than the
 * main pass, or by targeted runs of it (`<!-- section:NAME -->` …
 * `<!-- /section:NAME -->`): one benchmark replaces its own section, and the
 * main pass, which rewrites the file, carries the others over.
 *
 * @module
 */

const SECTION = /<!-- section:([\w-]+) -->[\s\S]*?<!-- \/section:\1 -->\n?/g;

/**
 * `markdown` with section `name` set to `body` (appended if it was not there).
 *
 * @example
 * ```ts
 * setSection("# Results\n", "balancer", "## Sessions\n"); // appends the marked section
 * ```
 */
export function setSection(markdown: string, name: string, body: string): string {
  const block = `<!-- section:${name} -->\n\n${body.trim()}\n\n<!-- /section:${name} -->\n`;
  let found = false;
  const replaced = markdown.replace(SECTION, (whole, sectionName: string) => {
    if (sectionName !== name) return whole;
    found = true;
    return block;
  });
  return found ? replaced : `${markdown.trimEnd()}\n\n${block}`;
}

/**
 * `fresh` with every marked section of `previous` appended (those it does not already have).
 *
 * @example
 * ```ts ignore
 * keepSections(oldResults, newMainTable);
 * ```
 */
export function keepSections(previous: string, fresh: string): string {
  let out = fresh;
  for (const match of previous.matchAll(SECTION)) {
    if (!out.includes(`<!-- section:${match[1]} -->`)) out = `${out.trimEnd()}\n\n${match[0]}`;
  }
  return out;
}
