/**
 * The server's TLS on OpenSSL: one `SSL_CTX` per certificate in force (a
 * reload makes a new one; control connections keep theirs for their data
 * connections), and a {@linkcode TlsEngine} per connection.
 *
 * Every control connection has a binding of its own, set as the session id
 * context of its `SSL` objects: OpenSSL resumes a session (TLS 1.2 ticket or
 * session id, TLS 1.3 ticket) only on a connection with the same binding, so
 * a PROT P data connection can resume only its own control connection's
 * session (RFC 4217 §10, against data connection stealing), on every
 * protocol version.
 *
 * @module
 */

import {
  Ctrl,
  type OpenSslSymbols,
  takeErrorText,
  TLS_VERSIONS,
} from "../../transport/tls/openssl.ts";
import { TlsEngine } from "../../transport/tls/tls_engine.ts";

/**
 * `SSL_MODE_RELEASE_BUFFERS`: a connection gives its record buffers back
 * whenever they are empty. A control connection is idle most of the time;
 * a data connection's records pass through memory BIOs at once, so its
 * buffers are taken for a record and given back (a malloc of 17 KiB per 16
 * KiB record, against 34 KiB held by every connection waiting on a slow peer).
 */
const MODE_RELEASE_BUFFERS = 0x10n;
/** `SSL_OP_NO_RENEGOTIATION`: TLS 1.2 renegotiation (a CPU sink for a client) is refused. */
const OP_NO_RENEGOTIATION = 1n << 30n;
/** `SSL_OP_CIPHER_SERVER_PREFERENCE`. */
const OP_CIPHER_SERVER_PREFERENCE = 1n << 22n;
/** Sessions the server remembers by id for TLS 1.2 clients that resume without tickets. */
const SESSION_CACHE_SIZE = 1024n;
/** Bytes of a control connection's binding (the session id context, at most 32). */
export const BINDING_BYTES = 16;

/** Frees a context's own reference once its wrapper is unreachable (connections hold theirs). */
const contexts = new FinalizationRegistry<{ lib: OpenSslSymbols; ctx: Deno.PointerObject }>(
  ({ lib, ctx }) => lib.SSL_CTX_free(ctx),
);

/** Options for {@linkcode OpenSslServerContext.fromPem}. */
export interface OpenSslServerOptions {
  /**
   * The newest protocol version offered.
   * @default {"TLSv1.3"}
   */
  maxVersion?: "TLSv1.2" | "TLSv1.3";
}

/**
 * A server certificate and key in an OpenSSL `SSL_CTX`.
 *
 * @example
 * ```ts ignore
 * const context = OpenSslServerContext.fromPem(loadOpenSsl()!, certPem, keyPem);
 * const binding = newBinding();
 * const control = context.engine(binding, "control");
 * const data = context.engine(binding, "data");
 * ```
 */
export class OpenSslServerContext {
  /** Which TLS engine this context runs on. */
  readonly kind = "openssl" as const;
  readonly #lib: OpenSslSymbols;
  readonly #ctx: Deno.PointerObject;

  private constructor(lib: OpenSslSymbols, ctx: Deno.PointerObject) {
    this.#lib = lib;
    this.#ctx = ctx;
    contexts.register(this, { lib, ctx });
  }

  /**
   * Makes a context from a PEM certificate (chain) and private key.
   *
   * @throws {Error} If OpenSSL cannot use them.
   */
  static fromPem(
    lib: OpenSslSymbols,
    certPem: string,
    keyPem: string,
    options: OpenSslServerOptions = {},
  ): OpenSslServerContext {
    const ctx = lib.SSL_CTX_new(lib.TLS_server_method());
    if (ctx === null) throw new Error(`Cannot create a TLS context: ${takeErrorText(lib)}`);
    try {
      useCertificateChain(lib, ctx, certPem);
      usePrivateKey(lib, ctx, keyPem);
      if (lib.SSL_CTX_check_private_key(ctx) !== 1) {
        throw new Error(`the key does not match the certificate: ${takeErrorText(lib)}`);
      }
      lib.SSL_CTX_ctrl(ctx, Ctrl.SetMinProtoVersion, BigInt(TLS_VERSIONS["TLSv1.2"]!), null);
      const max = TLS_VERSIONS[options.maxVersion ?? "TLSv1.3"]!;
      lib.SSL_CTX_ctrl(ctx, Ctrl.SetMaxProtoVersion, BigInt(max), null);
      lib.SSL_CTX_ctrl(ctx, Ctrl.Mode, MODE_RELEASE_BUFFERS, null);
      lib.SSL_CTX_ctrl(ctx, Ctrl.SetSessCacheSize, SESSION_CACHE_SIZE, null);
      lib.SSL_CTX_set_options(ctx, OP_NO_RENEGOTIATION | OP_CIPHER_SERVER_PREFERENCE);
      lib.SSL_CTX_set_timeout(ctx, SESSION_LIFETIME_S);
    } catch (error) {
      lib.SSL_CTX_free(ctx);
      lib.ERR_clear_error();
      throw error;
    }
    lib.ERR_clear_error();
    return new OpenSslServerContext(lib, ctx);
  }

