/**
 * One TLS connection's state in OpenSSL, client or server, with no I/O of
 * its own: the caller feeds it the bytes that came from the peer and sends
 * what it produces ({@linkcode TlsEngine.takeOutput}). The control
 * connections' `Duplex` ({@linkcode OpenSslSocket}) and the data connections'
 * stream ({@linkcode OpenSslDataStream}) are built on it, on both sides; the
 * client (`client/tls/openssl_engine.ts`) and the server
 * (`server/tls/openssl_context.ts`) make the `SSL` object it runs.
 *
 * @module
 */

import {
  Ctrl,
  type OpenSslSymbols,
  readCString,
  SslError,
  takeErrorText,
  versionName,
} from "./openssl.ts";

/** `X509_V_ERR_*` codes for a certificate that does not name the host. */
const X509_HOSTNAME_MISMATCH = 62;
const X509_IP_ADDRESS_MISMATCH = 64;

/** What {@linkcode TlsEngine.read} found: clear bytes, or why there are none. */
export const NEED_MORE = 0;
/** The peer sent close_notify. */
export const CLOSED = -1;

/**
 * A TLS connection over two memory BIOs.
 *
 * @example
 * ```ts ignore
 * const engine = clientEngine(loadOpenSsl()!, "ftp.example.com", settings);
 * while (!engine.handshake()) {
 *   await writeAll(conn, engine.takeOutput());
 *   engine.feed(await readSome(conn));
 * }
 * ```
 */
export class TlsEngine {
  readonly #lib: OpenSslSymbols;
  readonly #peerName: string | undefined;
  #ssl: Deno.PointerObject | null;
  readonly #readBio: Deno.PointerValue;
  readonly #writeBio: Deno.PointerValue;
  #established = false;

