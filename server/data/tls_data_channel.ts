/**
 * PROT P data connections: the same passive and active channels as
 * {@linkcode PassiveChannel} and {@linkcode ActiveChannel}, but on
 * `node:net` sockets that become TLS server sockets (the FTP server is the
 * TLS server on data connections too, RFC 4217 §10). After the handshake
 * the connection must pass the resumption check, or it is closed and the
 * transfer answered with 522.
 *
 * Why `node:net` here and `Deno.Conn` for clear data: layering TLS on a
 * `Deno.Conn` (through a Duplex, as the client does) was tried, and under CPU
 * load curl's TLS 1.3 uploads then arrived cut short. curl never reads the
 * session tickets the server sends on the data connection, so it closes with
 * unread data and the kernel sends a reset instead of a FIN; bytes still in
 * flight or unread are lost with it. `node:net` drains the socket fast enough
 * that nothing is left (tests/interop/ftps_test.ts caught it under load). A
 * reset without close_notify now answers 426, never 226 (see `TappedSocket`).
 *
 * @module
 */

import * as net from "node:net";
import type { SecureContext, TLSSocket } from "node:tls";
import { cannotOpen, type DataChannel, tlsHandshakeFailed, tlsRefused } from "./data_channel.ts";
import type { ControlPeer } from "./control_peer.ts";
import { checkDataPeer, type ProxyPolicy, socketPeer, SocketReader } from "../proxy_protocol.ts";
import type { PassivePortPool } from "./passive_port_pool.ts";
import { TlsDataStream } from "../../transport/data_stream.ts";
import type { HandshakeObserver } from "../tls/tls_handshake.ts";
import { handshake, startServerTls } from "../tls/tls_context.ts";

/** What a TLS data channel needs besides its address. */
export interface TlsDataOptions {
  /** The server's certificate and key. */
  secureContext: SecureContext;
  /** How long to wait for the connection and for the handshake, in milliseconds. */
  timeoutMs: number;
  /** Checks the finished handshake; returns why the connection is refused, or undefined. */
  verify(socket: TLSSocket, observer: HandshakeObserver): string | undefined;
}

async function secure(socket: net.Socket, options: TlsDataOptions): Promise<TlsDataStream> {
  socket.setNoDelay(true);
  const { socket: tlsSocket, observer, flow } = startServerTls(socket, options.secureContext);
  tlsSocket.on("error", () => {}); // reported through the stream or the handshake
  // Read from the start: a TLS socket left without a reader until after the handshake can
  // stall for good in Deno. Bytes that come before the check below wait in the stream.
  const stream = new TlsDataStream(tlsSocket, flow);
  try {
    await handshake(tlsSocket, options.timeoutMs);
  } catch (error) {
    stream.destroy();
    throw tlsHandshakeFailed(error);
  }
  const refusal = options.verify(tlsSocket, observer);
  if (refusal) {
    stream.destroy();
    throw tlsRefused(refusal);
  }
  return stream;
}

/** Options for {@linkcode TlsPassiveChannel.listen}. */
export interface TlsPassiveOptions extends TlsDataOptions {
  /** The local address to listen on. */
  hostname: string;
  /** The only peer a data connection is accepted from (the control connection's). */
  peer: ControlPeer;
  /** The server's passive ports (shared with clear passive listeners). */
  pool: PassivePortPool;
  /** With `--proxy-protocol`: trusted balancers send a PROXY header naming the peer. */
  proxy?: ProxyPolicy;
  /** Told about each connection refused. */
  onRefused?: (from: string, reason: string) => void;
}

function listenOn(hostname: string, port: number): Promise<net.Server> {
  const server = net.createServer({ pauseOnConnect: true });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: hostname, port, exclusive: true }, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

