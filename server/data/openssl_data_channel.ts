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

import { ReplyCode } from "../../protocol/reply.ts";
import { OpenSslDataStream } from "../../transport/tls/openssl_data_stream.ts";
import type { TlsEngine } from "../../transport/tls/tls_engine.ts";
import { FtpError } from "../ftp_error.ts";
import { cannotOpen, type DataChannel } from "./data_channel.ts";
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
  /** The clear channel underneath (a passive one knows its port). */
  readonly clear: C;
  readonly #options: OpenSslDataOptions;
  #opening: Promise<OpenSslDataStream> | undefined;
  #stream: OpenSslDataStream | undefined;
  #closed = false;

  /** Wraps `clear`; nothing happens until {@linkcode OpenSslDataChannel.open}. */
  constructor(clear: C, options: OpenSslDataOptions) {
    this.clear = clear;
    this.#options = options;
  }

  get connected(): boolean {
    return this.clear.connected;
  }

  open(): Promise<OpenSslDataStream> {
    this.#opening ??= this.#secure();
    return this.#opening;
  }

  async #secure(): Promise<OpenSslDataStream> {
    const conn = await this.clear.open();
    const { context, binding, timeoutMs, verify } = this.#options;
    let stream: OpenSslDataStream;
    try {
      let engine: TlsEngine;
      try {
        engine = context.engine(binding, "data");
      } catch (error) {
        conn.close();
        throw error;
      }
      stream = await OpenSslDataStream.start(conn, engine, timeoutMs); // closes conn on failure
    } catch (error) {
      if (this.#closed) throw cannotOpen("closed");
      throw new FtpError(
        ReplyCode.TlsNegotiationFailed,
        `TLS negotiation on the data connection failed: ${(error as Error).message}.`,
      );
    }
    if (this.#closed) {
      stream.close();
      throw cannotOpen("closed");
    }
    const refusal = verify(stream.engine);
    if (refusal) {
      stream.close();
      throw new FtpError(ReplyCode.TlsNegotiationFailed, `${refusal}.`);
    }
    this.#stream = stream;
    return stream;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#stream) this.#stream.close();
    else this.clear.close(); // waiting or shaking hands: the connection goes at once
  }
}
