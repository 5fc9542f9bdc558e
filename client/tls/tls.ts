/**
 * The client's side of FTPS (RFC 4217): the settings (`ftps://` implicit
 * TLS or `--tls` explicit `AUTH TLS`, `--ca-file`, `--insecure`), turning a
 * socket into a verified TLS client socket, and the messages for what can go
 * wrong there. The FTP client is the TLS client on every connection, data
 * connections in active mode included (RFC 4217 §10).
 *
 * @module
 */

import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { ClientError, ExitCode } from "../errors.ts";
import { loadOpenSsl } from "./openssl.ts";
import { OpenSslSocket } from "./openssl_socket.ts";

/** How the client uses TLS. */
export interface TlsSettings {
  /** "implicit": TLS from the first byte (`ftps://`); "explicit": `AUTH TLS` first (`--tls`). */
  mode: "implicit" | "explicit";
  /** Extra trusted certificates (PEM text), on top of the default roots (`--ca-file`). */
  ca?: string;
  /**
   * Skip certificate verification (`--insecure`).
   * @default {false}
   */
  insecure?: boolean;
  /**
   * The lowest TLS version offered.
   * @default {"TLSv1.2"}
   */
  minVersion?: tls.SecureVersion;
  /** The highest TLS version offered (the runtime's highest when absent). */
  maxVersion?: tls.SecureVersion;
}

/** Refusal codes of `AUTH TLS` that mean "no TLS here" (RFC 2228, RFC 4217 §4). */
const NO_TLS_CODES = new Set([500, 502, 504, 534, 431]);

/** The message when a server refuses PROT P data connections that do not resume a session. */
export const REUSE_REQUIRED_MESSAGE =
  "the server requires TLS session reuse on data connections; ferry resumes sessions through " +
  "the system's OpenSSL (libssl 3), which needs Deno's --allow-ffi permission (the installed " +
  "ferry has it); without it, ask for reuse to be relaxed, e.g. vsftpd require_ssl_reuse=NO " +
  "or ferry --tls-reuse-optional";

/**
 * A TLS client socket: `node:tls`'s, or {@linkcode OpenSslSocket} when the
 * system's OpenSSL can be used (it resumes sessions; Deno's TLS does not).
 */
export type ClientTlsSocket = tls.TLSSocket | OpenSslSocket;

/**
 * Starts TLS as the client on `transport` (the control connection's TCP
 * socket) and returns the socket at once; {@linkcode clientHandshake} waits
 * for the handshake. Uses the system's OpenSSL when this process may
 * (`--allow-ffi`, libssl 3 installed), else {@linkcode connectNodeTls}.
 *
 * @example
 * ```ts ignore
 * const control = connectClientTls(netSocket, "ftp.example.com", { mode: "explicit" });
 * await clientHandshake(control, "ftp.example.com port 21", 30_000);
 * ```
 */
export function connectClientTls(
  transport: Duplex,
  host: string,
  settings: TlsSettings,
): ClientTlsSocket {
  const openSsl = loadOpenSsl();
  if (openSsl) return OpenSslSocket.connect(openSsl, transport, host, settings);
  return connectNodeTls(transport, host, settings);
}

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
 * Reads a `--ca-file`: one or more PEM certificates.
 *
 * @throws {ClientError} (exit 2) If the file cannot be read or holds no certificate.
 *
 * @example
 * ```ts
 * const ca = await readCaFile("cert.pem");
 * ```
 */
export async function readCaFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ClientError(
      `Cannot read --ca-file ${path}: ${(error as Error).message}`,
      ExitCode.Usage,
    );
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new ClientError(`--ca-file ${path} holds no PEM certificate`, ExitCode.Usage);
  }
  return text;
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

/**
 * The error for an `AUTH TLS` reply other than 234.
 *
 * @example
 * ```ts
 * authRefused({ code: 502, lines: ["Command not implemented."] });
 * ```
 */
export function authRefused(reply: { code: number; lines: string[] }): ClientError {
  const text = `${reply.code} ${reply.lines.join(" ").trim()}`;
  if (NO_TLS_CODES.has(reply.code)) {
    return new ClientError(
      `The server does not offer TLS (AUTH TLS: ${text}); ` +
        "connect without --tls to use plain FTP",
      ExitCode.Connect,
    );
  }
  return new ClientError(`AUTH TLS refused: ${text}`, ExitCode.Connect);
}
