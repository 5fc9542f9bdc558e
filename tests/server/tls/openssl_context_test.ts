/**
 * Loading the server's certificate into a TLS engine: OpenSSL or `node:tls`
 * as chosen, a whole chain sent, bad input refused with a clear error.
 *
 * @module
 */

import assert from "node:assert/strict";
import { loadServerTls, TlsSetupError } from "../../../server/tls/tls_context.ts";
import { serveConfig } from "../../../server/cli/serve_command.ts";
import { SettingsError } from "../../../server/ops/resolve_settings.ts";
import { withServer } from "../../helpers/raw_client.ts";
import { runProgram } from "../../helpers/run_program.ts";
import { testCertificate } from "../../helpers/tls_client.ts";

/** Runs the openssl command; its output, stdout then stderr (s_client may exit 1 after QUIT). */
async function openssl(args: string[], stdin = ""): Promise<string> {
  const result = await runProgram("openssl", args, { stdin, timeoutMs: 20_000 });
  const text = result.stdout + result.stderr;
  assert.ok(result.code === 0 || args[0] === "s_client", text);
  return text;
}

/** A CA and a leaf it signed for 127.0.0.1; returns the chain file (leaf, then CA) and the key. */
async function chain(dir: string): Promise<{ cert: string; key: string }> {
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=ferry test CA",
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    `${dir}/ca.pem`,
  ]); // deno-fmt-ignore
  await openssl([
    "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
    "-keyout", `${dir}/leaf.key`, "-out", `${dir}/leaf.csr`,
  ]); // deno-fmt-ignore
  await openssl([
    "x509", "-req", "-in", `${dir}/leaf.csr`, "-CA", `${dir}/ca.pem`, "-CAkey", `${dir}/ca.key`,
    "-CAcreateserial", "-days", "2", "-out", `${dir}/leaf.pem`,
  ]); // deno-fmt-ignore
  const pem = await Deno.readTextFile(`${dir}/leaf.pem`) + await Deno.readTextFile(`${dir}/ca.pem`);
  await Deno.writeTextFile(`${dir}/chain.pem`, pem);
  return { cert: `${dir}/chain.pem`, key: `${dir}/leaf.key` };
}

Deno.test("loadServerTls() uses OpenSSL when it may, node:tls when told", async () => {
  const { cert, key } = await testCertificate();
  assert.equal((await loadServerTls(cert, key)).kind, "openssl");
  assert.equal((await loadServerTls(cert, key, { engine: "openssl" })).kind, "openssl");
  assert.equal((await loadServerTls(cert, key, { engine: "node" })).kind, "node");
});

Deno.test("loadServerTls() refuses what is not a certificate, on either engine", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { key } = await testCertificate();
    const broken = `${dir}/broken.pem`;
    await Deno.writeTextFile(
      broken,
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    );
    for (const engine of ["openssl", "node"] as const) {
      await assert.rejects(loadServerTls(broken, key, { engine }), TlsSetupError);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tls_engine: auto by default, openssl or node; anything else is refused", () => {
  assert.equal(serveConfig({}).tlsEngine, "auto");
  assert.equal(serveConfig({ tls_engine: "openssl" }).tlsEngine, "openssl");
  assert.equal(serveConfig({ tls_engine: "node" }).tlsEngine, "node");
  assert.throws(() => serveConfig({ tls_engine: "rustls" }), SettingsError);
});

Deno.test("the OpenSSL server sends the whole certificate chain", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { cert, key } = await chain(dir);
    await withServer(
      { config: { tlsCert: cert, tlsKey: key, tlsEngine: "openssl" } },
      async (server) => {
        const seen = await openssl([
          "s_client",
          "-starttls",
          "ftp",
          "-connect",
          `127.0.0.1:${server.port}`,
          "-showcerts",
          "-CAfile",
          `${dir}/ca.pem`,
        ], "QUIT\r\n"); // deno-fmt-ignore
        assert.equal(seen.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2, seen);
        assert.match(seen, /Verify return code: 0 \(ok\)/, seen);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
