import assert from "node:assert/strict";
import { ClientError, ExitCode } from "../../client/errors.ts";
import { parseFtpUrl, parseNetrc, resolveCredentials } from "../../client/url.ts";

Deno.test("parseFtpUrl() reads user, password, host, port and path", () => {
  assert.deepEqual(parseFtpUrl("ftp://bob:pw@example.org:2121/dir/a.txt"), {
    host: "example.org",
    port: 2121,
    user: "bob",
    password: "pw",
    path: "/dir/a.txt",
    directory: false,
    scheme: "ftp",
  });
});

Deno.test("parseFtpUrl() defaults to port 21 and the root path", () => {
  const url = parseFtpUrl("ftp://example.org");
  assert.equal(url.port, 21);
  assert.equal(url.path, "/");
  assert.equal(url.directory, true);
  assert.equal(url.user, undefined);
});

Deno.test("parseFtpUrl() accepts IPv6 literals and strips their brackets", () => {
  const url = parseFtpUrl("ftp://[::1]:2121/x/");
  assert.equal(url.host, "::1");
  assert.equal(url.port, 2121);
  assert.equal(url.directory, true);
  assert.equal(parseFtpUrl("ftp://[2001:db8::7]/").host, "2001:db8::7");
});

Deno.test("parseFtpUrl() decodes percent-escapes in user, password and path", () => {
  const url = parseFtpUrl("ftp://a%40b:p%3Aw%2F@h/dir/a%20b%25.txt");
  assert.equal(url.user, "a@b");
  assert.equal(url.password, "p:w/");
  assert.equal(url.path, "/dir/a b%.txt");
});

Deno.test("parseFtpUrl() rejects bad URLs, other schemes and CR/LF with exit code 2", () => {
  for (const text of ["not a url", "http://h/x", "ftp://h/a%0D%0ADELE%20x", "ftp://h/%E0%A4%A"]) {
    assert.throws(
      () => parseFtpUrl(text),
      (error) => error instanceof ClientError && error.exitCode === ExitCode.Usage,
      text,
    );
  }
});

Deno.test("parseNetrc() reads machines, the default entry and skips account and macdef", () => {
  const machines = parseNetrc(
    "machine a login u1 password p1 account x\nmachine b\n  login u2\n  password p2\ndefault login d password dp\n",
  );
  assert.deepEqual(machines.get("a"), { login: "u1", password: "p1" });
  assert.deepEqual(machines.get("b"), { login: "u2", password: "p2" });
  assert.deepEqual(machines.get(""), { login: "d", password: "dp" });
});

const netrc = (text: string) => (path: string) =>
  Promise.resolve(path === "/home/me/.netrc" ? text : undefined);

Deno.test("resolveCredentials() prefers the URL's user and password over everything", async () => {
  const credentials = await resolveCredentials(parseFtpUrl("ftp://u:p@h/"), {
    userOption: "other:x",
    env: { FERRY_PASSWORD: "env", HOME: "/home/me" },
    readFile: netrc("machine h login n password np"),
  });
  assert.deepEqual(credentials, { user: "u", password: "p" });
});

Deno.test("resolveCredentials() takes --user NAME:PASS next", async () => {
  const credentials = await resolveCredentials(parseFtpUrl("ftp://h/"), {
    userOption: "bob:secret:colon",
    env: { FERRY_PASSWORD: "env" },
  });
  assert.deepEqual(credentials, { user: "bob", password: "secret:colon" });
});

Deno.test("resolveCredentials() takes FERRY_PASSWORD for --user NAME", async () => {
  const credentials = await resolveCredentials(parseFtpUrl("ftp://h/"), {
    userOption: "bob",
    env: { FERRY_PASSWORD: "env", HOME: "/home/me" },
    readFile: netrc("machine h login bob password np"),
  });
  assert.deepEqual(credentials, { user: "bob", password: "env" });
});

Deno.test("resolveCredentials() falls back to ~/.netrc for the host, then its default", async () => {
  const sources = { env: { HOME: "/home/me" } };
  assert.deepEqual(
    await resolveCredentials(parseFtpUrl("ftp://h/"), {
      ...sources,
      readFile: netrc("machine h login n password np default login d password dp"),
    }),
    { user: "n", password: "np" },
  );
  assert.deepEqual(
    await resolveCredentials(parseFtpUrl("ftp://other/"), {
      ...sources,
      readFile: netrc("machine h login n password np default login d password dp"),
    }),
    { user: "d", password: "dp" },
  );
});

Deno.test("resolveCredentials() ignores a .netrc entry for a different user", async () => {
  const credentials = await resolveCredentials(parseFtpUrl("ftp://bob@h/"), {
    env: { HOME: "/home/me" },
    readFile: netrc("machine h login carol password cp"),
    prompt: () => Promise.resolve("typed"),
  });
  assert.deepEqual(credentials, { user: "bob", password: "typed" });
});

Deno.test("resolveCredentials() prompts only when a user has no password", async () => {
  let asked = "";
  const credentials = await resolveCredentials(parseFtpUrl("ftp://bob@h/"), {
    prompt: (message) => {
      asked = message;
      return Promise.resolve("typed");
    },
  });
  assert.deepEqual(credentials, { user: "bob", password: "typed" });
  assert.match(asked, /bob@h/);
});

Deno.test("resolveCredentials() is anonymous when nothing is given", async () => {
  assert.deepEqual(await resolveCredentials(parseFtpUrl("ftp://h/"), { env: {} }), {
    user: "anonymous",
    password: "anonymous@",
  });
});

Deno.test("resolveCredentials() fails with exit 4 for a user without any password", async () => {
  await assert.rejects(
    resolveCredentials(parseFtpUrl("ftp://bob@h/"), { env: {} }),
    (error) => error instanceof ClientError && error.exitCode === ExitCode.Login,
  );
});