/** A passive PROT P data channel: accepts the control peer's connection, then TLS. */
export class TlsPassiveChannel implements DataChannel {
  readonly #server: net.Server;
  readonly #ready: Promise<TlsDataStream>;
  readonly #peer: ControlPeer;
  #stream: TlsDataStream | undefined;
  #socket: net.Socket | undefined;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(server: net.Server, options: TlsPassiveOptions) {
    this.#server = server;
    this.#peer = options.peer;
    this.#ready = this.#accept(options);
    this.#ready.catch(() => {}); // observed by open(); never unhandled
  }

  /**
   * Starts listening on a port of the server's pool; rejects with 425 if the
   * range has none, even after idle clear listeners gave theirs back.
   */
  static async listen(options: TlsPassiveOptions): Promise<TlsPassiveChannel> {
    const { hostname, pool } = options;
    const open = (port: number) => listenOn(hostname, port);
    const server = await pool.listen(open) ??
      (await pool.releaseIdle() ? await pool.listen(open) : undefined);
    if (!server) throw cannotOpen("no free passive port");
    const port = (server.address() as net.AddressInfo).port;
    pool.hold(port, new Promise<void>((resolve) => server.once("close", () => resolve())));
    return new TlsPassiveChannel(server, options);
  }

  /** The port the client must connect to. */
  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  get connected(): boolean {
    return this.#socket !== undefined;
  }

  #accept(options: TlsPassiveOptions): Promise<TlsDataStream> {
    const accepted = new Promise<net.Socket>((resolve, reject) => {
      this.#timer = setTimeout(() => {
        this.#stopListening();
        reject(cannotOpen(this.#closed ? "closed" : "timed out"));
      }, options.timeoutMs);
      this.#server.on("connection", async (socket: net.Socket) => {
        socket.on("error", () => {});
        const from = socketPeer(socket)?.address;
        if (from === undefined) {
          socket.destroy(); // reset before it was accepted: no one to check, the wait goes on
          return;
        }
        const peer = this.#peer;
        if (!this.#socket && options.proxy?.expectsHeader(from)) {
          // A balancer's connection: its PROXY header must name the control connection's peer.
          const reader = new SocketReader(socket);
          const refusal = await checkDataPeer(
            from,
            (address) => peer.matches(address),
            options.proxy,
            () => reader.read,
          );
          reader.release();
          if (refusal !== undefined || this.#socket || this.#closed) {
            socket.destroy();
            options.onRefused?.(from, refusal ?? "no transfer waiting");
            return;
          }
        } else if (this.#socket || !peer.matches(from)) {
          socket.destroy(); // not the control connection's peer
          options.onRefused?.(
            from,
            this.#socket ? "already connected" : "not the session's client",
          );
          return;
        }
        this.#socket = socket;
        this.#stopListening();
        resolve(socket);
      });
      this.#server.on("close", () => {
        if (!this.#socket) reject(cannotOpen(this.#closed ? "closed" : "timed out"));
      });
    });
    return accepted.then(async (socket) => {
      socket.resume();
      const stream = await secure(socket, options);
      if (this.#closed) {
        stream.destroy();
        throw cannotOpen("closed");
      }
      this.#stream = stream;
      return stream;
    });
  }

  #stopListening(): void {
    clearTimeout(this.#timer);
    if (this.#server.listening) this.#server.close();
  }

  open(): Promise<TlsDataStream> {
    return this.#ready;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopListening();
    if (this.#stream) this.#stream.close();
    else this.#socket?.destroy();
  }
}

/** Options for {@linkcode TlsActiveChannel}. */
export interface TlsActiveOptions extends TlsDataOptions {
  /** The client's address and port from PORT/EPRT. */
  hostname: string;
  port: number;
}

/** An active PROT P data channel: connects to the client, then acts as the TLS server. */
export class TlsActiveChannel implements DataChannel {
  readonly #options: TlsActiveOptions;
  #opening: Promise<TlsDataStream> | undefined;
  #stream: TlsDataStream | undefined;
  #socket: net.Socket | undefined;
  #closed = false;

  /** Records the target; nothing connects until {@linkcode TlsActiveChannel.open}. */
  constructor(options: TlsActiveOptions) {
    this.#options = options;
  }

  get connected(): boolean {
    return this.#stream !== undefined;
  }

  open(): Promise<TlsDataStream> {
    this.#opening ??= this.#connect();
    return this.#opening;
  }

  async #connect(): Promise<TlsDataStream> {
    const { hostname, port, timeoutMs } = this.#options;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: hostname, port });
      this.#socket = socket;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(cannotOpen("timed out"));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(socket);
      });
      socket.once("error", () => {
        clearTimeout(timer);
        socket.destroy();
        reject(cannotOpen(this.#closed ? "closed" : "connection refused"));
      });
    });
    socket.on("error", () => {});
    if (this.#closed) {
      socket.destroy();
      throw cannotOpen("closed");
    }
    const stream = await secure(socket, this.#options);
    if (this.#closed) {
      stream.destroy();
      throw cannotOpen("closed");
    }
    this.#stream = stream;
    return stream;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#stream) this.#stream.close();
    else this.#socket?.destroy();
  }
}
