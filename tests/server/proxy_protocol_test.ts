import assert from "node:assert/strict";
import { FtpServer } from "../../server/server.ts";
import { parsePasvReply } from "../../protocol/address.ts";
import { formatProxyHeader } from "../../protocol/proxy_header.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import type { ServerConfig } from "../../server/config.ts";
import { serveConfig } from "../../server/cli/serve_command.ts";
import { BoundClient as Peer } from "../helpers/bound_client.ts";
import { resetBeforeAccept } from "../helpers/reset_before_accept.ts";

const PROXIED: Partial<ServerConfig> = {
  proxyProtocol: "optional",
  proxyTrusted: ["127.0.0.1/32"],
  proxyHeaderTimeoutMs: 400,
};

function header(client: string, version: 1 | 2 = 1, port = 40000): Uint8Array {
  return formatProxyHeader(
    { address: client, port },
    { address: "127.0.0.1", port: 21 },
    { version },
  );
}

async function withProxied(
  config: Partial<ServerConfig>,
  fn: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({ config: { ...PROXIED, ...config } });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

async function loginVia(server: TestServer, client: string, version: 1 | 2 = 1): Promise<Peer> {
  const peer = await Peer.connect(server.port, "127.0.0.1");
  peer.write(header(client, version));
  assert.match(await peer.reply(), /^220 /);
  assert.match(await peer.command("USER alice"), /^331 /);
  assert.match(await peer.command("PASS wonderland"), /^230 /);
  return peer;
}

Deno.test("a trusted balancer's PROXY header (v1 and v2) makes its source the session's client", async () => {
  await withProxied({}, async (server) => {
    for (const version of [1, 2] as const) {
      const peer = await loginVia(server, "127.0.0.3", version);
      peer.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const connects = server.logs.filter((line) => line.includes("connect"));
    assert.ok(connects.length >= 2, server.logs.join("\n"));
    for (
      const line of server.logs.filter((line) =>
        line.includes(" login") || line.includes("connect")
      )
    ) {
      assert.match(line, /127\.0\.0\.3:40000/, line);
      assert.match(line, /via=127\.0\.0\.1/, line);
    }
  });
});

Deno.test("the per-IP session limit counts the header's address, not the balancer's", async () => {
  await withProxied({ maxSessionsPerIp: 1 }, async (server) => {
    const first = await loginVia(server, "127.0.0.3");
    const second = await Peer.connect(server.port, "127.0.0.1");
    second.write(header("127.0.0.3"));
    assert.match(await second.reply(), /^421 Too many connections from your address/);
    const other = await loginVia(server, "127.0.0.4");
    for (const peer of [first, second, other]) peer.close();
  });
});

Deno.test("a PROXY header from an untrusted address is not believed", async () => {
  await withProxied({}, async (server) => {
    const peer = await Peer.connect(server.port, "127.0.0.2");
    peer.write(header("10.9.9.9"));
    assert.match(await peer.reply(), /^220 /);
    assert.match(await peer.reply(), /^50[01] /); // "PROXY ..." is just an unknown command
    peer.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(!server.logs.some((line) => line.includes("10.9.9.9")), server.logs.join("\n"));
    assert.ok(server.logs.some((line) => /connect.*127\.0\.0\.2/.test(line)));
  });
});

Deno.test("--proxy-protocol required refuses connections from untrusted addresses", async () => {
  await withProxied({ proxyProtocol: "required" }, async (server) => {
    const direct = await Peer.connect(server.port, "127.0.0.2");
    assert.equal(await direct.closed(), true);
    assert.equal(direct.text, "");
    const proxied = await loginVia(server, "127.0.0.3");
    proxied.close();
  });
});

Deno.test("a trusted connection without a valid header is closed within the bound", async () => {
  await withProxied({}, async (server) => {
    const cases: [string, (peer: Peer) => void][] = [
      ["no header", (peer) => peer.write("USER alice\r\n")],
      ["truncated", (peer) => {
        peer.write("PROXY TCP4 127.0.0.3 127.0");
        setTimeout(() => peer.socket.end(), 50);
      }],
      ["oversized", (peer) => peer.write(`PROXY TCP4 ${"1".repeat(300)}`)],
      ["v2 oversized", (peer) => {
        const bytes = header("127.0.0.3", 2).slice(0, 16);
        bytes[14] = 0xff;
        peer.write(bytes);
      }],
      ["slow", (peer) => peer.write("PROXY TCP4 ")],
      ["silent", () => {}],
    ];
    for (const [name, send] of cases) {
      const started = Date.now();
      const peer = await Peer.connect(server.port, "127.0.0.1");
      send(peer);
      assert.equal(await peer.closed(), true, name);
      assert.equal(peer.text, "", `${name}: no greeting`);
      assert.ok(Date.now() - started < 5_000, `${name} took ${Date.now() - started} ms`);
    }
    assert.equal(server.logs.filter((line) => line.includes("proxy-refused")).length, cases.length);
    assert.equal(server.server.sessionCount, 0);
  });
});

/** A v2 header with the PROXY command and the AF_UNSPEC family: no addresses to believe. */
function unspecHeader(): Uint8Array {
  const bytes = formatProxyHeader(undefined, undefined, { version: 2 });
  bytes[12] = 0x21; // version 2, PROXY (formatProxyHeader wrote LOCAL)
  bytes[13] = 0x00; // AF_UNSPEC, UNSPEC
  return bytes;
}

/** A v2 LOCAL header that carries an IPv4 address block anyway (to be ignored). */
function localWithAddresses(): Uint8Array {
  const bytes = header("10.2.2.2", 2);
  bytes[12] = 0x20;
  return bytes;
}

Deno.test("v2 LOCAL, v2 UNSPEC and v1 UNKNOWN headers keep the connection's own address", async () => {
  for (const proxyProtocol of ["optional", "required"] as const) {
    await withProxied({ proxyProtocol }, async (server) => {
      const headers: [string, Uint8Array][] = [
        ["v2 LOCAL", formatProxyHeader(undefined, undefined, { version: 2 })],
        ["v2 UNSPEC", unspecHeader()],
        ["v2 LOCAL with addresses", localWithAddresses()],
        ["v1 UNKNOWN", formatProxyHeader(undefined, undefined)],
      ];
      for (const [name, bytes] of headers) {
        const peer = await Peer.connect(server.port, "127.0.0.1");
        const port = peer.socket.localPort!;
        peer.write(bytes);
        assert.match(await peer.reply(), /^220 /, name);
        assert.match(await peer.command("USER alice"), /^331 /, name);
        assert.match(await peer.command("PASS wonderland"), /^230 /, name);
        peer.close();
        const lines = () => server.logs.filter((line) => / (connect|login) /.test(line));
        const deadline = Date.now() + 10_000;
        while (!lines().some((line) => line.includes(`peer=127.0.0.1:${port} `))) {
          assert.ok(Date.now() < deadline, `${name}: ${server.logs.join("\n")}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      for (const line of server.logs.filter((line) => / (connect|login|disconnect) /.test(line))) {
        assert.match(line, / peer=127\.0\.0\.1:\d+( |$)/, line); // the balancer itself, not via anyone
        assert.doesNotMatch(line, / via=|10\.2\.2\.2/, line);
      }
    });
  }
});

Deno.test("a connection reset before it is accepted is dropped: no session, no empty peer", async () => {
  for (const proxyProtocol of ["optional", "required"] as const) {
    await withProxied({ proxyProtocol }, async (server) => {
      resetBeforeAccept(server.port, "127.0.0.1", header("127.0.0.3", 2)); // the balancer
      resetBeforeAccept(server.port, "127.0.0.2", new Uint8Array()); // a direct client
      const deadline = Date.now() + 10_000;
      while (server.logs.filter((line) => line.includes("connection-reset")).length < 2) {
        assert.ok(Date.now() < deadline, server.logs.join("\n"));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // The server still serves: the next connection is a session like any other.
      const peer = await loginVia(server, "127.0.0.3", 2);
      peer.close();
      assert.equal(server.server.sessionCount, 1, server.logs.join("\n"));
      for (const line of server.logs) {
        assert.doesNotMatch(line, /peer=(:|\s|$)/, line);
      }
      assert.ok(!server.logs.some((line) => / connect .*peer=127\.0\.0\.[12]:/.test(line)));
    });
  }
});

Deno.test("passive data: the client directly, or the balancer with a header naming it; never the balancer bare", async () => {
  await withProxied({}, async (server) => {
    await Deno.writeTextFile(`${server.root}/hello.txt`, "hello through the balancer\n");
    const control = await loginVia(server, "127.0.0.3");
    // From the balancer without a header: refused; then with a header naming the client.
    const pasv = parsePasvReply((await control.command("PASV")).slice(4));
    const bare = await Peer.connect(pasv.port, "127.0.0.1");
    assert.equal(await bare.closed(), true);
    const spoof = await Peer.connect(pasv.port, "127.0.0.1");
    spoof.write(header("127.0.0.9"));
    assert.equal(await spoof.closed(), true);
    const good = await Peer.connect(pasv.port, "127.0.0.1");
    good.write(header("127.0.0.3", 2));
    assert.match(await control.command("RETR hello.txt"), /^1(25|50) /);
    assert.match(await control.reply(), /^226 /);
    assert.ok(await good.until((text) => text.includes("through the balancer")));
    good.close();
    // Straight from the client's own address, no header.
    const again = parsePasvReply((await control.command("PASV")).slice(4));
    const straight = await Peer.connect(again.port, "127.0.0.3");
    assert.match(await control.command("RETR hello.txt"), /^1(25|50) /);
    assert.match(await control.reply(), /^226 /);
    assert.ok(await straight.until((text) => text.includes("through the balancer")));
    straight.close();
    // The client's address is not trusted: its header would be file data, not read.
    control.close();
    const refused = server.logs.filter((line) => line.includes("data-refused"));
    assert.equal(refused.length, 2, server.logs.join("\n"));
    assert.match(refused[0]!, /from=127\.0\.0\.1/);
    assert.match(refused[1]!, /127\.0\.0\.9/);
  });
});

Deno.test("PORT and EPRT may only target the header's client address", async () => {
  await withProxied({}, async (server) => {
    const control = await loginVia(server, "127.0.0.3");
    assert.match(await control.command("PORT 127,0,0,1,200,10"), /^501 /);
    assert.match(await control.command("EPRT |1|127.0.0.1|51210|"), /^501 /);
    assert.match(await control.command("PORT 127,0,0,3,200,10"), /^200 /);
    control.close();
    assert.ok(server.logs.some((line) => /bounce-refused.*target=127\.0\.0\.1/.test(line)));
  });
});

Deno.test("--pasv-address-for picks the PASV address by the client's (header) address", async () => {
  await withProxied({
    pasvAddressFor: [{ network: "127.0.0.3/32", address: "10.9.8.7" }],
    pasvAddress: "127.0.0.1",
  }, async (server) => {
    const inside = await loginVia(server, "127.0.0.3");
    assert.equal(parsePasvReply((await inside.command("PASV")).slice(4)).host, "10.9.8.7");
    // EPSV would send the client to the balancer's address, where nothing forwards this port.
    assert.match(await inside.command("EPSV"), /^502 .*use PASV/);
    inside.close();
    const outside = await loginVia(server, "127.0.0.4");
    assert.equal(parsePasvReply((await outside.command("PASV")).slice(4)).host, "127.0.0.1");
    // PASV names the balancer's address (the header's destination): EPSV is fine.
    assert.match(await outside.command("EPSV"), /^229 /);
    outside.close();
  });
});

Deno.test("serve settings: proxy_protocol, proxy_trusted and pasv_address_for", async () => {
  const config = serveConfig({
    proxy_protocol: "optional",
    proxy_trusted: ["10.0.0.0/8", "fd00::/8"],
    pasv_address_for: ["192.168.0.0/16=192.168.1.10", "0.0.0.0/0=203.0.113.5"],
  });
  assert.equal(config.proxyProtocol, "optional");
  assert.deepEqual(config.proxyTrusted, ["10.0.0.0/8", "fd00::/8"]);
  assert.deepEqual(config.pasvAddressFor[0], {
    network: "192.168.0.0/16",
    address: "192.168.1.10",
  });
  assert.equal(serveConfig({}).proxyProtocol, undefined, "off by default");
  assert.equal(
    serveConfig({ proxy_protocol: "required", proxy_trusted: ["::1"] }).proxyProtocol,
    "required",
  );
  assert.throws(() => serveConfig({ proxy_protocol: "sometimes" }), /optional|required/);
  assert.throws(() => serveConfig({ proxy_trusted: ["10.0.0.1/8"] }), /proxy.trusted/);
  assert.throws(() => serveConfig({ pasv_address_for: ["10.0.0.0/8"] }), /pasv.address.for/);
  assert.throws(() => serveConfig({ pasv_address_for: ["10.0.0.0/8=::1"] }), /pasv.address.for/);
  const untrusted = serveConfig({ proxy_protocol: "optional", port: "0", host: ["127.0.0.1"] });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.txt`, "");
    await assert.rejects(
      FtpServer.start({ ...untrusted, root: `${dir}/srv`, credentials: `${dir}/c.txt` }),
      /needs at least one --proxy-trusted/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
