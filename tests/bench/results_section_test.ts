import assert from "node:assert/strict";
import { keepSections, setSection } from "../../bench/results_section.ts";

Deno.test("setSection() appends a marked section once, then replaces it", () => {
  const once = setSection("# Results\n\n| a |\n", "balancer", "## Sessions\n\nold");
  assert.match(
    once,
    /^# Results\n\n\| a \|\n\n<!-- section:balancer -->\n\n## Sessions\n\nold\n\n/,
  );
  const twice = setSection(once, "balancer", "## Sessions\n\nnew");
  assert.equal(twice.match(/<!-- section:balancer -->/g)?.length, 1);
  assert.match(twice, /new/);
  assert.doesNotMatch(twice, /old/);
});

Deno.test("keepSections() carries other benchmarks' sections into a rewritten file", () => {
  const previous = setSection("# Results\n\nold table\n", "balancer", "## Sessions\n\n42");
  const fresh = keepSections(previous, "# Results\n\nnew table\n");
  assert.match(fresh, /new table/);
  assert.doesNotMatch(fresh, /old table/);
  assert.match(fresh, /## Sessions\n\n42/);
  assert.equal(keepSections(fresh, fresh), fresh);
});

Deno.test("keepSections() keeps every section of bench/RESULTS.md after the main table", async () => {
  const file = new URL("../../bench/RESULTS.md", import.meta.url);
  const previous = await Deno.readTextFile(file);
  const fresh = keepSections(previous, "# Benchmark results\n\nnew table\n");
  const headings = (text: string): string[] => text.match(/^## .+$/gm) ?? [];
  const mainTable = previous.slice(0, previous.indexOf("<!-- section:"));
  const kept = headings(previous).filter((h) => !headings(mainTable).includes(h));
  assert.ok(kept.length >= 6);
  assert.deepEqual(headings(fresh), kept);
});
