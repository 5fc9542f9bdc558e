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

async function openssl(args: string[], stdin = ""): Promise<string> {
  const child = new Deno.Command("openssl", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await new Promise((resolve) => setTimeout(resolve, 500)); // let the tickets arrive
  await writer.close();
  const output = await withTimeout(child.output(), 10_000, "openssl");
  return new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
}

for (const capped of [false, true]) {
  Deno.test(
    "a TLS 1.2 data connection resuming another control connection's session is refused" +
      (capped ? " (server capped by --tls-max-version 1.2, clients offering 1.3)" : ""),
    async () => {
      const options = await tlsServerOptions();
      if (capped) options.config = { ...options.config, tlsMaxVersion: "TLSv1.2" };
      // Capped, the clients offer TLS 1.3 and the server settles on 1.2; else the clients ask for 1.2.
      const tls12 = capped ? [] : ["-tls1_2"];
      await withServer(options, async (server) => {
        await Deno.writeTextFile(`${server.root}/a.txt`, "hello");
        const dir = await Deno.makeTempDir();
        const stolen = `${dir}/thief.pem`;
        try {
          // The thief's own control connection: AUTH TLS, and keep the ticket it was issued.
          const thief = await openssl([
            "s_client",
            "-starttls",
            "ftp",
            "-connect",
            `127.0.0.1:${server.port}`,
            ...tls12,
            "-sess_out",
            stolen,
          ], "QUIT\r\n");
          assert.match(thief, /New, TLSv1.2/);
          const victim = await TlsTestClient.connect(
            server.port,
            capped ? {} : { maxVersion: "TLSv1.2" },
          );
          try {
            await victim.secureLogin();
            const epsv = await victim.command("EPSV");
            const port = parseEpsvReply(epsv.lines.join(" "));
            const data = openssl(
              ["s_client", "-connect", `127.0.0.1:${port}`, ...tls12, "-sess_in", stolen],
            );
            const preliminary = await victim.command("RETR a.txt");
            assert.ok([125, 150].includes(preliminary.code));
            const seen = await data;
            assert.match(seen, /Reused, TLSv1.2/); // TLS itself accepted the other session's ticket
            assert.doesNotMatch(seen, /hello/);
            const final = await victim.read();
            assert.equal(final.code, 522);
            assert.match(text(final), /not the control connection's own/);
          } finally {
            victim.close();
          }
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });
    },
  );
}