  /**
   * Takes over `ssl` (an `SSL` object set up as client or server; freed with
   * the engine) and gives it two memory BIOs. `peerName` is the host a client
   * checks the certificate against, for the error message.
   */
  constructor(lib: OpenSslSymbols, ssl: Deno.PointerObject, peerName?: string) {
    this.#lib = lib;
    this.#peerName = peerName;
    this.#ssl = ssl;
    this.#readBio = lib.BIO_new(lib.BIO_s_mem());
    this.#writeBio = lib.BIO_new(lib.BIO_s_mem());
    lib.SSL_set_bio(ssl, this.#readBio, this.#writeBio);
  }

  /** The `SSL` object while the engine lives (for sessions to resume), else null. */
  get ssl(): Deno.PointerObject | null {
    return this.#ssl;
  }

  /** True once the handshake is done. */
  get established(): boolean {
    return this.#established;
  }

  /** True once {@linkcode free} ran. */
  get freed(): boolean {
    return this.#ssl === null;
  }

  #live(): Deno.PointerObject {
    if (this.#ssl === null) throw new Error("TLS connection closed");
    return this.#ssl;
  }

  /**
   * Moves the handshake on: true once it is done, false while it waits for
   * the peer. Send {@linkcode takeOutput} after each call.
   *
   * @throws {Error} If the handshake failed (certificate, protocol, garbage).
   */
  handshake(): boolean {
    if (this.#established) return true;
    const lib = this.#lib;
    const ssl = this.#live();
    lib.ERR_clear_error();
    const result = lib.SSL_do_handshake(ssl);
    if (result === 1) {
      this.#established = true;
      return true;
    }
    const error = lib.SSL_get_error(ssl, result);
    if (error === SslError.WantRead) return false;
    throw this.#handshakeError(error);
  }

  #handshakeError(error: number): Error {
    const lib = this.#lib;
    const verify = Number(lib.SSL_get_verify_result(this.#ssl));
    const detail = takeErrorText(lib);
    if (verify !== 0) {
      const reason = readCString(lib.X509_verify_cert_error_string(BigInt(verify))) ??
        `X509 error ${verify}`;
      const mismatch = verify === X509_HOSTNAME_MISMATCH || verify === X509_IP_ADDRESS_MISMATCH;
      return new Error(
        `certificate verify failed: ${reason}` +
          (mismatch ? ` (the certificate does not name ${this.#peerName})` : ""),
      );
    }
    return new Error(detail ?? `TLS error ${error}`);
  }

  /** Hands OpenSSL bytes that came from the peer. */
  feed(bytes: Uint8Array): void {
    if (this.#ssl === null || bytes.length === 0) return; // closed: the bytes have no reader
    this.#lib.BIO_write(this.#readBio, bytes, bytes.length);
  }

  /**
   * Decrypts into `buffer`, as many records as fit: the count, or
   * {@linkcode NEED_MORE} (feed more bytes), or {@linkcode CLOSED}
   * (close_notify, and nothing before it left).
   *
   * @throws {Error} On a TLS error (a forged or broken record).
   */
  read(buffer: Uint8Array): number {
    const lib = this.#lib;
    const ssl = this.#live();
    let filled = 0;
    while (filled < buffer.length) {
      lib.ERR_clear_error();
      const into = filled === 0 ? buffer : buffer.subarray(filled);
      const n = lib.SSL_read(ssl, into, into.length);
      if (n > 0) {
        filled += n;
        continue;
      }
      const error = lib.SSL_get_error(ssl, n);
      if (filled > 0 || error === SslError.WantRead) return filled;
      if (error === SslError.ZeroReturn) return CLOSED;
      throw new Error(`TLS error: ${takeErrorText(lib) ?? error}`);
    }
    return filled;
  }

  /**
   * Encrypts all of `data` (the output waits in {@linkcode takeOutput}).
   *
   * @throws {Error} If the connection is closed or failed.
   */
  write(data: Uint8Array): void {
    if (data.length === 0) return;
    const lib = this.#lib;
    lib.ERR_clear_error();
    const n = lib.SSL_write(this.#live(), data, data.length);
    if (n <= 0) throw new Error(`TLS write failed: ${takeErrorText(lib) ?? n}`);
  }

  /** Queues close_notify (sent with the next {@linkcode takeOutput}). */
  shutdown(): void {
    if (this.#ssl === null || !this.#established) return;
    this.#lib.ERR_clear_error();
    this.#lib.SSL_shutdown(this.#ssl);
    this.#lib.ERR_clear_error();
  }

  /** Encrypted bytes waiting to be sent. */
  get pendingOutput(): number {
    if (this.#ssl === null) return 0;
    return Number(this.#lib.BIO_ctrl(this.#writeBio, Ctrl.BioPending, 0n, null));
  }

  /** The encrypted bytes waiting to be sent, in a new array; empty when there are none. */
  takeOutput(): Uint8Array {
    const pending = this.pendingOutput;
    if (pending <= 0) return new Uint8Array(0);
    const out = new Uint8Array(pending);
    return out.subarray(0, this.takeOutputInto(out));
  }

  /**
   * Moves up to `into.length` waiting encrypted bytes into `into`; returns
   * the count (0 when none wait). For a fixed output buffer, emptied in parts.
   */
  takeOutputInto(into: Uint8Array): number {
    if (this.#ssl === null) return 0;
    const n = this.#lib.BIO_read(this.#writeBio, into, into.length);
    return n > 0 ? n : 0;
  }

  /**
   * Gives back the memory of the write BIO once all its output has been
   * taken (it keeps the size of the largest output otherwise): a connection
   * that waits on a slow peer then holds no encrypted bytes twice.
   */
  releaseOutputMemory(): void {
    if (this.#ssl === null || this.pendingOutput > 0) return;
    const fresh = this.#lib.BUF_MEM_new();
    if (fresh === null) return; // out of memory: keep the old buffer
    this.#lib.BIO_ctrl(this.#writeBio, Ctrl.SetBufMem, 1n, fresh);
  }

  /** The negotiated protocol ("TLSv1.3"), or null before the handshake. */
  get protocol(): string | null {
    if (this.#ssl === null || !this.#established) return null;
    return versionName(this.#lib.SSL_version(this.#ssl));
  }

  /** True when the handshake resumed an earlier session. */
  get reused(): boolean {
    return this.#ssl !== null && this.#lib.SSL_session_reused(this.#ssl) === 1;
  }

  /** Frees the connection (and its BIOs); later calls fail as "closed". */
  free(): void {
    if (this.#ssl === null) return;
    this.#lib.SSL_free(this.#ssl);
    this.#ssl = null;
  }
}
