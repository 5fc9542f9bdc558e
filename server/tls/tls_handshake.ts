/**
 * Watching a TLS handshake from the outside. Deno's `node:tls` (rustls)
 * exposes no session identity on the server side (`getSession()` is null,
 * no `newSession`/`resumeSession`/`keylog` events, one process-wide ticket
 * key), so ferry reads the clear-text handshake records itself: a
 * {@linkcode TappedSocket} sits between the TCP socket and the TLS socket
 * and a {@linkcode HandshakeObserver} parses what passes — the ClientHello
 * (session ticket, pre-shared-key identities) and, for TLS 1.2, the
 * NewSessionTicket messages the server sends in the clear. That is how a
 * data connection is checked to resume a ticket issued to its own control
 * connection.
 *
 * @module
 */

import type { Socket } from "node:net";
import { Duplex } from "node:stream";

const RECORD_HANDSHAKE = 22;
const RECORD_CHANGE_CIPHER_SPEC = 20;
const HANDSHAKE_CLIENT_HELLO = 1;
const HANDSHAKE_SERVER_HELLO = 2;
const HANDSHAKE_NEW_SESSION_TICKET = 4;
const EXTENSION_SESSION_TICKET = 35;
const EXTENSION_PRE_SHARED_KEY = 41;
const EXTENSION_SUPPORTED_VERSIONS = 43;
/** How long a cleanly closed connection may take to flush before it is destroyed. */
const CLOSE_FLUSH_MS = 5_000;
/** How long after a reset TLS may take with the bytes read before it, before the end. */
const RESET_SETTLE_MS = 50;
/** Stop looking after this many bytes in one direction; handshakes are far smaller. */
const OBSERVE_LIMIT = 256 * 1024;

/** What the ClientHello offered for resumption. */
export interface ClientHelloInfo {
  /** The TLS 1.2 session ticket offered (hex), or undefined if none or empty. */
  ticket?: string;
  /** The TLS 1.3 pre-shared-key identities offered (hex). */
  pskIdentities: string[];
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Reads big-endian fields from a byte array, throwing RangeError past the end. */
class _Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}
  get remaining(): number {
    return this.bytes.length - this.offset;
  }
  uint(size: number): number {
    if (this.remaining < size) throw new RangeError("Truncated TLS message");
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + this.bytes[this.offset + i]!;
    this.offset += size;
    return value;
  }
  take(size: number): Uint8Array {
    if (this.remaining < size) throw new RangeError("Truncated TLS message");
    const out = this.bytes.subarray(this.offset, this.offset + size);
    this.offset += size;
    return out;
  }
  vector(lengthSize: number): Uint8Array {
    return this.take(this.uint(lengthSize));
  }
}

/**
 * Parses a ClientHello handshake body (without the 4-byte handshake header).
 *
 * @example
 * ```ts ignore
 * parseClientHello(body).ticket; // the TLS 1.2 ticket offered, hex
 * ```
 */
export function parseClientHello(body: Uint8Array): ClientHelloInfo {
  const reader = new _Reader(body);
  reader.take(2 + 32); // version, random
  reader.vector(1); // session id
  reader.vector(2); // cipher suites
  reader.vector(1); // compression methods
  const info: ClientHelloInfo = { pskIdentities: [] };
  if (reader.remaining === 0) return info;
  const extensions = new _Reader(reader.vector(2));
  while (extensions.remaining > 0) {
    const type = extensions.uint(2);
    const data = extensions.vector(2);
    if (type === EXTENSION_SESSION_TICKET && data.length > 0) info.ticket = hex(data);
    if (type === EXTENSION_PRE_SHARED_KEY) {
      const identities = new _Reader(new _Reader(data).vector(2));
      while (identities.remaining > 0) {
        info.pskIdentities.push(hex(identities.vector(2)));
        identities.uint(4); // obfuscated ticket age
      }
    }
  }
  return info;
}

