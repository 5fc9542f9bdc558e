/**
 * The client's TLS settings and what needs no TLS library: the `--ca-file`
 * reader and the messages for a refused `AUTH TLS` or a required session
 * reuse. Commands load this without loading a TLS back-end
 * (`client/tls/backend.ts` chooses one, once, when a connection needs it).
 *
 * @module
 */

import { ReplyCode } from "../../protocol/reply.ts";
import { ClientError, ExitCode } from "../errors.ts";

/** A TLS protocol version, as `node:tls` and OpenSSL name it. */
export type TlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

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
  minVersion?: TlsVersion;
  /** The highest TLS version offered (the runtime's highest when absent). */
  maxVersion?: TlsVersion;
}

/** Refusal codes of `AUTH TLS` that mean "no TLS here" (RFC 2228, RFC 4217 §4). */
const NO_TLS_CODES = new Set<number>([
  ReplyCode.SyntaxError,
  ReplyCode.NotImplemented,
  ReplyCode.ParameterNotImplemented,
  ReplyCode.PolicyDenied,
  ReplyCode.SecurityResourceUnavailable,
]);

/** The message when a server refuses PROT P data connections that do not resume a session. */
export const REUSE_REQUIRED_MESSAGE =
  "the server requires TLS session reuse on data connections; ferry resumes sessions through " +
  "the system's OpenSSL (libssl 3), which needs Deno's --allow-ffi permission (the installed " +
  "ferry has it); without it, ask for reuse to be relaxed, e.g. vsftpd require_ssl_reuse=NO " +
  "or ferry --tls-reuse-optional";

/**
 * Reads a `--ca-file`: one or more PEM certificates.
 *
 * @throws {ClientError} (exit 2) If the file cannot be read or holds no certificate.
 *
 * @example
 * ```ts ignore
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
