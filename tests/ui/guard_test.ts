/**
 * The UI server refuses every request without the session from the
 * one-time link, with a Host that is not its own, or from another origin;
 * and its responses carry a strict Content-Security-Policy.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  allowedHosts,
  checkHostAndOrigin,
  CONTENT_SECURITY_POLICY,
  readCookie,
  RequestRefused,
} from "../../client/ui/guard.ts";
import { isLoopbackAddress } from "../../client/ui/loopback.ts";
import { LocalJail } from "../../client/ui/local_jail.ts";
import { startUiServer, type UiServer } from "../../client/ui/ui_server.ts";

const ROUTES: [string, string][] = [
  ["GET", "/"],
  ["GET", "/app.js"],
  ["GET", "/style.css"],
  ["GET", "/api/state"],
  ["GET", "/api/events"],
  ["GET", "/api/local/list?path=/"],
  ["GET", "/api/remote/list?path=/"],
  ["POST", "/api/connect"],
  ["POST", "/api/local/delete"],
  ["POST", "/api/transfers"],
  ["POST", "/api/uploads"],
  ["PUT", "/api/uploads/1?path=a"],
  ["GET", "/nothing-here"],
];

async function withUi(work: (ui: UiServer, local: string) => Promise<void>): Promise<void> {
  const local = await Deno.makeTempDir({ prefix: "ferry-ui-guard-" });
  const ui = await startUiServer({ jail: await LocalJail.open(local) });
  try {
    await work(ui, local);
  } finally {
    await ui.close();
    await Deno.remove(local, { recursive: true });
  }
}

/** A raw HTTP/1.1 request, so that Host can be anything (fetch sets it itself). */
async function rawRequest(
  port: number,
  lines: string[],
): Promise<{ status: number; text: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(`${lines.join("\r\n")}\r\nConnection: close\r\n\r\n`),
    );
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(16384);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    const text = new TextDecoder().decode(
      chunks.reduce((all, chunk) => new Uint8Array([...all, ...chunk]), new Uint8Array()),
    );
    return { status: Number(text.split(" ")[1]), text };
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the server
    }
  }
}

