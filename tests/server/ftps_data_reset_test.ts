import assert from "node:assert/strict";
import { startTestServer } from "../helpers/test_server.ts";
import { tlsServerOptions } from "../helpers/tls_client.ts";
import { resetBeforeAccept } from "../helpers/reset_before_accept.ts";
import { withTimeout } from "../helpers/raw_client.ts";
import { stopChild } from "../helpers/stop_child.ts";

const DRIVER = new URL("./ftps_paused_retr_driver.py", import.meta.url).pathname;

/** Reads stdout of a child one JSON line at a time. */
class JsonLines {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  async next(): Promise<Record<string, unknown>> {
    while (!this.#buffer.includes("\n")) {
      const { value, done } = await withTimeout(this.#reader.read(), 30_000, "driver output");
      if (done) throw new Error(`Driver ended before a line: ${JSON.stringify(this.#buffer)}`);
      this.#buffer += value;
    }
    const end = this.#buffer.indexOf("\n");
    const line = this.#buffer.slice(0, end);
    this.#buffer = this.#buffer.slice(end + 1);
    return JSON.parse(line);
  }

  async drain(): Promise<void> {
    while (!(await this.#reader.read()).done) { /* until the child closes stdout */ }
  }
}

for (const engine of ["openssl", "node"] as const) {
  for (const version of ["1.2", "1.3"] as const) {
    Deno.test(`${engine}, TLS ${version}: a PROT P data connection reset before it is accepted is dropped; the real one still transfers`, async () => {
      // Session reuse required.
      const server = await startTestServer(await tlsServerOptions({ tlsEngine: engine }));
      const content = crypto.getRandomValues(new Uint8Array(3000));
      await Deno.writeFile(`${server.root}/small.bin`, content);
      const child = new Deno.Command("python3", {
        args: [DRIVER, String(server.port), version, "small.bin"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const lines = new JsonLines(child.stdout);
      const stdin = child.stdin.getWriter();
      try {
        const { port } = await lines.next();
        assert.equal(typeof port, "number");
        // The first bytes of a ClientHello record, then a reset, before ferry's callback runs.
        resetBeforeAccept(port as number, "127.0.0.1", new Uint8Array([0x16, 0x03, 0x01]));
        await stdin.write(new TextEncoder().encode("go\n"));
        const result = await lines.next();
        assert.equal(result.error, undefined, `${result.error}\n${server.logs.join("\n")}`);
        assert.match(String(result.preliminary), /^1(25|50) /);
        assert.equal(result.reused, true);
        assert.equal(
          result.data,
          Array.from(content, (b) => b.toString(16).padStart(2, "0")).join(""),
        );
        assert.match(String(result.final), /^226 /);
        await stdin.close();
        await lines.drain();
        assert.equal(
          (await withTimeout(child.status, 30_000, "driver exit")).code,
          0,
          await stderr,
        );
        // The reset connection left no trace: no refusal, no empty peer or source.
        for (const line of server.logs) {
          assert.doesNotMatch(line, /(peer|from)=(""|:|\s|$)/, line);
          assert.doesNotMatch(line, /data-refused/, line);
        }
        const logs = server.logs.join("\n");
        assert.match(logs, / data-tls .*reused=true ok=true/, logs);
        assert.match(logs, / transfer .*verb=RETR path=\/small\.bin bytes=3000 .*ok=true/, logs);
      } finally {
        await stdin.close().catch(() => {});
        await stopChild(child);
        await lines.drain().catch(() => {});
        await stderr;
        await server.close();
      }
    });
  }
}
