import assert from "node:assert/strict";

const repo = new URL("../..", import.meta.url).pathname;

Deno.test("deno task install puts a working ferry on PATH (serve narrowed, client, user, FTPS)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-install-" });
  const decoder = new TextDecoder();
  try {
    const installed = await new Deno.Command(Deno.execPath(), {
      args: ["task", "install", "--root", `${dir}/root`],
      cwd: repo,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    assert.equal(installed.code, 0, decoder.decode(installed.stderr));
    const ferry = `${dir}/root/bin/ferry`;
    const path = `${Deno.execPath().replace(/\/[^/]+$/, "")}:${Deno.env.get("PATH") ?? ""}`;
    const run = (args: string[], stdin?: string) => {
      const child = new Deno.Command(ferry, {
        args,
        cwd: dir,
        env: { PATH: path, HOME: dir },
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).spawn();
      if (stdin !== undefined) {
        const writer = child.stdin.getWriter();
        writer.write(new TextEncoder().encode(stdin)).then(() => writer.close());
      }
      return child;
    };
    const added = await run(["user", "add", "bob", "--password-stdin"], "pw\n").output();
    assert.equal(added.code, 0, decoder.decode(added.stderr));
    const made = await run(["cert", "make", "--host", "127.0.0.1"]).output();
    assert.equal(made.code, 0, decoder.decode(made.stderr));
    // FTPS with session reuse required on data connections (the default).
    const server = run([
      "serve",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--tls-cert",
      "cert.pem",
      "--tls-key",
      "key.pem",
    ]);
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let ready = "";
    while (!ready.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      ready += value;
    }
    const port = /127\.0\.0\.1:(\d+)/.exec(ready)?.[1];
    assert.ok(port, ready);
    await Deno.writeTextFile(`${dir}/hello.txt`, "hello\n");
    const put = await run([
      "client",
      "put",
      "-q",
      `${dir}/hello.txt`,
      `ftp://bob:pw@127.0.0.1:${port}/`,
    ])
      .output();
    assert.equal(put.code, 0, decoder.decode(put.stderr));
    const ls = await run(["client", "ls", `ftp://bob:pw@127.0.0.1:${port}/`]).output();
    assert.equal(decoder.decode(ls.stdout).trim(), "hello.txt");
    // The installed client resumes the TLS session (OpenSSL through --allow-ffi).
    const tlsLs = await run([
      "client",
      "ls",
      "--tls",
      "--ca-file",
      "cert.pem",
      `ftp://bob:pw@127.0.0.1:${port}/`,
    ]).output();
    assert.equal(tlsLs.code, 0, decoder.decode(tlsLs.stderr));
    assert.equal(decoder.decode(tlsLs.stdout).trim(), "hello.txt");
    assert.equal(await Deno.readTextFile(`${dir}/srv/hello.txt`), "hello\n");
    // The installed ferry serves the browser client, its page's files included.
    const ui = run(["client", "ui", "--no-open", "--local", dir]);
    const uiReader = ui.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let uiText = "";
    while (!/token=\S+\n/.test(uiText)) {
      const { value, done } = await uiReader.read();
      if (done) break;
      uiText += value;
    }
    const link = /(http:\/\/\S+token=\S+)/.exec(uiText)?.[1];
    assert.ok(link, uiText);
    const signIn = await fetch(link, { redirect: "manual" });
    await signIn.body?.cancel();
    const cookie = signIn.headers.get("set-cookie")?.split(";")[0] ?? "";
    const script = await fetch(new URL("/app.js", link), { headers: { cookie } });
    assert.equal(script.status, 200);
    await script.body?.cancel();
    ui.kill("SIGTERM");
    assert.equal((await ui.status).code, 0);
    uiReader.releaseLock();
    await ui.stdout.cancel().catch(() => {});
    await ui.stderr.cancel();
    server.kill("SIGTERM");
    assert.equal((await server.status).code, 0);
    reader.releaseLock();
    await server.stdout.cancel().catch(() => {});
    await server.stderr.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
