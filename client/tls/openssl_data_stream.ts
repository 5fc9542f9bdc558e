/**
 * A PROT P data connection on OpenSSL: TLS straight on the `Deno.Conn`,
 * behind the {@linkcode DataStream} interface the transfer loops use, with
 * no stream layers between (clear data's fast path, plus the cipher). The
 * handshake offers the control connection's session, so servers that
 * require reuse (vsftpd, ProFTPD, ferry) accept the connection.
 *
 * @module
 */

import type { DataStream } from "../../transport/data_stream.ts";
import { CLOSED, NEED_MORE, TlsEngine } from "./openssl_engine.ts";
import type { OpenSslSymbols } from "./openssl.ts";
import type { TlsSettings } from "./settings.ts";

/** Encrypted bytes read from the connection at a time. */
const CIPHER_CHUNK = 1024 * 1024;
/** How long close_notify may take to leave before the connection is dropped. */
const CLOSE_GRACE_MS = 5_000;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

/**
 * TLS on a data connection, run by OpenSSL.
 *
 * @example
 * ```ts ignore
 * const stream = await OpenSslDataStream.connect(lib, conn, host, settings, control.engine, 30_000);
 * await stream.write(bytes);
 * await stream.flush();
 * stream.close();
 * ```
 */
export class OpenSslDataStream implements DataStream {
  readonly #conn: Deno.Conn;
  readonly #engine: TlsEngine;
  readonly #cipher = new Uint8Array(CIPHER_CHUNK);
  #out = new Uint8Array(0);
  #ended = false;
  #closed = false;

  private constructor(conn: Deno.Conn, engine: TlsEngine) {
    this.#conn = conn;
    this.#engine = engine;
  }

  /**
   * Runs the handshake on `conn`, offering `resume`'s session; the stream
   * owns `conn` from then on.
   *
   * @throws {Error} If the handshake fails or times out (`conn` is closed).
   */
  static async connect(
    lib: OpenSslSymbols,
    conn: Deno.Conn,
    host: string,
    settings: TlsSettings,
    resume: TlsEngine | undefined,
    timeoutMs: number,
  ): Promise<OpenSslDataStream> {
    const stream = new OpenSslDataStream(conn, new TlsEngine(lib, host, settings, resume));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stream.#drop();
    }, timeoutMs);
    try {
      while (!stream.#engine.handshake()) {
        await stream.#sendOutput();
        if (!(await stream.#receive())) {
          throw new Error("the connection closed during the handshake");
        }
      }
      await stream.#sendOutput();
      return stream;
    } catch (error) {
      await stream.#sendOutput().catch(() => {}); // an alert, if OpenSSL wrote one
      stream.#drop();
      throw timedOut ? new Error("timed out") : error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** True when the handshake resumed the offered session. */
  get reused(): boolean {
    return this.#engine.reused;
  }

  /** Reads from the connection into the engine: false at the end of the stream. */
  async #receive(): Promise<boolean> {
    const n = await this.#conn.read(this.#cipher);
    if (n === null) return false;
    this.#engine.feed(this.#cipher.subarray(0, n));
    return true;
  }

  /** Sends what the engine has encrypted, through one reused buffer. */
  async #sendOutput(): Promise<void> {
    const pending = this.#engine.pendingOutput;
    if (pending <= 0) return;
    if (this.#out.length < pending) this.#out = new Uint8Array(pending);
    await writeAll(this.#conn, this.#engine.takeOutput(this.#out));
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (!this.#ended) {
      const n = this.#engine.read(buffer);
      if (n > 0) return n;
      if (n === CLOSED) break;
      if (n === NEED_MORE && !(await this.#receive())) break;
    }
    this.#ended = true;
    return null;
  }

  async write(data: Uint8Array): Promise<number> {
    this.#engine.write(data);
    await this.#sendOutput();
    return data.length;
  }

  /** Writes leave for the kernel before `write` resolves: nothing is ever held back. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Sends close_notify (a receiving server counts an upload complete only
   * then) and the end of the stream, reads until the server closes too, then
   * closes. Closing at once would turn unread bytes (TLS 1.3 session tickets
   * after an upload) into a reset, which servers report as a failed transfer.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#engine.shutdown();
    const notify = this.#engine.takeOutput();
    this.#engine.free();
    const timer = setTimeout(() => this.#drop(), CLOSE_GRACE_MS);
    (async () => {
      await writeAll(this.#conn, notify);
      await this.#conn.closeWrite();
      while ((await this.#conn.read(this.#cipher)) !== null) {
        // discarded: nothing more is decrypted after close
      }
    })().catch(() => {}).finally(() => {
      clearTimeout(timer);
      this.#drop();
    });
  }

  #drop(): void {
    this.#closed = true;
    this.#engine.free();
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}
