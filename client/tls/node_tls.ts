/**
 * `node:tls` for the client: a verified TLS client socket on any `Duplex`
 * (the fallback back-end when the system's OpenSSL cannot be used), waiting
 * for a handshake, and the message for a failed one (either back-end).
 *
 * @module
 */

import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { ClientError, ExitCode } from "../errors.ts";
import type { OpenSslSocket } from "../../transport/tls/openssl_socket.ts";
import type { TlsSettings } from "./settings.ts";

/**
 * A TLS client socket: `node:tls`'s, or {@linkcode OpenSslSocket} when the
 * system's OpenSSL can be used (it resumes sessions; Deno's TLS does not).
 */
export type ClientTlsSocket = tls.TLSSocket | OpenSslSocket;

/**
 * Starts TLS as the client on `transport` with `node:tls`, which in Deno 2.9
 * cannot resume a session (it ignores the `session` option).
 *
 * @example
 * ```ts ignore
 * const socket = connectNodeTls(new ConnDuplex(conn), "ftp.example.com", settings);
 * ```
 */
export function connectNodeTls(
  transport: Duplex,
  host: string,
  settings: TlsSettings,
): tls.TLSSocket {
  return tls.connect(clientTlsOptions(transport, host, settings));
}

/**
 * The `node:tls` options that make `socket` a TLS client talking to `host`:
 * the certificate must chain to a default root or the `--ca-file`
 * certificates and name `host` (a DNS name, or an IP literal checked against
 * the certificate's IP addresses), unless the settings say `insecure`.
 */
function clientTlsOptions(
  socket: Duplex,
  host: string,
  settings: TlsSettings,
): tls.ConnectionOptions {
  return {
    socket,
    // `host` is what the certificate is checked against; SNI takes DNS names only.
    host,
    ...(isIP(host) === 0 ? { servername: host } : {}),
    // Deno hands `ca` to rustls as caCerts, which are trusted in addition to the default
    // roots (reading tls.rootCertificates would need --allow-sys).
    ...(settings.ca === undefined ? {} : { ca: [settings.ca] }),
    rejectUnauthorized: !settings.insecure,
    minVersion: settings.minVersion ?? "TLSv1.2",
    ...(settings.maxVersion ? { maxVersion: settings.maxVersion } : {}),
  };
}

/**
 * Waits for a TLS client socket's handshake; on failure destroys it and
 * throws a {@linkcode ClientError} (exit 3) that says what to do about an
 * untrusted certificate.
 */
export function clientHandshake(
  socket: ClientTlsSocket,
  what: string,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.off("secureConnect", onSecure);
      socket.off("error", onError);
      socket.off("close", onClose);
      if (!error) return resolve();
      socket.destroy();
      reject(new ClientError(describeTlsFailure(what, error), ExitCode.Connect, { cause: error }));
    };
    const onSecure = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(new Error("the connection closed during the handshake"));
    const timer = setTimeout(() => done(new Error("timed out")), timeoutMs);
    socket.once("secureConnect", onSecure);
    socket.once("error", onError);
    socket.once("close", onClose);
  });
}

const CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * The message for a failed TLS handshake: a certificate problem names the
 * way out (`--ca-file`, `--insecure`).
 *
 * @example
 * ```ts
 * describeTlsFailure("127.0.0.1 port 990", Object.assign(new Error("self-signed certificate"), {
 *   code: "DEPTH_ZERO_SELF_SIGNED_CERT",
 * }));
 * ```
 */
export function describeTlsFailure(what: string, error: Error): string {
  const code = (error as { code?: string }).code ?? "";
  if (CERTIFICATE_CODES.has(code) || /certificate|altname/i.test(error.message)) {
    return `TLS certificate of ${what} not trusted: ${error.message} ` +
      "(trust it with --ca-file FILE, or skip verification with --insecure)";
  }
  return `TLS handshake with ${what} failed: ${error.message}`;
}
