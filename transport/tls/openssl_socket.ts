/**
 * A TLS socket on OpenSSL ({@linkcode TlsEngine}), client or server, shaped
 * like the `node:tls` socket used otherwise: a `Duplex` of clear bytes over a
 * control connection's `node:net` socket, with `secureConnect` (client) or
 * `secure` (server), `getProtocol()` and `isSessionReused()`. The client's
 * data connections resume its session through {@linkcode OpenSslSocket.engine}.
 *
 * @module
 */

import { Duplex } from "node:stream";
import { CLOSED, NEED_MORE, type TlsEngine } from "./tls_engine.ts";

/**
 * Where clear bytes are decrypted before they are passed on, copied to
 * their exact length: shared, since decrypting is synchronous (a command
 * line costs its own few bytes, not a buffer of this size).
 */
const PLAIN = new Uint8Array(64 * 1024);

/** Options for {@linkcode OpenSslSocket.start}. */
export interface OpenSslSocketOptions {
  /**
   * The TLS server side: emit `secure` rather than `secureConnect`.
   * @default {false}
   */
  isServer?: boolean;
}

/**
 * A TLS connection run by OpenSSL; the encrypted side is any `Duplex`.
 * Emits `secureConnect` (client) or `secure` (server) once the handshake is
 * done and `error` (then `close`) if it fails.
 *
 * @example
 * ```ts ignore
 * const control = OpenSslSocket.start(clientEngine(lib, "ftp.example.com", settings), netSocket);
 * control.once("secureConnect", () => console.log(control.getProtocol()));
 * ```
 */
export class OpenSslSocket extends Duplex {
  /** The TLS state; a data connection's engine resumes its session. */
  readonly engine: TlsEngine;
  readonly #transport: Duplex;
  readonly #secureEvent: string;
  #ended = false;
  #transportPaused = false;

  private constructor(engine: TlsEngine, transport: Duplex, isServer: boolean) {
    super({ allowHalfOpen: true });
    this.engine = engine;
    this.#transport = transport;
    this.#secureEvent = isServer ? "secure" : "secureConnect";
    transport.on("data", (chunk: Uint8Array) => {
      if (this.engine.freed) return;
      this.engine.feed(chunk);
      this.#advance();
    });
    transport.on("end", () => this.#transportEnded());
    transport.on("error", (error: Error) => this.destroy(error));
    transport.on("close", () => this.#transportClosed());
  }

  /**
   * Starts `engine`'s handshake (client or server) on `transport`; the
   * socket owns both from then on.
   */
  static start(
    engine: TlsEngine,
    transport: Duplex,
    options: OpenSslSocketOptions = {},
  ): OpenSslSocket {
    const socket = new OpenSslSocket(engine, transport, options.isServer ?? false);
    queueMicrotask(() => socket.#advance());
    return socket;
  }

  /** The negotiated protocol ("TLSv1.3"), or null before the handshake. */
  getProtocol(): string | null {
    return this.engine.protocol;
  }

  /** True when the handshake resumed an earlier session. */
  isSessionReused(): boolean {
    return this.engine.reused;
  }

  /** Moves the handshake on, then passes on whatever has been decrypted. */
  #advance(): void {
    if (this.engine.freed) return;
    try {
      if (!this.engine.established) {
        const done = this.engine.handshake();
        this.#flushOut();
        if (!done) return;
        this.emit(this.#secureEvent);
      }
      this.#readPlain();
      this.#flushOut();
    } catch (error) {
      this.#flushOut(); // an alert for the server, if OpenSSL wrote one
      this.destroy(error as Error);
    }
  }

  #readPlain(): void {
    while (!this.#ended && !this.engine.freed) {
      const n = this.engine.read(PLAIN);
      if (n === NEED_MORE) return;
      if (n === CLOSED) return this.#end();
      if (!this.push(PLAIN.slice(0, n)) && !this.#transportPaused) {
        this.#transportPaused = true;
        this.#transport.pause();
      }
    }
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.push(null);
  }

  /** Hands what OpenSSL wrote to the transport; calls `then` once the transport takes more. */
  #flushOut(then?: (error?: Error | null) => void): void {
    const out = this.engine.takeOutput();
    if (out.length === 0) return then?.();
    this.engine.releaseOutputMemory(); // replies are small, but a long listing would stay
    if (this.#transport.destroyed) return then?.(new Error("TLS connection closed"));
    if (this.#transport.write(out) || !then) return then?.();
    const onDrain = () => {
      this.#transport.off("close", onClose);
      then();
    };
    const onClose = () => {
      this.#transport.off("drain", onDrain);
      then(new Error("TLS connection closed"));
    };
    this.#transport.once("drain", onDrain);
    this.#transport.once("close", onClose);
  }

  #transportEnded(): void {
    if (!this.engine.established) {
      this.destroy(new Error("the connection closed during the handshake"));
      return;
    }
    this.#advance();
    this.#end();
  }

  #transportClosed(): void {
    if (this.destroyed) return;
    if (!this.engine.established) {
      this.destroy(new Error("the connection closed during the handshake"));
      return;
    }
    this.#end();
    if (this.readableEnded) this.destroy();
    else this.once("end", () => this.destroy());
  }

  override _read(): void {
    if (!this.#transportPaused) return;
    this.#transportPaused = false;
    this.#transport.resume();
  }

  override _write(
    chunk: Uint8Array,
    encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    if (!this.engine.established && !this.engine.freed) {
      this.once(this.#secureEvent, () => this._write(chunk, encoding, callback));
      return;
    }
    try {
      this.engine.write(chunk);
    } catch (error) {
      return callback(error as Error);
    }
    this.#flushOut(callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.engine.shutdown(); // close_notify
    this.#flushOut();
    this.#transport.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.engine.free();
    if (error) this.#transport.destroy(error);
    else this.#transport.destroy();
    callback(error);
  }
}
