/**
 * `ferry client ui` as a program: it prints its link, serves the page with
 * the installed program's permissions, fills the form from a URL and
 * `~/.netrc` without handing the password to the page, refuses a
 * non-loopback --listen, and stops on SIGTERM.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startTestServer } from "../helpers/test_server.ts";

const main = new URL("../../main.ts", import.meta.url).pathname;
/** The permissions `deno task install` gives ferry, less what the UI does not need. */
const PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env=HOME,FERRY_PASSWORD",
];

/** Deno's cache, so that a different HOME does not mean a fresh one. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
      .output())
      .stdout,
  ),
).denoDir;

interface UiProcess {
  child: Deno.ChildProcess;
  link: string;
  output: () => string;
}

async function startUi(args: string[], home: string): Promise<UiProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, main, "client", "ui", "--no-open", ...args],
    env: { HOME: home, NO_COLOR: "1", DENO_DIR },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  drain(child.stdout);
  drain(child.stderr);
  const deadline = Date.now() + 30_000;
  while (!/token=\S+/.test(text)) {
    if (Date.now() > deadline) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await child.status;
      throw new Error(`No link printed: ${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, link: /(http:\/\/\S+token=\S+)/.exec(text)![1]!, output: () => text };
}

Deno.test("ferry client ui prints a one-time link, serves the page and stops on SIGTERM", async () => {
  const home = await Deno.makeTempDir({ prefix: "ferry-ui-home-" });
  const ui = await startUi(["--local", home, "--listen", "127.0.0.1:0"], home);
  try {
    assert.match(ui.link, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{40,}$/);
    assert.match(ui.output(), /loopback only/);
    const response = await fetch(ui.link, { redirect: "manual" });
    await response.body?.cancel();
    assert.equal(response.status, 303);
    const cookie = response.headers.get("set-cookie")!.split(";")[0]!;
    const page = await fetch(new URL("/", ui.link), { headers: { cookie } });
    assert.match(await page.text(), /<title>ferry<\/title>/);
    const script = await fetch(new URL("/app.js", ui.link), { headers: { cookie } });
    assert.equal(script.status, 200);
    await script.body?.cancel();
  } finally {
    ui.child.kill("SIGTERM");
    const status = await ui.child.status;
    assert.equal(status.code, 0, ui.output());
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("ferry client ui fills the form from the URL and ~/.netrc, never showing the password", async () => {
  const server = await startTestServer();
  const home = await Deno.makeTempDir({ prefix: "ferry-ui-home-" });
  await Deno.writeTextFile(
    `${home}/.netrc`,
    "machine 127.0.0.1 login alice password wonderland\n",
    { mode: 0o600 },
  );
  const ui = await startUi([`ftp://alice@127.0.0.1:${server.port}/`, "--local", home], home);
  try {
    const response = await fetch(ui.link, { redirect: "manual" });
    await response.body?.cancel();
    const cookie = response.headers.get("set-cookie")!.split(";")[0]!;
    const origin = new URL(ui.link).origin;
    const stateText = await (await fetch(`${origin}/api/state`, { headers: { cookie } })).text();
    const state = JSON.parse(stateText);
    assert.equal(state.prefill.host, "127.0.0.1");
    assert.equal(state.prefill.port, server.port);
    assert.equal(state.prefill.user, "alice");
    assert.equal(state.prefill.savedPassword, true);
    assert.doesNotMatch(stateText, /wonderland/);
    // An empty password in the form means the saved one.
    const connected = await fetch(`${origin}/api/connect`, {
      method: "POST",
      headers: { cookie, origin, "content-type": "application/json" },
      body: JSON.stringify({ host: "127.0.0.1", port: server.port, user: "alice", password: "" }),
    });
    const body = await connected.text();
    assert.equal(connected.status, 200, body);
    assert.doesNotMatch(body, /wonderland/);
    const after = await (await fetch(`${origin}/api/state`, { headers: { cookie } })).text();
    assert.match(after, /> PASS \*\*\*\*/);
    assert.doesNotMatch(after, /wonderland/);
  } finally {
    ui.child.kill("SIGTERM");
    await ui.child.status;
    assert.doesNotMatch(ui.output(), /wonderland/);
    await Deno.remove(home, { recursive: true });
    await server.close();
  }
});

Deno.test("ferry client ui refuses a --listen address that is not loopback", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, main, "client", "ui", "--no-open", "--listen", "0.0.0.0:0"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 2);
  assert.match(new TextDecoder().decode(output.stderr), /loopback/);
});