/** Returns true if a ServerHello body selects TLS 1.3 (supported_versions 0x0304). */
function serverHelloIsTls13(body: Uint8Array): boolean {
  const reader = new _Reader(body);
  reader.take(2 + 32);
  reader.vector(1);
  reader.take(2 + 1); // cipher suite, compression
  if (reader.remaining === 0) return false;
  const extensions = new _Reader(reader.vector(2));
  while (extensions.remaining > 0) {
    const type = extensions.uint(2);
    const data = extensions.vector(2);
    if (type === EXTENSION_SUPPORTED_VERSIONS && data.length === 2) {
      return data[0] === 3 && data[1] === 4;
    }
  }
  return false;
}

/** Reassembles the clear-text handshake messages of one direction of a connection. */
class _Direction {
  #records: Uint8Array = new Uint8Array();
  #messages: Uint8Array = new Uint8Array();
  #seen = 0;
  done = false;

  constructor(readonly onMessage: (type: number, body: Uint8Array) => void) {}

  push(chunk: Uint8Array): void {
    if (this.done) return;
    this.#seen += chunk.length;
    if (this.#seen > OBSERVE_LIMIT) {
      this.done = true;
      return;
    }
    this.#records = concat(this.#records, chunk);
    while (!this.done && this.#records.length >= 5) {
      const type = this.#records[0]!;
      const length = this.#records[3]! * 256 + this.#records[4]!;
      if (this.#records.length < 5 + length) return;
      const payload = this.#records.slice(5, 5 + length);
      this.#records = this.#records.slice(5 + length);
      if (type === RECORD_CHANGE_CIPHER_SPEC) {
        this.done = true; // everything after is encrypted
      } else if (type === RECORD_HANDSHAKE) {
        this.#messages = concat(this.#messages, payload);
        this.#drainMessages();
      } else {
        this.done = true; // alert or application data: the clear part is over
      }
    }
  }

  #drainMessages(): void {
    while (this.#messages.length >= 4) {
      const type = this.#messages[0]!;
      const length = this.#messages[1]! * 65536 + this.#messages[2]! * 256 + this.#messages[3]!;
      if (this.#messages.length < 4 + length) return;
      const body = this.#messages.slice(4, 4 + length);
      this.#messages = this.#messages.slice(4 + length);
      try {
        this.onMessage(type, body);
      } catch {
        this.done = true; // malformed: stop watching, TLS itself will object
      }
    }
  }
}

/**
 * Collects what a TLS server connection's clear-text handshake shows: the
 * ClientHello's resumption offers and the TLS 1.2 tickets the server issued.
 */
export class HandshakeObserver {
  /** The ClientHello, once seen. */
  clientHello: ClientHelloInfo | undefined;
  /** True once the ServerHello picked TLS 1.3 (its tickets are encrypted, so not seen). */
  tls13 = false;
  /** The TLS 1.2 tickets (hex) the server issued on this connection. */
  readonly issuedTickets: string[] = [];
  readonly #fromClient = new _Direction((type, body) => {
    if (type === HANDSHAKE_CLIENT_HELLO && !this.clientHello) {
      this.clientHello = parseClientHello(body);
    }
  });
  readonly #fromServer = new _Direction((type, body) => {
    if (type === HANDSHAKE_SERVER_HELLO) {
      this.tls13 = serverHelloIsTls13(body);
      if (this.tls13) this.#fromServer.done = true;
    } else if (type === HANDSHAKE_NEW_SESSION_TICKET) {
      const reader = new _Reader(body);
      reader.uint(4); // lifetime hint
      const ticket = reader.vector(2);
      if (ticket.length > 0) this.issuedTickets.push(hex(ticket));
    }
  });

  /** Feeds bytes the client sent. */
  fromClient(chunk: Uint8Array): void {
    this.#fromClient.push(chunk);
  }

  /** Feeds bytes the server sent. */
  fromServer(chunk: Uint8Array): void {
    this.#fromServer.push(chunk);
  }

  /** True while either direction may still show handshake messages. */
  get watching(): boolean {
    return !this.#fromClient.done || !this.#fromServer.done;
  }
}

/**
 * A Duplex that passes a TCP socket's bytes through unchanged while
 * showing the handshake to a {@linkcode HandshakeObserver}; the TLS socket
 * is built on it instead of on the TCP socket.
 */