/** Opens the one-time link; returns the session cookie ("name=value"). */
async function signIn(ui: UiServer): Promise<string> {
  const response = await fetch(ui.link, { redirect: "manual" });
  await response.body?.cancel();
  assert.equal(response.status, 303);
  const setCookie = response.headers.get("set-cookie") ?? "";
  assert.match(setCookie, /; HttpOnly/);
  assert.match(setCookie, /; SameSite=Strict/);
  assert.match(setCookie, /; Path=\//);
  return setCookie.split(";")[0]!;
}

Deno.test("guard: allowedHosts() names the listening address and localhost, with the port", () => {
  assert.deepEqual(allowedHosts("127.0.0.1", 4000), ["127.0.0.1:4000", "localhost:4000"]);
  assert.deepEqual(allowedHosts("::1", 4000), ["[::1]:4000", "localhost:4000"]);
});

Deno.test("guard: checkHostAndOrigin() refuses other hosts, origins and cross-site fetches", () => {
  const hosts = allowedHosts("127.0.0.1", 4000);
  const check = (headers: Record<string, string>, method = "GET") =>
    checkHostAndOrigin(new Request("http://127.0.0.1:4000/api/state", { method, headers }), hosts);
  check({ host: "127.0.0.1:4000" });
  check({ host: "localhost:4000", origin: "http://localhost:4000" }, "POST");
  const refused = (headers: Record<string, string>, method = "GET") =>
    assert.throws(() => check(headers, method), RequestRefused);
  refused({ host: "evil.example:4000" });
  refused({ host: "127.0.0.1:4001" });
  refused({ host: "127.0.0.1:4000", origin: "http://evil.example" });
  refused({ host: "127.0.0.1:4000", origin: "http://127.0.0.1:4001" });
  refused({ host: "127.0.0.1:4000", origin: "null" });
  refused({ host: "127.0.0.1:4000", "sec-fetch-site": "cross-site" });
  refused({ host: "127.0.0.1:4000", "sec-fetch-site": "same-site" });
  refused({ host: "127.0.0.1:4000" }, "POST");
});

Deno.test("guard: readCookie() finds one cookie among several", () => {
  assert.equal(readCookie("a=1; ferry_ui_5=xyz; b=2", "ferry_ui_5"), "xyz");
  assert.equal(readCookie("a=1", "ferry_ui_5"), undefined);
  assert.equal(readCookie(null, "ferry_ui_5"), undefined);
});

Deno.test("guard: --listen accepts loopback addresses only", async () => {
  assert.ok(isLoopbackAddress("127.0.0.1"));
  assert.ok(isLoopbackAddress("127.8.9.10"));
  assert.ok(isLoopbackAddress("::1"));
  assert.ok(!isLoopbackAddress("0.0.0.0"));
  assert.ok(!isLoopbackAddress("::"));
  assert.ok(!isLoopbackAddress("192.168.1.2"));
  assert.ok(!isLoopbackAddress("localhost"));
  const local = await Deno.makeTempDir();
  try {
    await assert.rejects(
      startUiServer({ jail: await LocalJail.open(local), hostname: "0.0.0.0" }),
      RangeError,
    );
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("ui server: without the token's session every request is refused", async () => {
  await withUi(async (ui) => {
    for (const [method, path] of ROUTES) {
      const response = await fetch(`${ui.origin}${path}`, {
        method,
        headers: { origin: ui.origin, "content-type": "application/json" },
        ...(method === "GET" ? {} : { body: "{}" }),
      });
      await response.body?.cancel();
      assert.equal(response.status, 403, `${method} ${path}`);
    }
    // A wrong token and a made-up cookie do not help.
    const wrong = await fetch(`${ui.origin}/?token=guess`, { redirect: "manual" });
    await wrong.body?.cancel();
    assert.equal(wrong.status, 403);
    const forged = await fetch(`${ui.origin}/api/state`, {
      headers: { cookie: `ferry_ui_${ui.port}=forged` },
    });
    await forged.body?.cancel();
    assert.equal(forged.status, 403);
  });
});

Deno.test("ui server: the token works once, and its session opens the page with a strict CSP", async () => {
  await withUi(async (ui) => {
    const cookie = await signIn(ui);
    const again = await fetch(ui.link, { redirect: "manual" });
    await again.body?.cancel();
    assert.equal(again.status, 403, "a second use of the link");
    const page = await fetch(`${ui.origin}/`, { headers: { cookie } });
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe/);
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    assert.equal(page.headers.get("referrer-policy"), "no-referrer");
    // No inline script or style, nothing from another host.
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
    for (
      const asset of ["/app.js", "/api.js", "/panes.js", "/queue.js", "/dialogs.js", "/format.js"]
    ) {
      const response = await fetch(`${ui.origin}${asset}`, { headers: { cookie } });
      const text = await response.text();
      assert.equal(response.status, 200, asset);
      assert.match(response.headers.get("content-type") ?? "", /javascript/);
      assert.doesNotMatch(text, /https?:\/\/(?!127\.0\.0\.1)/, `${asset} names no outside host`);
      assert.doesNotMatch(text, /\beval\(|new Function\(|innerHTML/, asset);
    }
    const state = await fetch(`${ui.origin}/api/state`, { headers: { cookie } });
    assert.equal(state.status, 200);
    assert.equal((await state.json()).connection, null);
  });
});

Deno.test("ui server: with the session, a wrong Host or another Origin is still refused", async () => {
  await withUi(async (ui) => {
    const cookie = await signIn(ui);
    const good = await rawRequest(ui.port, [
      "GET /api/state HTTP/1.1",
      `Host: 127.0.0.1:${ui.port}`,
      `Cookie: ${cookie}`,
    ]);
    assert.equal(good.status, 200);
    for (const host of ["evil.example", `evil.example:${ui.port}`, `127.0.0.1:${ui.port + 1}`]) {
      for (const [method, path] of ROUTES) {
        const result = await rawRequest(ui.port, [
          `${method} ${path} HTTP/1.1`,
          `Host: ${host}`,
          `Cookie: ${cookie}`,
          "Content-Length: 0",
        ]);
        assert.equal(result.status, 400, `${method} ${path} with Host ${host}`);
      }
    }
    // DNS rebinding with a fresh token link is refused too.
    const rebound = await rawRequest(ui.port, [
      `GET /?token=${new URL(ui.link).searchParams.get("token")} HTTP/1.1`,
      `Host: rebind.example:${ui.port}`,
    ]);
    assert.equal(rebound.status, 400);
    for (const origin of ["http://evil.example", `http://127.0.0.1:${ui.port + 1}`, "null"]) {
      for (const [method, path] of ROUTES) {
        const response = await fetch(`${ui.origin}${path}`, {
          method,
          headers: { cookie, origin, "content-type": "application/json" },
          ...(method === "GET" ? {} : { body: "{}" }),
        });
        await response.body?.cancel();
        assert.equal(response.status, 403, `${method} ${path} from ${origin}`);
      }
    }
    const crossSite = await fetch(`${ui.origin}/api/state`, {
      headers: { cookie, "sec-fetch-site": "cross-site" },
    });
    await crossSite.body?.cancel();
    assert.equal(crossSite.status, 403);
  });
});

Deno.test("ui server: the local API refuses .. and symbolic links out of --local", async () => {
  const outside = await Deno.makeTempDir({ prefix: "ferry-ui-outside-" });
  await Deno.writeTextFile(`${outside}/secret.txt`, "secret");
  try {
    await withUi(async (ui, local) => {
      await Deno.mkdir(`${local}/inside`);
      await Deno.symlink(outside, `${local}/link-out`);
      await Deno.symlink(`${local}/inside`, `${local}/link-in`);
      const cookie = await signIn(ui);
      const list = async (path: string) => {
        const response = await fetch(
          `${ui.origin}/api/local/list?path=${encodeURIComponent(path)}`,
          { headers: { cookie } },
        );
        return { status: response.status, body: await response.json() };
      };
      assert.equal((await list("/")).status, 200);
      assert.equal((await list("/link-in")).status, 200, "a link that stays inside is fine");
      for (const path of ["/..", "..", "/inside/../..", "/./inside", "/link-out", "/link-out/"]) {
        const result = await list(path);
        assert.equal(result.status, 403, path);
        assert.ok(typeof result.body.error === "string");
      }
      const post = (route: string, body: unknown) =>
        fetch(`${ui.origin}${route}`, {
          method: "POST",
          headers: { cookie, origin: ui.origin, "content-type": "application/json" },
          body: JSON.stringify(body),
        }).then(async (response) => {
          await response.body?.cancel();
          return response.status;
        });
      assert.equal(await post("/api/local/delete", { path: "/link-out/secret.txt" }), 403);
      assert.equal(await post("/api/local/delete", { path: "/../x" }), 403);
      assert.equal(await post("/api/local/mkdir", { dir: "/link-out", name: "x" }), 403);
      assert.equal(await post("/api/local/mkdir", { dir: "/", name: ".." }), 400);
      assert.equal(await post("/api/local/rename", { path: "/inside", name: "../moved" }), 400);
      assert.equal(await Deno.readTextFile(`${outside}/secret.txt`), "secret");
      // Deleting the link removes the link, not what it points to.
      assert.equal(await post("/api/local/delete", { path: "/link-out" }), 200);
      assert.equal(await Deno.readTextFile(`${outside}/secret.txt`), "secret");
    });
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});
