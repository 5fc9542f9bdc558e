/**
 * Data connections, passive (PASV/EPSV: the server listens, see
 * `passive_listener.ts`) and active (PORT/EPRT: the server connects), behind
 * one interface. Clear data moves over `Deno.Conn`, the fastest socket API
 * Deno has.
 *
 * @module
 */

import { ReplyCode } from "../../protocol/reply.ts";
import type { DataStream } from "../../transport/data_stream.ts";
import { FtpError } from "../ftp_error.ts";

/** A data connection being set up, passive or active. */
export interface DataChannel {
  /** True once the connection exists (a passive client already connected). */
  readonly connected: boolean;
  /** Resolves with the open connection; rejects with a 425 (or 522) {@linkcode FtpError}. */
  open(): Promise<DataStream>;
  /** Closes the listener or connection; safe to call at any time. */
  close(): void;
}

/** The 425 error for a data connection that could not be made. */
export function cannotOpen(reason: string): FtpError {
  return new FtpError(ReplyCode.CannotOpenData, `Can't open data connection: ${reason}.`);
}

/** The 522 error for a PROT P data connection whose TLS handshake failed. */
export function tlsHandshakeFailed(error: unknown): FtpError {
  return new FtpError(
    ReplyCode.TlsNegotiationFailed,
    `TLS negotiation on the data connection failed: ${(error as Error).message}.`,
  );
}

/** The 522 error for a PROT P data connection refused after its handshake (`refusal` says why). */
export function tlsRefused(refusal: string): FtpError {
  return new FtpError(ReplyCode.TlsNegotiationFailed, `${refusal}.`);
}

/** Options for {@linkcode ActiveChannel}. */
export interface ActiveOptions {
  /** The client's address and port from PORT/EPRT. */
  hostname: string;
  port: number;
  /** How long to wait for the connect, in milliseconds. */
  timeoutMs: number;
}

/** An active data channel: connects to the address the client gave with PORT or EPRT. */
export class ActiveChannel implements DataChannel {
  readonly #options: ActiveOptions;
  #conn: Deno.Conn | undefined;
  #closed = false;

  /** Records the target; nothing connects until {@linkcode ActiveChannel.open}. */
  constructor(options: ActiveOptions) {
    this.#options = options;
  }

  get connected(): boolean {
    return this.#conn !== undefined;
  }

  async open(): Promise<Deno.Conn> {
    if (this.#conn) return this.#conn;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#options.timeoutMs);
    try {
      const conn = await Deno.connect({
        hostname: this.#options.hostname,
        port: this.#options.port,
        signal: controller.signal,
      });
      if (this.#closed) {
        conn.close();
        throw cannotOpen("closed");
      }
      this.#conn = conn;
      return conn;
    } catch (error) {
      if (error instanceof FtpError) throw error;
      throw cannotOpen(controller.signal.aborted ? "timed out" : "connection refused");
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.#closed = true;
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
  }
}
