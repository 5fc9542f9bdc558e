/**
 * The server's TLS side: loading the certificate and key into one of two
 * engines — the system's OpenSSL over FFI ({@linkcode OpenSslServerContext})
 * or Deno's `node:tls` ({@linkcode NodeTlsContext}) — and, for `node:tls`,
 * turning an accepted or connected TCP socket into a TLS server socket and
 * checking that a PROT P data connection resumed a TLS session of its own
 * control connection (RFC 4217 §10, against data connection stealing).
 *
 * @module
 */

import type { TlsFlow } from "../../transport/data_stream.ts";
import type { Socket } from "node:net";
import * as tls from "node:tls";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { loadOpenSsl, openSslOrigin } from "../../transport/tls/openssl.ts";
import { type HandshakeObserver, TappedSocket } from "./tls_handshake.ts";
import { OpenSslServerContext } from "./openssl_context.ts";

/** Thrown when the certificate or key cannot be used. */
export class TlsSetupError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsSetupError";
  }
}

/** The error for a certificate and key that cannot be used (a bad PEM, a key that does not fit). */
function unusablePair(error: unknown): TlsSetupError {
  return new TlsSetupError(`Cannot use the TLS certificate and key: ${(error as Error).message}`, {
    cause: error,
  });
}

/** The server's certificate and key on `node:tls`. */
export class NodeTlsContext {
  /** Which TLS engine this context runs on. */
  readonly kind = "node" as const;
  /** The `node:tls` context. */
  readonly secureContext: tls.SecureContext;

  /** Wraps a `node:tls` context. */
  constructor(secureContext: tls.SecureContext) {
    this.secureContext = secureContext;
  }
}

/** The server's certificate and key, loaded into the TLS engine in use. */
export type ServerTlsContext = OpenSslServerContext | NodeTlsContext;

/**
 * Which TLS engine the server uses: `auto` is OpenSSL when this process may
 * load it (`--allow-ffi`, libssl 3 installed), else `node:tls`.
 */
export type TlsEngineChoice = "auto" | "openssl" | "node";

/** Options for {@linkcode loadServerTls}. */
export interface LoadServerTlsOptions {
  /**
   * The newest protocol version offered.
   * @default {"TLSv1.3"}
   */
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /**
   * The TLS engine.
   * @default {"auto"}
   */
  engine?: TlsEngineChoice;
}

/**
 * Reads a PEM certificate (chain) and key and loads them into the TLS
 * engine chosen (see {@linkcode TlsEngineChoice}).
 *
 * @throws {TlsSetupError} If a file cannot be read or used, or `openssl` was
 * asked for and cannot be loaded.
 *
 * @example
 * ```ts ignore
 * const context = await loadServerTls("cert.pem", "key.pem");
 * console.log(context.kind); // "openssl" or "node"
 * ```
 */
export async function loadServerTls(
  certFile: string,
  keyFile: string,
  options: LoadServerTlsOptions = {},
): Promise<ServerTlsContext> {
  const { cert, key } = await readPemPair(certFile, keyFile);
  const maxVersion = options.maxVersion ?? "TLSv1.3";
  const choice = options.engine ?? "auto";
  const lib = choice === "node" ? undefined : loadOpenSsl();
  if (lib) {
    try {
      return OpenSslServerContext.fromPem(lib, cert, key, { maxVersion });
    } catch (error) {
      throw unusablePair(error);
    }
  }
  if (choice === "openssl") {
    throw new TlsSetupError(
      "--tls-engine openssl needs Deno's --allow-ffi and libssl 3 (libssl.so.3) on the system",
    );
  }
  try {
    return new NodeTlsContext(
      tls.createSecureContext({ cert, key, minVersion: "TLSv1.2", maxVersion }),
    );
  } catch (error) {
    throw unusablePair(error);
  }
}

/**
 * What the start-up log says about the TLS engine in use: `engine=openssl
 * library=/usr/lib/…/libssl.so.3`, or `engine=node` and why OpenSSL is not used.
 *
 * @example
 * ```ts ignore
 * logger.info("tls-engine", tlsEngineFields(context, "auto"));
 * ```
 */
export function tlsEngineFields(
  context: ServerTlsContext,
  choice: TlsEngineChoice,
): Record<string, string> {
  if (context.kind === "openssl") {
    return { engine: "openssl", library: openSslOrigin().path ?? "" };
  }
  const reason = choice === "node" ? "--tls-engine node" : openSslOrigin().reason ?? "";
  return { engine: "node", reason };
}

