/**
 * The client's OpenSSL connections: one `SSL_CTX` per settings object (trust
 * roots, versions, verification), and a {@linkcode TlsEngine} per connection
 * that checks the server's name and, on data connections, offers the control
 * connection's session.
 *
 * @module
 */

import { isIP } from "node:net";
import {
  cString,
  Ctrl,
  type OpenSslSymbols,
  takeErrorText,
  TLS_VERSIONS,
} from "../../transport/tls/openssl.ts";
import { TlsEngine } from "../../transport/tls/tls_engine.ts";
import type { TlsSettings } from "./settings.ts";

const SSL_VERIFY_NONE = 0;
const SSL_VERIFY_PEER = 1;

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

/**
 * A TLS client connection to `host` (a DNS name, checked and sent as SNI, or
 * an IP literal checked against the certificate's IP addresses). With
 * `resume`, offers the session of that established connection.
 *
 * @example
 * ```ts ignore
 * const control = clientEngine(loadOpenSsl()!, "ftp.example.com", settings);
 * const data = clientEngine(loadOpenSsl()!, "ftp.example.com", settings, control);
 * ```
 */
export function clientEngine(
  lib: OpenSslSymbols,
  host: string,
  settings: TlsSettings,
  resume?: TlsEngine,
): TlsEngine {
  const ssl = lib.SSL_new(contextFor(lib, settings));
  if (ssl === null) throw new Error(`Cannot start TLS: ${takeErrorText(lib)}`);
  const engine = new TlsEngine(lib, ssl, host);
  lib.SSL_set_connect_state(ssl);
  if (isIP(host) !== 0) {
    lib.X509_VERIFY_PARAM_set1_ip_asc(lib.SSL_get0_param(ssl), cString(host));
  } else {
    lib.SSL_set1_host(ssl, cString(host));
    lib.SSL_ctrl(ssl, Ctrl.SetTlsextHostname, 0n, cString(host));
  }
  const from = resume?.ssl ?? null;
  const session = from ? lib.SSL_get1_session(from) : null;
  if (session !== null) {
    lib.SSL_set_session(ssl, session);
    lib.SSL_SESSION_free(session);
  }
  return engine;
}
