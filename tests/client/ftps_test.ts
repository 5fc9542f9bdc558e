/**
 * ferry's client against ferry's server over FTPS: explicit (`--tls`, AUTH
 * TLS) and implicit (`ftps://`), passive and active, TLS 1.2 and 1.3;
 * certificate checking (refused by default, `--ca-file`, `--insecure`);
 * a server without TLS. The server requires every data connection to
 * resume its control connection's TLS session (its default), which the
 * client does through OpenSSL; without `--allow-ffi` it cannot, and says so.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { SecureVersion } from "node:tls";
import { ExitCode } from "../../client/errors.ts";
import { FtpClient } from "../../client/ftp_client.ts";
import { runShell } from "../../client/shell/shell.ts";
import { makeCertificate } from "../../server/cli/cert_command.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import { testCertificate, tlsServerOptions } from "../helpers/tls_client.ts";
import { runClient } from "./cli_run.ts";

const USER = "alice:wonderland";

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(length, i + 65536)));
  }
  bytes.set([13, 10, 10, 0, 13], 100);
  return bytes;
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const at = actual.findIndex((byte, i) => byte !== expected[i]);
  assert.equal(at, -1, `${what}: first difference at byte ${at}`);
}

interface TlsFixture {
  server: TestServer;
  /** The explicit-FTPS (main) port. */
  port: number;
  /** The implicit-FTPS port. */
  implicitPort: number;
  /** The PEM file of the server's self-signed certificate. */
  certFile: string;
  local: string;
}

/** Runs `body` with a TLS-enabled server (session reuse required unless told) and a local directory. */
async function withTlsServer(
  body: (fixture: TlsFixture) => Promise<void>,
  options: { reuseOptional?: boolean } = {},
): Promise<void> {
  const server = await startTestServer(
    await tlsServerOptions({
      tlsReuseOptional: options.reuseOptional ?? false,
      implicitTlsPort: 0,
    }),
  );
  const local = await Deno.makeTempDir({ prefix: "ferry-ftps-local-" });
  try {
    const implicitPort = server.server.addresses.find((address) => address.implicitTls)!.port;
    const { cert } = await testCertificate();
    await body({ server, port: server.port, implicitPort, certFile: cert, local });
  } finally {
    await server.close();
    await Deno.remove(local, { recursive: true });
  }
}

function dataTlsLogs(server: TestServer): string[] {
  return server.logs.filter((line) => line.includes("data-tls"));
}

for (const mode of ["explicit", "implicit"] as const) {
  for (const active of [false, true]) {
    for (const version of ["TLSv1.2", "TLSv1.3"] as SecureVersion[]) {
      Deno.test(
        `FtpClient over ${mode} FTPS, ${active ? "active" : "passive"}, ${version}: ` +
          "get, put and list are byte-identical",
        async () => {
          await withTlsServer(async ({ server, port, implicitPort, certFile }) => {
            const content = randomBytes(1_500_000);
            await Deno.writeFile(`${server.root}/down.bin`, content);
            const client = await FtpClient.connect({
              host: "127.0.0.1",
              port: mode === "implicit" ? implicitPort : port,
              user: "alice",
              password: "wonderland",
              active,
              timeoutMs: 10_000,
              tls: {
                mode,
                ca: await Deno.readTextFile(certFile),
                minVersion: version,
                maxVersion: version,
              },
            });
            try {
              assert.equal(client.tlsProtocol, version);
              const chunks: Uint8Array[] = [];
              const got = await client.download("/down.bin", (chunk) => {
                chunks.push(chunk.slice());
                return Promise.resolve();
              });
              assert.equal(got, content.length);
              const downloaded = new Uint8Array(content.length);
              let offset = 0;
              for (const chunk of chunks) {
                downloaded.set(chunk, offset);
                offset += chunk.length;
              }
              assertSameBytes(downloaded, content, "download");
              let sent = 0;
              await client.upload("/up.bin", (buffer) => {
                if (sent === content.length) return Promise.resolve(null);
                const n = Math.min(buffer.length, content.length - sent);
                buffer.set(content.subarray(sent, sent + n));
                sent += n;
                return Promise.resolve(n);
              });
              assertSameBytes(await Deno.readFile(`${server.root}/up.bin`), content, "upload");
              const names = (await client.list("/")).map((entry) => entry.name).sort();
              assert.deepEqual(names, ["down.bin", "up.bin"]);
            } finally {
              await client.quit();
            }
            const logs = dataTlsLogs(server);
            assert.equal(logs.length, 3, logs.join("\n"));
            for (const line of logs) {
              assert.match(line, new RegExp(`${version.replace(".", "\\.")} reused=true ok=true`));
            }
          });
        },
      );
    }
  }
}