/** Reads and checks a PEM certificate and key: present, PEM, and belonging together. */
async function readPemPair(
  certFile: string,
  keyFile: string,
): Promise<{ cert: string; key: string }> {
  let cert: string;
  let key: string;
  try {
    cert = await Deno.readTextFile(certFile);
    key = await Deno.readTextFile(keyFile);
  } catch (error) {
    throw new TlsSetupError(`Cannot read TLS files: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!cert.includes("-----BEGIN CERTIFICATE-----")) {
    throw new TlsSetupError(`${certFile} holds no PEM certificate`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new TlsSetupError(`${keyFile} holds no PEM private key`);
  }
  checkKeyMatches(cert, key, certFile, keyFile);
  return { cert, key };
}

/**
 * Checks that the private key belongs to the certificate (the first one of
 * a chain): a mismatch would otherwise show only at the first handshake.
 */
function checkKeyMatches(cert: string, key: string, certFile: string, keyFile: string): void {
  let certKey: string;
  let ownKey: string;
  try {
    certKey = new X509Certificate(cert).publicKey.export({ type: "spki", format: "pem" })
      .toString();
    ownKey = createPublicKey(createPrivateKey(key)).export({ type: "spki", format: "pem" })
      .toString();
  } catch (error) {
    throw unusablePair(error);
  }
  if (certKey !== ownKey) {
    throw new TlsSetupError(`The key in ${keyFile} does not match the certificate in ${certFile}`);
  }
}

/** A TCP socket turned into a TLS server socket, and what its handshake showed. */
export interface ServerTls {
  socket: tls.TLSSocket;
  observer: HandshakeObserver;
  /** The TCP layer underneath: flow control for the reader, and flushing. */
  flow: TlsFlow;
}

/**
 * Starts the TLS server side on a TCP socket. The socket's data events are
 * taken over at once, so nothing the client sends after this call is read
 * as a command.
 */
export function startServerTls(
  socket: Socket,
  secureContext: tls.SecureContext,
): ServerTls {
  const tapped = new TappedSocket(socket);
  const secure = new tls.TLSSocket(tapped as unknown as Socket, {
    isServer: true,
    secureContext,
  });
  return { socket: secure, observer: tapped.observer, flow: tapped };
}

/** Resolves when the handshake is done; rejects on error, close or after `timeoutMs`. */
export function handshake(socket: tls.TLSSocket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.off("secure", onSecure);
      socket.off("error", onError);
      socket.off("close", onClose);
      if (error) reject(error);
      else resolve();
    };
    const onSecure = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(new Error("Connection closed during the TLS handshake"));
    const timer = setTimeout(() => done(new Error("TLS handshake timed out")), timeoutMs);
    socket.once("secure", onSecure);
    socket.once("error", onError);
    socket.once("close", onClose);
  });
}

/** The most tickets remembered per control connection (the newest are kept). */
const MAX_TICKETS = 64;

/**
 * The TLS tickets issued to one control connection (on it and on its data
 * connections), to check that a data connection resumed one of them.
 */
export class TicketBook {
  readonly #tickets: string[] = [];
  readonly #pending: HandshakeObserver[] = [];

  /** Records a handshake of this control connection; its tickets are read when needed. */
  add(observer: HandshakeObserver): void {
    this.#pending.push(observer);
  }

  /** True if `ticket` (hex) was issued to this control connection. */
  has(ticket: string): boolean {
    for (const observer of this.#pending.splice(0)) this.#tickets.push(...observer.issuedTickets);
    if (this.#tickets.length > MAX_TICKETS) {
      this.#tickets.splice(0, this.#tickets.length - MAX_TICKETS);
    }
    return this.#tickets.includes(ticket);
  }
}

/** Options for {@linkcode checkResumption}. */
export interface ResumptionPolicy {
  /** Refuse data connections that do not resume a session. */
  requireReuse: boolean;
  /** The tickets issued to the control connection. */
  tickets: TicketBook;
}

/**
 * Checks a PROT P data connection's handshake; returns why it is refused,
 * or undefined if it may carry data. With `requireReuse`, the connection
 * must resume a TLS session; over TLS 1.2 the resumed ticket must be one
 * issued to this control connection (tickets are visible in the clear).
 * Over TLS 1.3 tickets are encrypted and Deno exposes no session identity,
 * so only "resumed" can be checked there (see the README's FTPS section);
 * `--tls-max-version 1.2` keeps every connection where the full check runs.
 */
export function checkResumption(
  socket: tls.TLSSocket,
  observer: HandshakeObserver,
  policy: ResumptionPolicy,
): string | undefined {
  const reused = socket.isSessionReused();
  if (policy.requireReuse && !reused) {
    return "TLS session reuse required (resume the control connection's session)";
  }
  if (policy.requireReuse && socket.getProtocol() === "TLSv1.2") {
    const ticket = observer.clientHello?.ticket;
    if (ticket === undefined || !policy.tickets.has(ticket)) {
      return "TLS session was not the control connection's own";
    }
  }
  policy.tickets.add(observer);
  return undefined;
}
