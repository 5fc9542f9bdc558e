/**
 * ferry's client over FTPS against vsftpd (OpenSSL): explicit (`AUTH TLS`)
 * and implicit (`implicit_ssl`) FTPS, PROT P data connections in passive and
 * active mode, get/put byte-identical and listings, TLS 1.2 and 1.3, with
 * vsftpd's default `require_ssl_reuse=YES`: every data connection resumes
 * the control connection's TLS session (through OpenSSL, `--allow-ffi`).
 * Without `--allow-ffi` the client cannot resume and names the way out.
 *
 * vsftpd comes from `tests/install_deps.sh`; a missing vsftpd fails
 * these tests (outside CI, `FERRY_INTEROP_ALLOW_MISSING=1` reports them as
 * ignored instead).
 *
 * @module
 */

import assert from "node:assert/strict";
import { ExitCode } from "../../client/errors.ts";
import { FtpClient } from "../../client/ftp_client.ts";
import type { TlsSettings } from "../../client/tls/settings.ts";
import { runClient } from "../client/cli_run.ts";
import { testCertificate } from "../helpers/tls_client.ts";
import { type PeerServer, peerServerMissing, startPeerServer } from "./servers.ts";

const SIZE = 1_500_000;
const inCi = Deno.env.get("CI") === "true";
const allowMissing = !inCi && Deno.env.get("FERRY_INTEROP_ALLOW_MISSING") === "1";
const missing = await peerServerMissing("vsftpd");

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(length, i + 65536)));
  }
  return bytes;
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const at = actual.findIndex((byte, i) => byte !== expected[i]);
  assert.equal(at, -1, `${what}: first difference at byte ${at}`);
}

/** Registers a vsftpd test, or its failure (or, if allowed, its skip) when vsftpd is missing. */
function vsftpdTest(name: string, fn: () => Promise<void>): void {
  if (missing && allowMissing) {
    Deno.test({ name: `${name} [skipped: ${missing}]`, ignore: true, fn: () => {} });
  } else if (missing) {
    Deno.test(name, () => {
      throw new Error(`Interop peer missing: ${missing}`);
    });
  } else {
    Deno.test(name, fn);
  }
}

/** Starts vsftpd with FTPS, runs `body`, and stops it (its output is added to a failure). */
async function withVsftpd(
  tls: { implicit: boolean; requireReuse: boolean },
  body: (server: PeerServer, certFile: string) => Promise<void>,
): Promise<void> {
  const { cert, key } = await testCertificate();
  const server = await startPeerServer("vsftpd", { tls: { cert, key, ...tls } });
  try {
    await body(server, cert);
  } catch (error) {
    if (error instanceof Error) error.message += `\n--- vsftpd output ---\n${server.output()}`;
    throw error;
  } finally {
    await server.stop();
  }
}

for (const implicit of [false, true]) {
  const kind = implicit ? "implicit" : "explicit";
  vsftpdTest(
    `FtpClient over ${kind} FTPS with vsftpd (require_ssl_reuse=YES): PROT P get, put and ` +
      "list, passive and active, TLS 1.2 and 1.3",
    async () => {
      await withVsftpd({ implicit, requireReuse: true }, async (server, certFile) => {
        const content = randomBytes(SIZE);
        await server.writeFile("/down.bin", content);
        const ca = await Deno.readTextFile(certFile);
        for (const active of [false, true]) {
          for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
            const what = `${kind} ${active ? "active" : "passive"} ${version}`;
            const sent: string[] = [];
            const tls: TlsSettings = { mode: kind, ca, minVersion: version, maxVersion: version };
            const client = await FtpClient.connect({
              host: server.host,
              port: server.port,
              user: server.user,
              password: server.password,
              active,
              timeoutMs: 15_000,
              tls,
              onDialogue: (line) => {
                if (line.startsWith("> ")) sent.push(line.slice(2));
              },
            });
            try {
              assert.equal(client.tlsProtocol, version, what);
              const chunks: Uint8Array[] = [];
              await client.download("/down.bin", (chunk) => {
                chunks.push(chunk.slice());
                return Promise.resolve();
              });
              const downloaded = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
              let offset = 0;
              for (const chunk of chunks) {
                downloaded.set(chunk, offset);
                offset += chunk.length;
              }
              assertSameBytes(downloaded, content, `${what}: download`);
              let done = 0;
              await client.upload("/up.bin", (buffer) => {
                if (done === content.length) return Promise.resolve(null);
                const n = Math.min(buffer.length, content.length - done);
                buffer.set(content.subarray(done, done + n));
                done += n;
                return Promise.resolve(n);
              });
              assertSameBytes(
                await Deno.readFile(server.real("/up.bin")),
                content,
                `${what}: upload`,
              );
              const names = (await client.list("/")).map((entry) => entry.name).sort();
              assert.deepEqual(names, ["down.bin", "up.bin"], what);
            } finally {
              await client.quit();
            }
            assert.ok(sent.includes("PBSZ 0") && sent.includes("PROT P"), sent.join("\n"));
            assert.equal(sent.includes("AUTH TLS"), !implicit, sent.join("\n"));
            const verbs = sent.map((line) => line.split(" ")[0]);
            assert.equal(
              verbs.some((verb) => verb === "EPRT" || verb === "PORT"),
              active,
              sent.join("\n"),
            );
          }
        }
      });
    },
  );
}

