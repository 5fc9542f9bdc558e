import assert from "node:assert/strict";
import { assertSameBytes } from "../helpers/assert_bytes.ts";
import { parseEpsvReply } from "../../protocol/address.ts";
import { RawClient, text, withServer, withTimeout } from "../helpers/raw_client.ts";
import { tlsServerOptions, TlsTestClient } from "../helpers/tls_client.ts";

Deno.test("FEAT lists AUTH TLS, PBSZ and PROT only when TLS is configured", async () => {
  await withServer(await tlsServerOptions(), async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    const feat = text(await client.expect("FEAT", 211));
    assert.match(feat, /^\s*AUTH TLS$/m);
    assert.match(feat, /^\s*PBSZ$/m);
    assert.match(feat, /^\s*PROT$/m);
  });
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    assert.doesNotMatch(text(await client.expect("FEAT", 211)), /AUTH|PBSZ|PROT/);
  });
});

Deno.test("AUTH TLS without a certificate answers 534; other mechanisms 504; CCC 502", async () => {
  await withServer({}, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    await client.expect("AUTH TLS", 534);
    await client.expect("AUTH KERBEROS_V4", 504);
    await client.expect("CCC", 502);
  });
});

Deno.test("PBSZ before AUTH and PROT before PBSZ answer 503", async () => {
  await withServer(await tlsServerOptions(), async (server) => {
    const client = await TlsTestClient.connect(server.port);
    try {
      assert.equal((await client.command("PBSZ 0")).code, 503);
      assert.equal((await client.command("PROT P")).code, 503);
      await client.authTls();
      assert.equal((await client.command("PROT P")).code, 503);
      assert.equal((await client.command("PBSZ 0")).code, 200);
      assert.equal((await client.command("PROT S")).code, 536);
      assert.equal((await client.command("PROT E")).code, 536);
      assert.equal((await client.command("PROT X")).code, 504);
      assert.equal((await client.command("PROT C")).code, 200);
      assert.equal((await client.command("PROT P")).code, 200);
      assert.equal((await client.command("AUTH TLS")).code, 503);
      assert.equal((await client.command("CCC")).code, 502);
    } finally {
      client.close();
    }
  });
});

Deno.test("AUTH TLS protects the control connection and resets the login", async () => {
  await withServer(await tlsServerOptions(), async (server) => {
    const client = await TlsTestClient.connect(server.port);
    try {
      assert.equal((await client.command("USER alice")).code, 331);
      assert.equal((await client.command("PASS wonderland")).code, 230);
      await client.authTls();
      assert.equal((await client.command("PWD")).code, 530);
      assert.equal((await client.command("USER alice")).code, 331);
      assert.equal((await client.command("PASS wonderland")).code, 230);
      assert.ok(client.tlsSocket.encrypted);
    } finally {
      client.close();
    }
  });
});

Deno.test("--require-tls refuses a clear login with 530 but exempts anonymous when asked", async () => {
  const options = await tlsServerOptions({ requireTls: true, anonymous: true });
  await withServer(options, async (server, track) => {
    const client = track(await RawClient.connect(server.port));
    await client.read();
    const refused = await client.expect("USER alice", 530);
    assert.match(text(refused), /TLS required/);
    await client.expect("PASS wonderland", 503);
    await client.expect("USER anonymous", 530);
  });
  const exempt = await tlsServerOptions({
    requireTls: true,
    anonymous: true,
    anonymousClear: true,
  });
  await withServer(exempt, async (server, track) => {
    const client = track(await RawClient.login(server.port, "anonymous", "me@example.com"));
    await client.expect("USER alice", 530);
  });
});

Deno.test("--require-tls refuses a PROT C transfer with 521", async () => {
  await withServer(await tlsServerOptions({ requireTls: true }), async (server) => {
    await Deno.writeTextFile(`${server.root}/a.txt`, "hello");
    const client = await TlsTestClient.connect(server.port);
    try {
      await client.secureLogin();
      assert.equal((await client.command("PROT C")).code, 200);
      await client.command("EPSV");
      assert.equal((await client.command("RETR a.txt")).code, 521);
    } finally {
      client.close();
    }
  });
});