  /**
   * A server connection bound to `binding` (see {@linkcode newBinding}): it
   * resumes only sessions issued under the same binding. A `data`
   * connection issues no session tickets of its own (clients resume the
   * control connection's, and a peer that closes without reading tickets
   * would turn them into a reset that can cost the end of an upload).
   *
   * @throws {Error} If OpenSSL cannot make the connection.
   */
  engine(binding: Uint8Array, role: "control" | "data"): TlsEngine {
    const lib = this.#lib;
    const ssl = lib.SSL_new(this.#ctx);
    if (ssl === null) throw new Error(`Cannot start TLS: ${takeErrorText(lib)}`);
    const engine = new TlsEngine(lib, ssl);
    lib.SSL_set_accept_state(ssl);
    lib.SSL_set_session_id_context(ssl, binding, binding.length);
    if (role === "data") lib.SSL_set_num_tickets(ssl, 0n);
    return engine;
  }
}

/** How long a session may be resumed, in seconds: as long as a control connection may live. */
const SESSION_LIFETIME_S = 86_400n;

/**
 * A new random binding for one control connection and its data connections.
 *
 * @example
 * ```ts ignore
 * session.tlsBinding = newBinding();
 * ```
 */
export function newBinding(): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(BINDING_BYTES));
}

/** Reads PEM `text` into a memory BIO for `use`, then frees the BIO. */
function withPem<T>(lib: OpenSslSymbols, text: string, use: (bio: Deno.PointerValue) => T): T {
  const pem = new TextEncoder().encode(text);
  const bio = lib.BIO_new_mem_buf(pem, pem.length);
  try {
    return use(bio);
  } finally {
    lib.BIO_free(bio);
  }
}

/** Sets the first certificate of `certPem` as the server's and the rest as its chain. */
function useCertificateChain(lib: OpenSslSymbols, ctx: Deno.PointerObject, certPem: string): void {
  withPem(lib, certPem, (bio) => {
    const leaf = lib.PEM_read_bio_X509(bio, null, null, null);
    if (leaf === null) throw new Error(`no PEM certificate: ${takeErrorText(lib)}`);
    const used = lib.SSL_CTX_use_certificate(ctx, leaf);
    lib.X509_free(leaf);
    if (used !== 1) throw new Error(`cannot use the certificate: ${takeErrorText(lib)}`);
    for (;;) {
      const next = lib.PEM_read_bio_X509(bio, null, null, null);
      if (next === null) break;
      const added = lib.SSL_CTX_ctrl(ctx, Ctrl.ChainCert, 1n, next); // add1: takes its own reference
      lib.X509_free(next);
      if (added !== 1n) throw new Error(`cannot use the chain: ${takeErrorText(lib)}`);
    }
    lib.ERR_clear_error(); // the end of the PEM text reads as an error
  });
}

/** Sets the server's private key (an empty passphrase: never a prompt on the terminal). */
function usePrivateKey(lib: OpenSslSymbols, ctx: Deno.PointerObject, keyPem: string): void {
  withPem(lib, keyPem, (bio) => {
    const key = lib.PEM_read_bio_PrivateKey(bio, null, null, EMPTY_PASSPHRASE);
    if (key === null) throw new Error(`no usable PEM private key: ${takeErrorText(lib)}`);
    const used = lib.SSL_CTX_use_PrivateKey(ctx, key);
    lib.EVP_PKEY_free(key);
    if (used !== 1) throw new Error(`cannot use the private key: ${takeErrorText(lib)}`);
  });
}

/** "" as a C string. */
const EMPTY_PASSPHRASE = new Uint8Array(1);