vsftpdTest(
  "ferry client CLI over FTPS with vsftpd: put, ls and get with --ca-file",
  async () => {
    await withVsftpd({ implicit: false, requireReuse: true }, async (server, certFile) => {
      const local = await Deno.makeTempDir({ prefix: "ferry-client-tls-" });
      try {
        const content = randomBytes(SIZE);
        await Deno.writeFile(`${local}/up.bin`, content);
        const url = `ftp://${server.user}:${server.password}@${server.host}:${server.port}`;
        const flags = ["--tls", "--ca-file", certFile];
        const put = await runClient(["put", ...flags, `${local}/up.bin`, `${url}/`]);
        assert.equal(put.code, 0, put.stderr);
        const ls = await runClient(["ls", ...flags, "--active", `${url}/`]);
        assert.equal(ls.code, 0, ls.stderr);
        assert.equal(ls.stdout, "up.bin\n");
        const get = await runClient(["get", ...flags, `${url}/up.bin`, `${local}/back.bin`]);
        assert.equal(get.code, 0, get.stderr);
        assertSameBytes(await Deno.readFile(`${local}/back.bin`), content, "get");
        const refused = await runClient(["ls", "--tls", `${url}/`]);
        assert.equal(refused.code, ExitCode.Connect, refused.stderr);
        assert.match(refused.stderr, /TLS certificate of .* not trusted/);
      } finally {
        await Deno.remove(local, { recursive: true });
      }
    });
  },
);

for (const implicit of [false, true]) {
  const kind = implicit ? "implicit" : "explicit";
  vsftpdTest(
    `ferry client over ${kind} FTPS without --allow-ffi names the way out when vsftpd ` +
      "requires session reuse",
    async () => {
      await withVsftpd({ implicit, requireReuse: true }, async (server, certFile) => {
        await server.writeFile("/a.txt", "hello\n");
        const hostPort = `${server.user}:${server.password}@${server.host}:${server.port}`;
        for (const mode of [[], ["--active"]]) {
          const args = [
            "ls",
            ...(implicit ? [] : ["--tls"]),
            "--ca-file",
            certFile,
            ...mode,
            `${implicit ? "ftps" : "ftp"}://${hostPort}/`,
          ];
          const result = await runClient(args, {
            permissions: ["--allow-net", "--allow-read", "--allow-write", "--allow-env"],
          });
          assert.equal(result.code, ExitCode.Connect, result.stderr);
          assert.match(result.stderr, /requires TLS session reuse on data connections/);
          assert.match(result.stderr, /--allow-ffi/);
          assert.match(result.stderr, /vsftpd require_ssl_reuse=NO/);
          assert.match(result.stderr, /522 SSL connection failed: session reuse required/);
          const resumed = await runClient(args);
          assert.equal(resumed.code, 0, resumed.stderr);
          assert.equal(resumed.stdout, "a.txt\n");
        }
      });
    },
  );
}