Deno.test("a PROT P download over a TLS data connection is byte-identical (reuse relaxed)", async () => {
  await withServer(await tlsServerOptions({ tlsReuseOptional: true }), async (server) => {
    const content = crypto.getRandomValues(new Uint8Array(65536));
    await Deno.writeFile(`${server.root}/r.bin`, content);
    const client = await TlsTestClient.connect(server.port);
    try {
      await client.secureLogin();
      const result = await client.download("RETR r.bin");
      assert.ok([125, 150].includes(result.preliminary.code));
      assert.equal(result.final.code, 226);
      assertSameBytes(result.data, content);
    } finally {
      client.close();
    }
  });
});

Deno.test("a PROT P data connection that does not resume the session is refused with 522 by default", async () => {
  await withServer(await tlsServerOptions(), async (server) => {
    await Deno.writeTextFile(`${server.root}/a.txt`, "hello");
    const client = await TlsTestClient.connect(server.port);
    try {
      await client.secureLogin();
      const result = await client.download("RETR a.txt"); // no session offered
      assert.equal(result.reused, false);
      assert.equal(result.final.code, 522);
      assert.equal(result.data.length, 0);
    } finally {
      client.close();
    }
  });
});

const STEAL_DRIVER = new URL("./ftps_steal_driver.py", import.meta.url).pathname;

/**
 * Data connection stealing (RFC 4217 §10): another logged-in client, from the
 * same address, connects to the victim's passive port and resumes a TLS
 * session of its own. On OpenSSL the session binding refuses the resumption
 * itself, over TLS 1.2 and 1.3; on `node:tls` the server reads the TLS 1.2
 * ticket off the wire and refuses it (over TLS 1.3 it cannot, see the README).
 */
const stealCases = [
  { engine: "openssl", version: "1.2", capped: false },
  { engine: "openssl", version: "1.2", capped: true },
  { engine: "openssl", version: "1.3", capped: false },
  { engine: "node", version: "1.2", capped: false },
  { engine: "node", version: "1.2", capped: true },
] as const;

for (const { engine, version, capped } of stealCases) {
  Deno.test(
    `${engine}: a TLS ${version} data connection resuming another control connection's session is refused` +
      (capped ? " (server capped by --tls-max-version 1.2)" : ""),
    async () => {
      const options = await tlsServerOptions({
        tlsEngine: engine,
        ...(capped ? { tlsMaxVersion: "TLSv1.2" as const } : {}),
      });
      await withServer(options, async (server) => {
        const content = "hello, only for alice";
        await Deno.writeTextFile(`${server.root}/a.txt`, content);
        const victim = await TlsTestClient.connect(
          server.port,
          version === "1.2" && !capped ? { maxVersion: "TLSv1.2" } : {},
        );
        try {
          await victim.secureLogin();
          const epsv = await victim.command("EPSV");
          const port = parseEpsvReply(epsv.lines.join(" "));
          // The thief (user "reader", same address) offers its own session on the victim's port.
          const thief = new Deno.Command("python3", {
            args: [
              STEAL_DRIVER,
              String(server.port),
              capped ? "any" : version,
              String(port),
              "a.txt",
            ],
            stdout: "piped",
            stderr: "piped",
          }).output();
          const preliminary = await victim.command("RETR a.txt");
          assert.ok([125, 150].includes(preliminary.code), text(preliminary));
          const final = await victim.read();
          const out = await withTimeout(thief, 60_000, "steal driver");
          const result = JSON.parse(new TextDecoder().decode(out.stdout) || "{}");
          const stderr = new TextDecoder().decode(out.stderr);
          const logs = server.logs.join("\n");
          assert.ok(result.has_ticket, `the thief holds a resumable session\n${stderr}\n${logs}`);
          assert.equal(result.stolen_data ?? "", "", "the thief read nothing");
          // Its own data connection resumes the same session: the session itself is good.
          assert.equal(result.own_reused, true, `${JSON.stringify(result)}\n${logs}`);
          assert.equal(
            result.own_data,
            new TextEncoder().encode(content).reduce(
              (hex, b) => hex + b.toString(16).padStart(2, "0"),
              "",
            ),
          );
          assert.match(result.own_final, /^226 /);
          if (engine === "openssl") {
            // The binding: OpenSSL did not resume another control connection's session.
            assert.notEqual(result.stolen_reused, true, JSON.stringify(result));
          } else {
            assert.equal(result.stolen_reused, true, "TLS itself accepted the other session");
          }
          // The victim's transfer is refused with 522, the thief's connection dropped.
          assert.equal(final.code, 522, text(final));
          assert.match(
            text(final),
            engine === "openssl"
              ? /TLS session reuse required/
              : /not the control connection's own/,
          );
        } finally {
          victim.close();
        }
      });
    },
  );
}
