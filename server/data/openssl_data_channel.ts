/**
 * PROT P data connections on OpenSSL: a clear passive or active channel
 * (`Deno.Conn`, the same listeners and peer checks as clear data) whose
 * connection becomes TLS, the server side, once it is open. The handshake
 * resumes only a session of the control connection's own binding (see
 * `tls/openssl_context.ts`); the check after it says whether a connection
 * that did not resume is refused. A refused or failed handshake is answered
 * with 522.
 *
 * @module
 */

import {
  HandshakeInterruptedError,
  OpenSslDataStream,
} from "../../transport/tls/openssl_data_stream.ts";
import type { TlsEngine } from "../../transport/tls/tls_engine.ts";
import { cannotOpen, type DataChannel, tlsHandshakeFailed, tlsRefused } from "./data_channel.ts";
import type { OpenSslServerContext } from "../tls/openssl_context.ts";

/** A clear channel whose connection the TLS channel takes over. */
export interface ClearChannel {
  readonly connected: boolean;
  open(): Promise<Deno.Conn>;
  close(): void;
}

/** What an OpenSSL data channel needs besides its clear channel. */
export interface OpenSslDataOptions {
  /** The TLS context of the control connection's handshake. */
  context: OpenSslServerContext;
  /** The control connection's binding (`Session.tlsBinding`). */
  binding: Uint8Array;
  /** How long the handshake may take, in milliseconds. */
  timeoutMs: number;
  /** Checks the finished handshake; returns why the connection is refused, or undefined. */
  verify(engine: TlsEngine): string | undefined;
}

/** A fresh clear channel for the next connection (passive: the listener armed again). */
export type Rearm<C extends ClearChannel> = () => C;

/**
 * A PROT P data channel, passive or active, on OpenSSL.
 *
 * @example
 * ```ts ignore
 * const channel = new OpenSslDataChannel(listener.arm(timeoutMs), { context, binding, timeoutMs, verify });
 * const stream = await channel.open();
 * ```
 */
export class OpenSslDataChannel<C extends ClearChannel = ClearChannel> implements DataChannel {
  #clear: C;
  readonly #options: OpenSslDataOptions;
  readonly #rearm: Rearm<C> | undefined;
  #opening: Promise<OpenSslDataStream> | undefined;
  #stream: OpenSslDataStream | undefined;
  #closed = false;

  /**
   * Wraps `clear`. An active channel connects on {@linkcode OpenSslDataChannel.open};
   * a passive one (given `rearm`) shakes hands as soon as its connection
   * comes, and a connection that closes or is reset before the server
   * answered its first TLS bytes (a client that gave up at once) is dropped
   * and the next one awaited on the listener armed again.
   */
  constructor(clear: C, options: OpenSslDataOptions, rearm?: Rearm<C>) {
    this.#clear = clear;
    this.#options = options;
    this.#rearm = rearm;
    if (rearm) this.open().catch(() => {}); // observed by the transfer's open()
  }

  /** The clear channel underneath (a passive one knows its port). */
  get clear(): C {
    return this.#clear;
  }

  get connected(): boolean {
    return this.#clear.connected;
  }

  open(): Promise<OpenSslDataStream> {
    this.#opening ??= this.#secure();
    return this.#opening;
  }

  async #secure(): Promise<OpenSslDataStream> {
    const { context, binding, timeoutMs, verify } = this.#options;
    let stream: OpenSslDataStream;
    for (;;) {
      const conn = await this.#clear.open();
      try {
        let engine: TlsEngine;
        try {
          engine = context.engine(binding, "data");
        } catch (error) {
          conn.close();
          throw error;
        }
        stream = await OpenSslDataStream.start(conn, engine, timeoutMs); // closes conn on failure
        break;
      } catch (error) {
        if (this.#closed) throw cannotOpen("closed");
        const gone = error instanceof HandshakeInterruptedError && error.beforeAnswer;
        if (gone && this.#rearm) {
          try {
            this.#clear = this.#rearm(); // a client that gave up at once: wait for the real one
            continue;
          } catch {
            // the listener is gone: answer as for any failed handshake
          }
        }
        throw tlsHandshakeFailed(error);
      }
    }
    if (this.#closed) {
      stream.close();
      throw cannotOpen("closed");
    }
    const refusal = verify(stream.engine);
    if (refusal) {
      stream.close();
      throw tlsRefused(refusal);
    }
    this.#stream = stream;
    return stream;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Waiting or shaking hands, the connection goes at once; a stream says goodbye first.
    (this.#stream ?? this.#clear).close();
  }
}
