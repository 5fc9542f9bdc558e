/**
 * A PROT P upload cut by a TCP reset (no close_notify) must not look
 * complete: the server answers 426 and keeps what arrived. An upload that
 * sent close_notify answers 226 with every byte, whether the client then
 * closes or resets. Before, a reset ended the TLS stream like a FIN: through
 * HAProxy, an lftp upload whose last bytes a reset had lost was stored as
 * 64 KiB of 300 kB with "226 Transfer complete".
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import { startTestServer } from "../helpers/test_server.ts";
import { tlsServerOptions } from "../helpers/tls_client.ts";

const DRIVER = new URL("./ftps_reset_stor_driver.py", import.meta.url).pathname;
const SIZE = 400_000;

function expected(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7) % 256;
  return bytes;
}

async function upload(
  port: number,
  version: string,
  name: string,
  mode: "reset" | "clean" | "notify-reset",
): Promise<Record<string, string>> {
  const output = await new Deno.Command("python3", {
    args: [DRIVER, String(port), version, name, String(SIZE), mode],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, `${text}\n${new TextDecoder().decode(output.stderr)}`);
  return JSON.parse(text);
}

for (const engine of ["openssl", "node"] as const) {
  for (const version of ["1.2", "1.3"]) {
    Deno.test(`${engine}, TLS ${version}: a PROT P upload cut by a reset answers 426 and keeps only what arrived; after close_notify it answers 226`, async () => {
      const server = await startTestServer(await tlsServerOptions({ tlsEngine: engine }));
      try {
        const cut = await upload(server.port, version, "cut.bin", "reset");
        assert.equal(cut.error, undefined, `${cut.error}\n${server.logs.join("\n")}`);
        assert.match(cut.final ?? "", /^426 /, server.logs.join("\n"));
        const kept = await Deno.readFile(`${server.root}/cut.bin`);
        assert.ok(kept.length <= SIZE, `${kept.length} bytes kept`);
        assertSameBytes(kept, expected(SIZE).subarray(0, kept.length), "the partial upload");
        assert.match(server.logs.join("\n"), / transfer .*verb=STOR path=\/cut\.bin .*ok=false/);

        const whole = await upload(server.port, version, "whole.bin", "clean");
        assert.equal(whole.error, undefined, whole.error);
        assert.match(whole.final ?? "", /^226 /);
        assertSameBytes(
          await Deno.readFile(`${server.root}/whole.bin`),
          expected(SIZE),
          "whole.bin",
        );

        // close_notify, a second later a reset: everything arrived, the reset changes nothing.
        const ended = await upload(server.port, version, "ended.bin", "notify-reset");
        assert.equal(ended.error, undefined, ended.error);
        assert.match(ended.final ?? "", /^226 /, server.logs.join("\n"));
        assertSameBytes(
          await Deno.readFile(`${server.root}/ended.bin`),
          expected(SIZE),
          "ended.bin",
        );
      } finally {
        await server.close();
      }
    });
  }
}
