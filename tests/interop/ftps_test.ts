/**
 * FTPS against real clients: curl (OpenSSL) and lftp (GnuTLS); a missing
 * client fails the test (see peers.ts). curl 7.88's active-mode FTPS is
 * broken on its side (curl issue #10666), so active mode is tested with lftp.
 */

import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import { withServer } from "../helpers/raw_client.ts";
import type { TestServer } from "../helpers/test_server.ts";
import { tlsServerOptions } from "../helpers/tls_client.ts";
import { ignoreMissing } from "./peers.ts";

async function run(command: string, args: string[]): Promise<{ code: number; out: string }> {
  const output = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, out: decoder.decode(output.stdout) + decoder.decode(output.stderr) };
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(offset + 65536, length)));
  }
  return bytes;
}

function curl(tls: "1.2" | "1.3", ...args: string[]) {
  return run("curl", [
    "-sS",
    "--ssl-reqd",
    "-k",
    "--tlsv1.2",
    "--tls-max",
    tls,
    "-u",
    "alice:wonderland",
    ...args,
  ]);
}

function dataLogs(server: TestServer): string[] {
  return server.logs.filter((line) => line.includes("data-tls"));
}

for (const tls of ["1.2", "1.3"] as const) {
  for (const mode of ["PASV", "EPSV"] as const) {
    Deno.test({
      name: `curl --ssl-reqd TLS ${tls} ${mode}: list, get and put are byte-identical`,
      ignore: ignoreMissing("curl"),
      async fn() {
        // curl offers no TLS 1.2 session ticket and Deno's TLS server has no session-ID
        // cache, so curl's TLS 1.2 data connections cannot resume: they need the relax flag.
        const options = await tlsServerOptions({ tlsReuseOptional: tls === "1.2" });
        await withServer(options, async (server) => {
          const content = randomBytes(1_500_000);
          await Deno.writeFile(`${server.root}/down.bin`, content);
          const extra = mode === "PASV" ? ["--disable-epsv"] : [];
          const url = `ftp://127.0.0.1:${server.port}`;
          const listing = await curl(tls, ...extra, `${url}/`);
          assert.equal(listing.code, 0, listing.out);
          assert.match(listing.out, /down\.bin/);
          const dir = await Deno.makeTempDir();
          try {
            const got = await curl(tls, ...extra, `${url}/down.bin`, "-o", `${dir}/d`);
            assert.equal(got.code, 0, got.out);
            assertSameBytes(await Deno.readFile(`${dir}/d`), content);
            const put = await curl(tls, ...extra, "-T", `${dir}/d`, `${url}/up.bin`);
            assert.equal(put.code, 0, put.out);
            assertSameBytes(await Deno.readFile(`${server.root}/up.bin`), content);
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
          const logs = dataLogs(server);
          assert.equal(logs.length, 3);
          for (const line of logs) {
            assert.match(line, new RegExp(`protocol=TLSv${tls}`));
            if (tls === "1.3") assert.match(line, /reused=true ok=true/);
          }
        });
      },
    });
  }
}

Deno.test({
  name: "curl TLS 1.2 data connections resume on OpenSSL; on node:tls they are refused with 522",
  ignore: ignoreMissing("curl"),
  async fn() {
    await withServer(await tlsServerOptions({ tlsEngine: "openssl" }), async (server) => {
      const result = await curl("1.2", `ftp://127.0.0.1:${server.port}/`);
      assert.equal(result.code, 0, result.out);
      assert.match(dataLogs(server).join("\n"), /reused=true ok=true/);
    });
    await withServer(await tlsServerOptions({ tlsEngine: "node" }), async (server) => {
      const result = await curl("1.2", `ftp://127.0.0.1:${server.port}/`);
      assert.notEqual(result.code, 0);
      assert.match(dataLogs(server).join("\n"), /reused=false ok=false/);
    });
  },
});

Deno.test({
  name: "curl ftps:// (implicit FTPS) lists, gets and puts on the implicit port",
  ignore: ignoreMissing("curl"),
  async fn() {
    await withServer(await tlsServerOptions({ implicitTlsPort: 0 }), async (server) => {
      const implicit = server.server.addresses.find((address) => address.implicitTls)!;
      const content = randomBytes(300_000);
      await Deno.writeFile(`${server.root}/down.bin`, content);
      const url = `ftps://127.0.0.1:${implicit.port}`;
      const listing = await curl("1.3", `${url}/`);
      assert.equal(listing.code, 0, listing.out);
      assert.match(listing.out, /down\.bin/);
      const dir = await Deno.makeTempDir();
      try {
        const got = await curl("1.3", `${url}/down.bin`, "-o", `${dir}/d`);
        assert.equal(got.code, 0, got.out);
        assertSameBytes(await Deno.readFile(`${dir}/d`), content);
        const put = await curl("1.3", "-T", `${dir}/d`, `${url}/up.bin`);
        assert.equal(put.code, 0, put.out);
        assertSameBytes(await Deno.readFile(`${server.root}/up.bin`), content);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

function lftp(server: TestServer, tls: "1.2" | "1.3", passive: boolean, script: string) {
  const priority = tls === "1.2" ? "NORMAL:-VERS-TLS1.3" : "NORMAL";
  return run("lftp", [
    "-c",
    [
      "set ftp:ssl-force true",
      "set ftp:ssl-protect-data true",
      "set ssl:verify-certificate no",
      `set ssl:priority ${priority}`,
      `set ftp:passive-mode ${passive}`,
      "set net:max-retries 1",
      `open -u alice,wonderland ftp://127.0.0.1:${server.port}`,
      script,
    ].join("; "),
  ]);
}

for (const tls of ["1.2", "1.3"] as const) {
  for (const passive of [true, false]) {
    Deno.test({
      name: `lftp TLS ${tls} ${
        passive ? "passive" : "active"
      }: get and put resume the control session`,
      ignore: ignoreMissing("lftp"),
      async fn() {
        await withServer(await tlsServerOptions(), async (server) => {
          const content = randomBytes(1_000_000);
          await Deno.writeFile(`${server.root}/down.bin`, content);
          const dir = await Deno.makeTempDir();
          try {
            const result = await lftp(
              server,
              tls,
              passive,
              `get down.bin -o ${dir}/d; put ${dir}/d -o up.bin`,
            );
            assert.equal(result.code, 0, result.out);
            assertSameBytes(await Deno.readFile(`${dir}/d`), content);
            assertSameBytes(await Deno.readFile(`${server.root}/up.bin`), content);
          } finally {
            await Deno.remove(dir, { recursive: true });
          }
          const logs = dataLogs(server);
          assert.ok(logs.length >= 2);
          for (const line of logs) {
            assert.match(line, new RegExp(`protocol=TLSv${tls} reused=true ok=true`));
          }
        });
      },
    });
  }
}

Deno.test({
  name: "a 20 MB TLS 1.3 upload arrives complete with curl and with lftp",
  ignore: ignoreMissing("curl") || ignoreMissing("lftp"),
  async fn() {
    await withServer(await tlsServerOptions(), async (server) => {
      const content = randomBytes(20 * 1024 * 1024);
      const dir = await Deno.makeTempDir();
      try {
        await Deno.writeFile(`${dir}/big`, content);
        for (let round = 0; round < 2; round++) {
          const viaCurl = await curl(
            "1.3",
            "-T",
            `${dir}/big`,
            `ftp://127.0.0.1:${server.port}/curl${round}.bin`,
          );
          assert.equal(viaCurl.code, 0, viaCurl.out);
          assertSameBytes(await Deno.readFile(`${server.root}/curl${round}.bin`), content);
          const viaLftp = await lftp(server, "1.3", true, `put ${dir}/big -o lftp${round}.bin`);
          assert.equal(viaLftp.code, 0, viaLftp.out);
          assertSameBytes(await Deno.readFile(`${server.root}/lftp${round}.bin`), content);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

const FTPLIB_DRIVER = new URL("./ftps_ftplib_driver.py", import.meta.url).pathname;

for (const tls of ["1.2", "1.3"] as const) {
  for (const reuse of [true, false]) {
    Deno.test({
      name: `Python ftplib.FTP_TLS TLS ${tls} PROT P${
        reuse ? " resuming the session" : " (reuse relaxed)"
      }: every STOR, RETR and LIST from 0 B to 2 MB is byte-identical`,
      ignore: ignoreMissing("python3"),
      async fn() {
        // Plain ftplib does not offer the session on data connections: it needs the relax flag.
        const options = await tlsServerOptions({ tlsReuseOptional: !reuse });
        await withServer(options, async (server) => {
          const result = await run("/usr/bin/python3", [
            FTPLIB_DRIVER,
            String(server.port),
            tls,
            server.root,
            reuse ? "yes" : "no",
          ]);
          assert.equal(result.code, 0, result.out);
          const summary = JSON.parse(result.out.trim().split("\n").at(-1)!);
          assert.deepEqual(summary, { transfers: 54, failures: [] });
          if (reuse) {
            for (const line of dataLogs(server)) assert.match(line, /reused=true ok=true/);
          }
        });
      },
    });
  }
}
