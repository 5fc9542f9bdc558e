/**
 * The client's OpenSSL TLS layer against servers that misbehave: garbage
 * instead of a ServerHello, silence, a close mid-handshake. Each must end in
 * an error (never a crash, a hang or a leaked connection). The happy paths
 * run against real servers in tests/client/ftps_test.ts and
 * tests/interop/client_tls_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import * as net from "node:net";
import { loadOpenSsl } from "../../../transport/tls/openssl.ts";
import { OpenSslDataStream } from "../../../transport/tls/openssl_data_stream.ts";
import { OpenSslSocket } from "../../../transport/tls/openssl_socket.ts";
import { clientEngine } from "../../../client/tls/openssl_engine.ts";
import type { TlsSettings } from "../../../client/tls/settings.ts";

const settings: TlsSettings = { mode: "explicit" };

/** A TCP server on loopback that treats each connection with `behave`. */
async function withServer(
  behave: (conn: Deno.Conn) => Promise<void>,
  body: (port: number) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handled: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) handled.push(behave(conn).catch(() => {}));
  })();
  try {
    await body(listener.addr.port);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    await Promise.all(handled);
  }
}

async function readSome(conn: Deno.Conn): Promise<void> {
  await conn.read(new Uint8Array(4096));
}

Deno.test("loadOpenSsl finds libssl 3 when FFI is allowed", () => {
  assert.ok(loadOpenSsl(), "libssl.so.3 should load under --allow-all");
});

Deno.test("OpenSSL data connection: garbage instead of a ServerHello is a TLS error", async () => {
  const lib = loadOpenSsl()!;
  await withServer(async (conn) => {
    await readSome(conn);
    await conn.write(new TextEncoder().encode("220 this is not TLS at all\r\n".repeat(10)));
    await readSome(conn).catch(() => {});
    conn.close();
  }, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await assert.rejects(
      OpenSslDataStream.start(conn, clientEngine(lib, "127.0.0.1", settings), 5_000),
      /wrong version number|packet length too long|record layer failure|TLS error/,
    );
  });
});

Deno.test("OpenSSL data connection: a server that never answers times out", async () => {
  const lib = loadOpenSsl()!;
  await withServer(async (conn) => {
    await readSome(conn);
    await readSome(conn).catch(() => {}); // until the client gives up and closes
    conn.close();
  }, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const started = performance.now();
    await assert.rejects(
      OpenSslDataStream.start(conn, clientEngine(lib, "127.0.0.1", settings), 300),
      /timed out/,
    );
    assert.ok(performance.now() - started < 5_000);
  });
});

Deno.test("OpenSSL data connection: a close mid-handshake is reported as such", async () => {
  const lib = loadOpenSsl()!;
  await withServer(async (conn) => {
    await readSome(conn);
    conn.close();
  }, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await assert.rejects(
      OpenSslDataStream.start(conn, clientEngine(lib, "127.0.0.1", settings), 5_000),
      /closed during the handshake/,
    );
  });
});

Deno.test("OpenSSL control socket: garbage from the server emits an error and closes", async () => {
  const lib = loadOpenSsl()!;
  await withServer(async (conn) => {
    await readSome(conn);
    await conn.write(new Uint8Array(64).fill(0x16)); // a handshake record type, then nonsense
    await readSome(conn).catch(() => {});
    conn.close();
  }, async (port) => {
    const tcp = net.connect({ host: "127.0.0.1", port });
    tcp.on("error", () => {});
    const socket = OpenSslSocket.start(clientEngine(lib, "127.0.0.1", settings), tcp);
    const error = await new Promise<Error>((resolve, reject) => {
      socket.once("error", resolve);
      socket.once("secureConnect", () => reject(new Error("handshake should fail")));
    });
    assert.ok(error.message.length > 0);
    await new Promise((resolve) =>
      socket.destroyed ? resolve(null) : socket.once("close", resolve)
    );
    assert.ok(tcp.destroyed);
    assert.equal(socket.getProtocol(), null);
  });
});
