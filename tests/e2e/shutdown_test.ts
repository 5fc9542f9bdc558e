import assert from "node:assert/strict";
import { readReadyLine, startServe } from "./cli_helpers.ts";
import { closeQuietly, format, RawClient, withTimeout } from "../helpers/raw_client.ts";

const main = new URL("../../main.ts", import.meta.url).pathname;
const encoder = new TextEncoder();

async function addUser(credentials: string): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      main,
      "user",
      "add",
      "demo",
      "--password-stdin",
      "--credentials",
      credentials,
    ],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode("demo\n"));
  await writer.close();
  const output = await child.output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("ferry serve on SIGTERM refuses new connections, closes idle sessions, lets a slow upload finish with 226 and exits 0", async () => {
  const dir = await Deno.makeTempDir();
  const credentials = `${dir}/creds.txt`;
  await addUser(credentials);
  const server = startServe(dir, credentials, { extra: ["--shutdown-grace", "20"] });
  const clients: RawClient[] = [];
  try {
    const ready = await readReadyLine(server);
    const port = Number(/ftp:\/\/127\.0\.0\.1:(\d+)/.exec(ready)?.[1]);
    assert.ok(port > 0, ready);
    const idle = await RawClient.login(port, "demo", "demo");
    const uploader = await RawClient.login(port, "demo", "demo");
    clients.push(idle, uploader);
    await uploader.expect("TYPE I", 200);
    const data = await uploader.pasv();
    try {
      assert.ok([125, 150].includes((await uploader.command("STOR slow.txt")).code));
      await data.write(encoder.encode("before the signal; "));
      server.child.kill("SIGTERM");
      await waitFor(() => server.errors.some((line) => line.includes("shutting down")), "shutdown");
      assert.equal(
        format(await idle.read()),
        "421 Server shutting down; closing control connection.",
      );
      await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }), "no new connections");
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        await data.write(encoder.encode(`slow part ${i}; `));
      }
    } finally {
      closeQuietly(data);
    }
    assert.equal((await uploader.read()).code, 226);
    assert.equal((await uploader.read()).code, 421);
    const status = await withTimeout(server.child.status, 10_000, "the server to exit");
    assert.equal(status.code, 0);
    assert.equal(
      await Deno.readTextFile(`${dir}/srv/slow.txt`),
      "before the signal; slow part 0; slow part 1; slow part 2; slow part 3; slow part 4; ",
    );
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    try {
      server.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await server.child.status;
    await server.drained;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry serve stops at once on a second SIGINT while a transfer holds the grace period", async () => {
  const dir = await Deno.makeTempDir();
  const credentials = `${dir}/creds.txt`;
  await addUser(credentials);
  const server = startServe(dir, credentials);
  const clients: RawClient[] = [];
  try {
    const ready = await readReadyLine(server);
    const port = Number(/ftp:\/\/127\.0\.0\.1:(\d+)/.exec(ready)?.[1]);
    const uploader = await RawClient.login(port, "demo", "demo");
    clients.push(uploader);
    const data = await uploader.pasv();
    try {
      assert.ok([125, 150].includes((await uploader.command("STOR stuck.txt")).code));
      await data.write(encoder.encode("stuck"));
      server.child.kill("SIGINT");
      await waitFor(() => server.errors.some((line) => line.includes("shutting down")), "shutdown");
      const started = performance.now();
      server.child.kill("SIGINT");
      const status = await withTimeout(server.child.status, 10_000, "the server to exit");
      assert.equal(status.code, 0);
      assert.ok(performance.now() - started < 10_000);
      assert.equal((await uploader.read()).code, 421);
    } finally {
      closeQuietly(data);
    }
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    try {
      server.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await server.child.status;
    await server.drained;
    await Deno.remove(dir, { recursive: true });
  }
});