export class TappedSocket extends Duplex {
  /** What the handshake showed. */
  readonly observer: HandshakeObserver = new HandshakeObserver();
  readonly #socket: Socket;
  #inputEnded = false;
  #broken: Error | undefined;
  #resetTimer: ReturnType<typeof setTimeout> | undefined;
  #held = false;
  #written = 0;

  /** Takes over `socket`'s data events; `pending` is bytes already read from it. */
  constructor(socket: Socket, pending?: Uint8Array) {
    super({ allowHalfOpen: true });
    this.#socket = socket;
    if (pending && pending.length > 0) this.#incoming(pending);
    socket.on("data", (chunk: Uint8Array) => this.#incoming(chunk));
    // However the TCP stream ends (FIN, reset, close), the bytes already read are kept and
    // handed to TLS before the end. After a reset the end waits a moment, so that TLS can
    // finish with those bytes first: a close_notify among them ends the TLS stream cleanly
    // before `broken` is set; otherwise the reader sees `broken` and the upload is not
    // complete.
    socket.on("end", () => this.#endOfInput());
    socket.on("error", (error: Error) => this.#resetOfInput(error));
    socket.on("close", (hadError: boolean) => {
      if (hadError) this.#resetOfInput(new Error("Connection reset"));
      else this.#endOfInput();
    });
  }

  /**
   * The error that ended the TCP stream (a reset), set as its end is handed
   * to TLS; undefined while open or after a clean end (FIN).
   */
  get broken(): Error | undefined {
    return this.#broken;
  }

  #resetOfInput(error: Error): void {
    if (this.#inputEnded || this.#resetTimer !== undefined) return;
    this.#resetTimer = setTimeout(() => {
      this.#broken = error;
      this.#endOfInput();
    }, RESET_SETTLE_MS);
  }

  #endOfInput(): void {
    if (this.#inputEnded) return;
    this.#inputEnded = true;
    this.push(null);
  }

  #incoming(chunk: Uint8Array): void {
    if (this.observer.watching) this.observer.fromClient(chunk);
    if (!this.push(chunk)) this.#socket.pause();
  }

  override _read(): void {
    if (!this.#held) this.#socket.resume();
  }

  /** Stops reading from the TCP socket (the reader of the decrypted data is behind). */
  hold(): void {
    this.#held = true;
    this.#socket.pause();
  }

  /**
   * Resolves once TLS has stopped producing output for a moment and the TCP
   * socket has taken all of it: the records for data written before this
   * call are on their way (Deno's TLS layer hands them over asynchronously).
   */
  async flushed(): Promise<void> {
    for (let quiet = 0, spins = 0; quiet < 2 && spins < 200; spins++) {
      const before = this.#written;
      await new Promise((resolve) => setTimeout(resolve, 0));
      const idle = this.#written === before && this.writableLength === 0 &&
        this.#socket.writableLength === 0;
      quiet = idle ? quiet + 1 : 0;
      if (this.#socket.destroyed) return;
    }
  }

  /** Reads from the TCP socket again after {@linkcode TappedSocket.hold}. */
  release(): void {
    this.#held = false;
    if (this.readableLength < this.readableHighWaterMark) this.#socket.resume();
  }

  override _write(
    chunk: Uint8Array,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    if (this.observer.watching) this.observer.fromServer(chunk);
    this.#written += chunk.length;
    const socket = this.#socket;
    if (socket.destroyed) return callback(new Error("Socket closed"));
    // Hand each record to the TCP socket at once: nothing may wait in this Duplex's
    // queue, which Deno's TLS layer drops when it tears the stream down after end().
    if (socket.write(chunk)) return callback();
    const onDrain = () => {
      socket.off("close", onClose);
      callback();
    };
    const onClose = () => {
      socket.off("drain", onDrain);
      callback(new Error("Socket closed"));
    };
    socket.once("drain", onDrain);
    socket.once("close", onClose);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#socket.destroyed || this.#socket.writableEnded) return callback();
    this.#socket.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const socket = this.#socket;
    if (error || socket.destroyed) {
      socket.destroy();
    } else {
      // A clean teardown: what was written still reaches the peer (flush, then FIN).
      const timer = setTimeout(() => socket.destroy(), CLOSE_FLUSH_MS);
      socket.once("close", () => clearTimeout(timer));
      socket.end();
    }
    callback(error);
  }
}
