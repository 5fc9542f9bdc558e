import assert from "node:assert/strict";
import {
  InvalidPathError,
  quotePath,
  resolveVirtualPath,
  unquotePath,
} from "../../protocol/virtual_path.ts";

Deno.test("resolveVirtualPath() resolves relative paths against the working directory", () => {
  const cases: [string, string, string][] = [
    ["/", "a.txt", "/a.txt"],
    ["/docs", "a.txt", "/docs/a.txt"],
    ["/docs", "./sub/../b", "/docs/b"],
    ["/docs", "..", "/"],
    ["/docs/x", "../y", "/docs/y"],
    ["/docs", "", "/docs"],
    ["/docs", ".", "/docs"],
    ["/", "a//b///c", "/a/b/c"],
    ["/docs", "my file.txt", "/docs/my file.txt"],
  ];
  for (const [cwd, input, expected] of cases) {
    assert.equal(resolveVirtualPath(cwd, input), expected, `${cwd} + ${input}`);
  }
});

Deno.test("resolveVirtualPath() takes absolute paths as they are", () => {
  assert.equal(resolveVirtualPath("/docs", "/etc/passwd"), "/etc/passwd");
  assert.equal(resolveVirtualPath("/docs", "//x"), "/x");
  assert.equal(resolveVirtualPath("/docs", "/"), "/");
});

Deno.test("resolveVirtualPath() never climbs above the root", () => {
  const cases: [string, string, string][] = [
    ["/docs", "../../etc/passwd", "/etc/passwd"],
    ["/", "..", "/"],
    ["/", "../../../..", "/"],
    ["/", "/../..", "/"],
    ["/a", "b/../../../../c", "/c"],
    ["/", "..\\..\\windows", "/windows"],
    ["/", "...", "/..."],
  ];
  for (const [cwd, input, expected] of cases) {
    assert.equal(resolveVirtualPath(cwd, input), expected, `${cwd} + ${input}`);
  }
});

Deno.test("resolveVirtualPath() treats backslashes as separators", () => {
  assert.equal(resolveVirtualPath("/docs", "a\\b"), "/docs/a/b");
  assert.equal(resolveVirtualPath("/docs", "\\root"), "/root");
  assert.equal(resolveVirtualPath("/docs", "a\\..\\..\\..\\x"), "/x");
});

Deno.test("resolveVirtualPath() drops a trailing slash", () => {
  assert.equal(resolveVirtualPath("/", "dir/"), "/dir");
  assert.equal(resolveVirtualPath("/", "dir/sub//"), "/dir/sub");
  assert.equal(resolveVirtualPath("/docs", "./"), "/docs");
  assert.equal(resolveVirtualPath("/", "dir\\"), "/dir");
});

Deno.test("resolveVirtualPath() throws InvalidPathError on NUL, CR or LF", () => {
  for (const input of ["a\0b", "a\rb", "a\nb", "\0"]) {
    assert.throws(() => resolveVirtualPath("/", input), InvalidPathError, JSON.stringify(input));
  }
});

Deno.test("quotePath() wraps the path and doubles embedded quotes", () => {
  assert.equal(quotePath("/docs"), '"/docs"');
  assert.equal(quotePath('/a "b"'), '"/a ""b"""');
  assert.equal(quotePath(""), '""');
});

Deno.test("unquotePath() reads the quoted path out of a 257 reply text", () => {
  assert.equal(unquotePath('"/docs" is the current directory'), "/docs");
  assert.equal(unquotePath('"/a ""b""" is the current directory'), '/a "b"');
  assert.equal(unquotePath('MKD: "/new dir" created'), "/new dir");
  assert.equal(unquotePath('""'), "");
});

Deno.test("unquotePath() returns undefined without a complete quoted path", () => {
  assert.equal(unquotePath("no quotes here"), undefined);
  assert.equal(unquotePath('"/unterminated'), undefined);
  assert.equal(unquotePath('"/a ""'), undefined);
});

Deno.test("unquotePath() undoes quotePath()", () => {
  const paths = ["/", "/docs", '/a "b"', '"', '""', '/x"', ' spaced / "q" ', "/ünï/日本"];
  for (const path of paths) {
    assert.equal(unquotePath(quotePath(path)), path, path);
    assert.equal(unquotePath(`${quotePath(path)} is the current directory.`), path, path);
  }
});
