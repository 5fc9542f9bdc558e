/**
 * One TLS client connection's state in OpenSSL, with no I/O of its own: the
 * caller feeds it the bytes that came from the server and sends what it
 * produces ({@linkcode TlsEngine.takeOutput}). The control connection's
 * `Duplex` ({@linkcode OpenSslSocket}) and the data connections' stream
 * ({@linkcode OpenSslDataStream}) are both built on it.
 *
 * @module
 */

import { isIP } from "node:net";
import {
  cString,
  Ctrl,
  type OpenSslSymbols,
  readCString,
  SslError,
  takeErrorText,
  TLS_VERSIONS,
} from "./openssl.ts";
import type { TlsSettings } from "./settings.ts";

const SSL_VERIFY_NONE = 0;
const SSL_VERIFY_PEER = 1;
/** `X509_V_ERR_*` codes for a certificate that does not name the host. */
const X509_HOSTNAME_MISMATCH = 62;
const X509_IP_ADDRESS_MISMATCH = 64;

/** One `SSL_CTX` per settings object: trust roots and versions are set once. */
const contexts = new WeakMap<TlsSettings, Deno.PointerObject>();

/** The `SSL_CTX` for `settings`: default roots plus `--ca-file`, verification unless insecure. */
function contextFor(lib: OpenSslSymbols, settings: TlsSettings): Deno.PointerObject {
  const known = contexts.get(settings);
  if (known) return known;
  const context = lib.SSL_CTX_new(lib.TLS_client_method());
  if (context === null) throw new Error(`Cannot create a TLS context: ${takeErrorText(lib)}`);
  const min = TLS_VERSIONS[settings.minVersion ?? "TLSv1.2"] ?? TLS_VERSIONS["TLSv1.2"]!;
  lib.SSL_CTX_ctrl(context, Ctrl.SetMinProtoVersion, BigInt(min), null);
  const max = settings.maxVersion ? TLS_VERSIONS[settings.maxVersion] : undefined;
  if (max !== undefined) lib.SSL_CTX_ctrl(context, Ctrl.SetMaxProtoVersion, BigInt(max), null);
  lib.SSL_CTX_set_verify(context, settings.insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, null);
  lib.SSL_CTX_set_default_verify_paths(context);
  if (settings.ca !== undefined) trustPem(lib, context, settings.ca);
  lib.ERR_clear_error();
  contexts.set(settings, context);
  return context;
}

/** Adds every certificate in PEM `text` to the context's trust store. */
function trustPem(lib: OpenSslSymbols, context: Deno.PointerObject, text: string): void {
  const pem = new TextEncoder().encode(text);
  const bio = lib.BIO_new_mem_buf(pem, pem.length);
  const store = lib.SSL_CTX_get_cert_store(context);
  try {
    for (;;) {
      const certificate = lib.PEM_read_bio_X509(bio, null, null, null);
      if (certificate === null) break;
      lib.X509_STORE_add_cert(store, certificate);
      lib.X509_free(certificate);
    }
  } finally {
    lib.BIO_free(bio);
  }
}

/** What {@linkcode TlsEngine.read} found: clear bytes, or why there are none. */
export const NEED_MORE = 0;
/** The peer sent close_notify. */
export const CLOSED = -1;

/**
 * A TLS client connection over two memory BIOs.
 *
 * @example
 * ```ts ignore
 * const engine = new TlsEngine(loadOpenSsl()!, "ftp.example.com", settings);
 * while (!engine.handshake()) {
 *   await writeAll(conn, engine.takeOutput());
 *   engine.feed(await readSome(conn));
 * }
 * ```
 */
export class TlsEngine {
  readonly #lib: OpenSslSymbols;
  readonly #host: string;
  #ssl: Deno.PointerObject | null;
  readonly #readBio: Deno.PointerValue;
  readonly #writeBio: Deno.PointerValue;
  #established = false;

  /**
   * A client connection to `host` (a DNS name, checked and sent as SNI, or
   * an IP literal checked against the certificate's IP addresses). With
   * `resume`, offers the session of that established connection.
   */
  constructor(lib: OpenSslSymbols, host: string, settings: TlsSettings, resume?: TlsEngine) {
    this.#lib = lib;
    this.#host = host;
    const ssl = lib.SSL_new(contextFor(lib, settings));
    if (ssl === null) throw new Error(`Cannot start TLS: ${takeErrorText(lib)}`);
    this.#ssl = ssl;
    this.#readBio = lib.BIO_new(lib.BIO_s_mem());
    this.#writeBio = lib.BIO_new(lib.BIO_s_mem());
    lib.SSL_set_bio(ssl, this.#readBio, this.#writeBio);
    lib.SSL_set_connect_state(ssl);
    if (isIP(host) !== 0) {
      lib.X509_VERIFY_PARAM_set1_ip_asc(lib.SSL_get0_param(ssl), cString(host));
    } else {
      lib.SSL_set1_host(ssl, cString(host));
      lib.SSL_ctrl(ssl, Ctrl.SetTlsextHostname, 0n, cString(host));
    }
    const from = resume ? resume.#ssl : null;
    const session = from ? lib.SSL_get1_session(from) : null;
    if (session !== null) {
      lib.SSL_set_session(ssl, session);
      lib.SSL_SESSION_free(session);
    }
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
   * the server. Send {@linkcode takeOutput} after each call.
   *
   * @throws {Error} If the handshake failed (certificate, protocol).
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
      const reason = readCString(lib.X509_verify_cert_error_string(BigInt(verify)));
      const mismatch = verify === X509_HOSTNAME_MISMATCH || verify === X509_IP_ADDRESS_MISMATCH;
      return new Error(
        `certificate verify failed: ${reason}` +
          (mismatch ? ` (the certificate does not name ${this.#host})` : ""),
      );
    }
    return new Error(detail ?? `TLS error ${error}`);
  }

  /** Hands OpenSSL bytes that came from the server. */
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
      const n = lib.SSL_read(ssl, buffer.subarray(filled), buffer.length - filled);
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
  }

  /** Encrypted bytes waiting to be sent. */
  get pendingOutput(): number {
    if (this.#ssl === null) return 0;
    return Number(this.#lib.BIO_ctrl(this.#writeBio, Ctrl.BioPending, 0n, null));
  }

  /**
   * The encrypted bytes waiting to be sent: in `into` when it is large
   * enough (a view of it), else in a new array; empty when there are none.
   */
  takeOutput(into?: Uint8Array): Uint8Array {
    const pending = this.pendingOutput;
    if (pending <= 0) return new Uint8Array(0);
    const out = into && into.length >= pending
      ? into.subarray(0, pending)
      : new Uint8Array(pending);
    this.#lib.BIO_read(this.#writeBio, out, pending);
    return out;
  }

  /** The negotiated protocol ("TLSv1.3"), or null before the handshake. */
  get protocol(): string | null {
    if (this.#ssl === null || !this.#established) return null;
    return readCString(this.#lib.SSL_get_version(this.#ssl));
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