Deno.test("ferry client get ftps:// with --ca-file downloads over implicit FTPS", async () => {
  await withTlsServer(async ({ server, implicitPort, certFile, local }) => {
    const content = randomBytes(700_000);
    await Deno.writeFile(`${server.root}/file.bin`, content);
    const result = await runClient([
      "get",
      "--ca-file",
      certFile,
      `ftps://${USER}@127.0.0.1:${implicitPort}/file.bin`,
      `${local}/file.bin`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assertSameBytes(await Deno.readFile(`${local}/file.bin`), content, "get");
    assert.equal(dataTlsLogs(server).length, 1);
  });
});

Deno.test("ferry client put and ls --tls --active use explicit FTPS with PROT P", async () => {
  await withTlsServer(async ({ server, port, certFile, local }) => {
    const content = randomBytes(900_000);
    await Deno.writeFile(`${local}/up.bin`, content);
    const url = `ftp://${USER}@127.0.0.1:${port}/`;
    const put = await runClient([
      "put",
      "--tls",
      "--active",
      "-v",
      "--ca-file",
      certFile,
      `${local}/up.bin`,
      url,
    ]);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stderr, /> AUTH TLS\n< 234 /);
    assert.match(put.stderr, /\* TLS TLSv1\.[23] \(certificate verified\)/);
    assert.match(put.stderr, /> PBSZ 0\n< 200 [^]*> PROT P\n< 200 /);
    assert.match(put.stderr, /> (EPRT|PORT) /);
    assertSameBytes(await Deno.readFile(`${server.root}/up.bin`), content, "put");
    const ls = await runClient(["ls", "--tls", "--ca-file", certFile, url]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(ls.stdout, "up.bin\n");
    assert.equal(dataTlsLogs(server).length, 2);
  });
});

Deno.test("ferry client refuses a self-signed certificate without --ca-file or --insecure", async () => {
  await withTlsServer(async ({ server, port, implicitPort }) => {
    for (
      const args of [
        ["ls", "--tls", `ftp://${USER}@127.0.0.1:${port}/`],
        ["ls", `ftps://${USER}@127.0.0.1:${implicitPort}/`],
      ]
    ) {
      const result = await runClient(args);
      assert.equal(result.code, ExitCode.Connect, result.stderr);
      assert.match(result.stderr, /TLS certificate of 127\.0\.0\.1 port \d+ not trusted/);
      assert.match(result.stderr, /--ca-file FILE[^]*--insecure/);
      assert.equal(result.stdout, "");
    }
    assert.equal(dataTlsLogs(server).length, 0);
  });
});

Deno.test("ferry client checks an IP literal against the certificate's IP addresses", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ftps-cert-" });
  try {
    // A certificate for a DNS name only: trusted by --ca-file, but it does not name 127.0.0.1.
    const made = await makeCertificate({
      outCert: `${dir}/cert.pem`,
      outKey: `${dir}/key.pem`,
      host: ["ftp.example"],
    });
    const server = await startTestServer({
      config: { tlsCert: made.cert, tlsKey: made.key, tlsReuseOptional: true },
    });
    try {
      const result = await runClient([
        "ls",
        "--tls",
        "--ca-file",
        made.cert,
        `ftp://${USER}@127.0.0.1:${server.port}/`,
      ]);
      assert.equal(result.code, ExitCode.Connect, result.stderr);
      assert.match(result.stderr, /not trusted: .*127\.0\.0\.1/);
    } finally {
      await server.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ferry client --insecure connects to a self-signed server with a warning (-q: none)", async () => {
  await withTlsServer(async ({ server, port, local }) => {
    await Deno.writeTextFile(`${server.root}/a.txt`, "hello\n");
    const url = `ftp://${USER}@127.0.0.1:${port}/a.txt`;
    const loud = await runClient(["get", "--tls", "--insecure", url, `${local}/a.txt`]);
    assert.equal(loud.code, 0, loud.stderr);
    assert.match(loud.stderr, /warning: --insecure: the server's TLS certificate is not verified/);
    assert.equal(await Deno.readTextFile(`${local}/a.txt`), "hello\n");
    const quiet = await runClient(["cat", "--tls", "--insecure", "-q", url]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, "hello\n");
    assert.doesNotMatch(quiet.stderr, /warning/);
  });
});

Deno.test("ferry client --ca-file and --insecure need FTPS and exclude each other", async () => {
  const { cert } = await testCertificate();
  const plain = await runClient(["ls", "--ca-file", cert, "ftp://127.0.0.1:1/"]);
  assert.equal(plain.code, ExitCode.Usage, plain.stderr);
  assert.match(plain.stderr, /apply to FTPS only/);
  const both = await runClient(["ls", "--insecure", "--ca-file", cert, "ftps://127.0.0.1:1/"]);
  assert.equal(both.code, ExitCode.Usage, both.stderr);
  assert.match(both.stderr, /mutually exclusive/);
});

Deno.test("ferry client --tls against a server without TLS fails clearly", async () => {
  const server = await startTestServer();
  try {
    const result = await runClient(["ls", "--tls", `ftp://${USER}@127.0.0.1:${server.port}/`]);
    assert.equal(result.code, ExitCode.Connect, result.stderr);
    assert.match(result.stderr, /does not offer TLS \(AUTH TLS: 5\d\d /);
  } finally {
    await server.close();
  }
});

Deno.test("ferry client ftps:// to a plain FTP port fails with a TLS handshake error", async () => {
  const server = await startTestServer();
  try {
    const result = await runClient([
      "ls",
      "--timeout",
      "5",
      `ftps://${USER}@127.0.0.1:${server.port}/`,
    ]);
    assert.equal(result.code, ExitCode.Connect, result.stderr);
    assert.match(result.stderr, /TLS handshake with 127\.0\.0\.1 port \d+ failed/);
  } finally {
    await server.close();
  }
});

for (const active of [false, true]) {
  Deno.test(
    `ferry client without --allow-ffi cannot resume TLS sessions and says what to do (${
      active ? "active" : "passive"
    })`,
    async () => {
      await withTlsServer(async ({ server, port, certFile, local }) => {
        await Deno.writeTextFile(`${server.root}/a.txt`, "hello\n");
        const args = [
          "get",
          "--tls",
          "--ca-file",
          certFile,
          ...(active ? ["--active"] : []),
          `ftp://${USER}@127.0.0.1:${port}/a.txt`,
          `${local}/a.txt`,
        ];
        const result = await runClient(args, {
          permissions: ["--allow-net", "--allow-read", "--allow-write", "--allow-env"],
        });
        assert.equal(result.code, ExitCode.Connect, result.stderr);
        assert.match(result.stderr, /requires TLS session reuse on data connections/);
        assert.match(result.stderr, /needs Deno's --allow-ffi permission/);
        assert.match(result.stderr, /require_ssl_reuse=NO or ferry --tls-reuse-optional/);
        assert.match(result.stderr, /522 /);
        // The same command with FFI allowed resumes the session and succeeds.
        const resumed = await runClient(args);
        assert.equal(resumed.code, ExitCode.Ok, resumed.stderr);
        assert.equal(await Deno.readTextFile(`${local}/a.txt`), "hello\n");
        assert.match(dataTlsLogs(server).at(-1) ?? "", /reused=true ok=true/);
      });
    },
  );
}

Deno.test("ferry client shell opens ftps:// and, with --tls or set tls on, explicit FTPS", async () => {
  await withTlsServer(async ({ server, port, implicitPort, certFile, local }) => {
    await Deno.writeTextFile(`${server.root}/a.txt`, "shell over tls\n");
    const ca = await Deno.readTextFile(certFile);
    const run = async (script: string) => {
      const chunks: string[] = [];
      const code = await runShell({
        input: ReadableStream.from([new TextEncoder().encode(script)]),
        output: (text) => chunks.push(text),
        localDir: local,
        timeoutMs: 5_000,
        trust: { ca },
      });
      return { code, out: chunks.join("") };
    };
    const implicit = await run(
      `open ftps://${USER}@127.0.0.1:${implicitPort}\nget a.txt one.txt\nstatus\nquit\n`,
    );
    assert.equal(implicit.code, 0, implicit.out);
    assert.match(implicit.out, /Connected to 127\.0\.0\.1 \(FTPS, implicit TLS\)/);
    assert.match(implicit.out, /TLS: implicit, TLSv1\.[23]; data connections protected/);
    assert.equal(await Deno.readTextFile(`${local}/one.txt`), "shell over tls\n");
    const explicit = await run(
      `open --tls 127.0.0.1 ${port}\nuser alice wonderland\nget a.txt two.txt\nclose\n` +
        `set tls on\nopen ftp://${USER}@127.0.0.1:${port}\nls\nquit\n`,
    );
    assert.equal(explicit.code, 0, explicit.out);
    assert.match(
      explicit.out,
      /Connected to 127\.0\.0\.1 \(FTPS, explicit TLS\)[^]*\ntls on\nConnected to 127\.0\.0\.1 \(FTPS, explicit TLS\)[^]*\na\.txt\n/,
    );
    assert.equal(await Deno.readTextFile(`${local}/two.txt`), "shell over tls\n");
    assert.equal(dataTlsLogs(server).length, 3);
    const untrusted = await runShell({
      input: ReadableStream.from([new TextEncoder().encode(`open --tls 127.0.0.1 ${port}\n`)]),
      output: () => {},
      timeoutMs: 5_000,
    });
    assert.equal(untrusted, ExitCode.Connect);
  });
});
