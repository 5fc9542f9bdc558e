/**
 * A TLS certificate reload (SIGHUP's in-process seam) against a real FTPS
 * client: lftp's session that shook hands before the reload goes on with
 * PROT P transfers that resume its own TLS session, while a new control
 * connection gets the new certificate.
 */

import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import { withServer } from "../helpers/raw_client.ts";
import { tlsServerOptions, TlsTestClient } from "../helpers/tls_client.ts";
import { makeCertificate } from "../../server/cli/cert_command.ts";
import { loadLiveState } from "../../server/server.ts";
import { ignoreMissing } from "./peers.ts";

async function fingerprint(port: number): Promise<string> {
  const client = await TlsTestClient.connect(port);
  try {
    await client.authTls();
    return client.tlsSocket.getPeerCertificate().fingerprint256;
  } finally {
    client.close();
  }
}

Deno.test({
  name:
    "a certificate reload leaves a running lftp FTPS session resuming its own TLS session; new handshakes get the new certificate",
  ignore: ignoreMissing("lftp"),
  async fn() {
    await withServer(await tlsServerOptions(), async (server) => {
      const dir = await Deno.makeTempDir({ prefix: "ferry-tls-reload-" });
      try {
        const content = crypto.getRandomValues(new Uint8Array(60_000));
        await Deno.writeFile(`${server.root}/down.bin`, content);
        const before = await fingerprint(server.port);
        const script = `${dir}/script.lftp`;
        await Deno.writeTextFile(
          script,
          [
            "set ftp:ssl-force true",
            "set ftp:ssl-protect-data true",
            "set ssl:verify-certificate no",
            "set net:max-retries 1",
            `open -u alice,wonderland ftp://127.0.0.1:${server.port}`,
            `get down.bin -o ${dir}/first`,
            `!touch ${dir}/half && while [ ! -e ${dir}/go ]; do sleep 0.1; done`,
            `get down.bin -o ${dir}/second`,
            "cls",
            "",
          ].join("\n"),
        );
        const child = new Deno.Command("lftp", {
          args: ["-f", script],
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(60_000),
        }).spawn();
        const output = child.output();
        const deadline = Date.now() + 30_000;
        while (!(await Deno.stat(`${dir}/half`).then(() => true, () => false))) {
          assert.ok(Date.now() < deadline, "lftp never reached the pause");
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const other = await makeCertificate({ outCert: `${dir}/b.pem`, outKey: `${dir}/b.key` });
        server.server.replaceLiveState(
          await loadLiveState({ ...server.server.config, tlsCert: other.cert, tlsKey: other.key }),
        );
        await Deno.writeTextFile(`${dir}/go`, "");
        const result = await output;
        const text = new TextDecoder().decode(result.stdout) +
          new TextDecoder().decode(result.stderr);
        assert.equal(result.code, 0, text);
        assertSameBytes(await Deno.readFile(`${dir}/first`), content);
        assertSameBytes(await Deno.readFile(`${dir}/second`), content);
        const data = server.logs.filter((line) => line.includes(" data-tls "));
        assert.ok(data.length >= 3, data.join("\n"));
        for (const line of data) assert.match(line, /reused=true ok=true/);
        assert.notEqual(await fingerprint(server.port), before);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});
