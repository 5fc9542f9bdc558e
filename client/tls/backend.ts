/**
 * The client's TLS back-end, chosen once per control connection: the
 * system's OpenSSL over FFI when this process may use it (`--allow-ffi`,
 * libssl 3 installed) — it resumes the control connection's session on data
 * connections, which vsftpd, ProFTPD and ferry require (RFC 4217 §10.2) — or
 * else `node:tls`, which in Deno 2.9 cannot resume. Data connections use the
 * back-end their control connection chose.
 *
 * This module and what it imports load only when a command uses FTPS: plain
 * FTP never pays for `node:tls`, `node:stream` or the FFI bindings.
 *
 * @module
 */

import type { ControlChannel } from "../connection/control_channel.ts";
import { TlsDataStream } from "../../transport/data_stream.ts";
import type { DataStream } from "../../transport/data_stream.ts";
import { ClientError, ExitCode } from "../errors.ts";
import { ConnDuplex } from "./conn_duplex.ts";
import {
  clientHandshake,
  type ClientTlsSocket,
  connectNodeTls,
  describeTlsFailure,
} from "./node_tls.ts";
import { loadOpenSsl, type OpenSslSymbols } from "../../transport/tls/openssl.ts";
import { OpenSslDataStream } from "../../transport/tls/openssl_data_stream.ts";
import { OpenSslSocket } from "../../transport/tls/openssl_socket.ts";
import { clientEngine } from "./openssl_engine.ts";
import type { TlsSettings } from "./settings.ts";

/** A control connection in TLS, and how its data connections become TLS. */
export interface SecureControl {
  /** The negotiated version ("TLSv1.3"). */
  readonly protocol: string;
  /** Clear bytes to and from the server. */
  readonly channel: ControlChannel;
  /**
   * Makes a data connection TLS with the same back-end, as the client (in
   * active mode too, RFC 4217 §10), checked like the control connection and
   * offering its session (OpenSSL only).
   *
   * @throws {ClientError} (exit 3) If the handshake fails; `conn` is closed.
   */
  secureData(conn: Deno.Conn, timeoutMs: number): Promise<DataStream>;
}

/**
 * Starts TLS as the client on the control connection `conn` (before the
 * greeting for implicit FTPS, after `AUTH TLS` got 234 for explicit) and
 * waits for the handshake. `host` is the name the certificate must carry.
 *
 * @throws {ClientError} (exit 3) If the handshake or the certificate check fails.
 *
 * @example
 * ```ts ignore
 * const secure = await secureControl(conn, "ftp.example.com", 21, { mode: "explicit" }, 30_000);
 * ```
 */
export async function secureControl(
  conn: Deno.Conn,
  host: string,
  port: number,
  settings: TlsSettings,
  timeoutMs: number,
): Promise<SecureControl> {
  const openSsl = loadOpenSsl();
  const transport = new ConnDuplex(conn);
  const socket: ClientTlsSocket = openSsl
    ? OpenSslSocket.start(clientEngine(openSsl, host, settings), transport)
    : connectNodeTls(transport, host, settings);
  await clientHandshake(socket, `${host} port ${port}`, timeoutMs);
  return {
    protocol: socket.getProtocol() ?? "",
    channel: socketChannel(socket),
    secureData: (data, dataTimeoutMs) =>
      socket instanceof OpenSslSocket && openSsl
        ? openSslData(openSsl, data, host, settings, socket, dataTimeoutMs)
        : nodeData(data, host, settings, dataTimeoutMs),
  };
}

async function openSslData(
  lib: OpenSslSymbols,
  conn: Deno.Conn,
  host: string,
  settings: TlsSettings,
  control: OpenSslSocket,
  timeoutMs: number,
): Promise<DataStream> {
  try {
    let engine;
    try {
      engine = clientEngine(lib, host, settings, control.engine);
    } catch (error) {
      conn.close();
      throw error;
    }
    return await OpenSslDataStream.start(conn, engine, timeoutMs);
  } catch (error) {
    throw new ClientError(
      describeTlsFailure(`the data connection to ${host}`, error as Error),
      ExitCode.Connect,
      { cause: error },
    );
  }
}

async function nodeData(
  conn: Deno.Conn,
  host: string,
  settings: TlsSettings,
  timeoutMs: number,
): Promise<DataStream> {
  const duplex = new ConnDuplex(conn);
  const socket = connectNodeTls(duplex, host, settings);
  // Reading starts at once: a TLS socket left without a reader can stall in Deno.
  const stream = new TlsDataStream(socket, duplex);
  await clientHandshake(socket, `the data connection to ${host}`, timeoutMs);
  return stream;
}

/** The control connection's view of a TLS socket: chunks in, bytes out. */
function socketChannel(socket: ClientTlsSocket): ControlChannel {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const woken = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  socket.on("data", (chunk: Uint8Array) => {
    chunks.push(chunk);
    woken();
  });
  for (const event of ["end", "close"]) {
    socket.on(event, () => {
      ended = true;
      woken();
    });
  }
  socket.on("error", (error: Error) => {
    failure ??= error;
    woken();
  });
  return {
    async read() {
      while (true) {
        const chunk = chunks.shift();
        if (chunk) return chunk;
        if (failure) throw failure;
        if (ended) return null;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    write(bytes) {
      socket.write(bytes);
      return Promise.resolve();
    },
    close() {
      socket.destroy();
    },
  };
}
