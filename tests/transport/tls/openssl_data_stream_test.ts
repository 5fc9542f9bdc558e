/**
 * ferry's own TLS data stream on both ends of a loopback connection: what
 * the server writes (pieces of any size, writes issued before the last one
 * settled, the write BIO's memory given back between pieces) arrives whole
 * and in order, on TLS 1.2 and 1.3.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { loadOpenSsl } from "../../../transport/tls/openssl.ts";
import { OpenSslDataStream, PIECE_BYTES } from "../../../transport/tls/openssl_data_stream.ts";
import { CLOSED, NEED_MORE, type TlsEngine } from "../../../transport/tls/tls_engine.ts";
import { newBinding, OpenSslServerContext } from "../../../server/tls/openssl_context.ts";
import { clientEngine } from "../../../client/tls/openssl_engine.ts";
import type { TlsSettings } from "../../../client/tls/settings.ts";
import { testCertificate } from "../../helpers/tls_client.ts";
import { assertSameBytes } from "../../helpers/assert_bytes.ts";

const lib = loadOpenSsl()!;

async function serverContext(maxVersion: "TLSv1.2" | "TLSv1.3"): Promise<OpenSslServerContext> {
  const { cert, key } = await testCertificate();
  return OpenSslServerContext.fromPem(
    lib,
    await Deno.readTextFile(cert),
    await Deno.readTextFile(key),
    { maxVersion },
  );
}

const clientSettings: TlsSettings = { mode: "explicit", insecure: true };

/** A pattern that shows any lost, repeated or reordered byte. */
function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 12)) & 0xff;
  return bytes;
}

/** Two data streams, server and client, over one loopback connection. */
async function streamPair(
  maxVersion: "TLSv1.2" | "TLSv1.3",
): Promise<{ server: OpenSslDataStream; client: OpenSslDataStream }> {
  const context = await serverContext(maxVersion);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [accepted, connected] = await Promise.all([
      listener.accept(),
      Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    ]);
    const [server, client] = await Promise.all([
      OpenSslDataStream.start(accepted, context.engine(newBinding(), "data"), 5_000),
      OpenSslDataStream.start(connected, clientEngine(lib, "127.0.0.1", clientSettings), 5_000),
    ]);
    return { server, client };
  } finally {
    listener.close();
  }
}

async function readAll(stream: OpenSslDataStream): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buffer = new Uint8Array(48 * 1024);
  for (let n = await stream.read(buffer); n !== null; n = await stream.read(buffer)) {
    parts.push(buffer.slice(0, n));
  }
  return Buffer.concat(parts);
}

for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
  Deno.test(`OpenSSL data stream (${version}): writes of any size, issued at once, arrive whole and in order`, async () => {
    const { server, client } = await streamPair(version);
    const sizes = [
      1,
      16 * 1024,
      16 * 1024 + 1,
      PIECE_BYTES,
      PIECE_BYTES + 5,
      3 * PIECE_BYTES - 7,
      100_000,
    ];
    const chunks = sizes.map((size, i) => pattern(size, i));
    const received = readAll(client);
    // Every write is issued before the previous one settles: they must queue, not interleave.
    const taken = await Promise.all(chunks.map((chunk) => server.write(chunk)));
    // A write may take less than all when the socket was full: send the rest, as writeAll does.
    for (let i = 0; i < chunks.length; i++) {
      for (let done = taken[i]!; done < chunks[i]!.length;) {
        done += await server.write(chunks[i]!.subarray(done));
      }
    }
    server.close();
    const expected = Buffer.concat(chunks);
    assertSameBytes(await received, expected);
    client.close();
  });
}

/** Moves all of `from`'s output into `to`. */
function shuttle(from: TlsEngine, to: TlsEngine): void {
  const buffer = new Uint8Array(64 * 1024);
  for (let n = from.takeOutputInto(buffer); n > 0; n = from.takeOutputInto(buffer)) {
    to.feed(buffer.subarray(0, n));
  }
}

Deno.test("TlsEngine.releaseOutputMemory keeps output not yet taken and lets later writes through", async () => {
  const server = (await serverContext("TLSv1.3")).engine(newBinding(), "data");
  const client = clientEngine(lib, "127.0.0.1", clientSettings);
  try {
    for (let i = 0; i < 10; i++) {
      const clientDone = client.handshake();
      shuttle(client, server);
      const serverDone = server.handshake();
      shuttle(server, client);
      if (clientDone && serverDone) break;
    }
    assert.ok(server.established && client.established);
    const first = pattern(20_000, 1);
    server.write(first);
    server.releaseOutputMemory(); // output waits: nothing may be dropped
    assert.ok(server.pendingOutput > first.length);
    shuttle(server, client);
    server.releaseOutputMemory(); // empty now: the buffer goes
    assert.equal(server.pendingOutput, 0);
    const second = pattern(70_000, 2);
    server.write(second);
    shuttle(server, client);
    const got = new Uint8Array(first.length + second.length + 1);
    let filled = 0;
    for (
      let n = client.read(got);
      n !== NEED_MORE && n !== CLOSED;
      n = client.read(got.subarray(filled))
    ) {
      filled += n;
      if (filled >= first.length + second.length) break;
    }
    const expected = new Uint8Array(first.length + second.length);
    expected.set(first);
    expected.set(second, first.length);
    assertSameBytes(got.subarray(0, filled), expected);
  } finally {
    server.free();
    client.free();
  }
});
