/**
 * A PROT P data connection on OpenSSL, client or server: TLS straight on the
 * `Deno.Conn`, behind the {@linkcode DataStream} interface the transfer loops
 * use, with no stream layers between (clear data's fast path, plus the
 * cipher).
 *
 * No allocation per record or per chunk: encrypted bytes are read into the
 * caller's own buffer and decrypted there in place, and what OpenSSL encrypts
 * leaves through one output buffer per connection (a record's size, grown to
 * a piece's for a connection that writes pieces), reused once the socket has
 * taken it. OpenSSL encrypts a record at a time and each record moves on to
 * the output buffer at once, so the write BIO never holds more than one.
 *
 * @module
 */

import type { DataStream } from "../data_stream.ts";
import { CLOSED, NEED_MORE, type TlsEngine } from "./tls_engine.ts";

/** The most clear bytes encrypted at a time (four full TLS records). */
export const PIECE_BYTES = 64 * 1024;
/** Encrypted bytes handed to OpenSSL at a time while decrypting in place. */
const FEED_BYTES = 16 * 1024;
/** The clear bytes of one full TLS record: encrypted one at a time. */
const RECORD_BYTES = 16 * 1024;
/** Room for one TLS record and its overhead: the output buffer's first size. */
const RECORD_ROOM = RECORD_BYTES + 1024;
/** The output buffer's largest size: one piece and the overhead of its records. */
const OUT_ROOM = PIECE_BYTES + 4 * 1024;
/** How long close_notify may take to leave before the connection is dropped. */
const CLOSE_GRACE_MS = 5_000;
/** Where bytes read after close go (never looked at, so it may be shared). */
const DISCARD = new Uint8Array(16 * 1024);

/**
 * The connection closed or was reset during the handshake (as opposed to a
 * TLS error or a timeout).
 */
export class HandshakeInterruptedError extends Error {
  override readonly name = "HandshakeInterruptedError";
  /** True when this side had sent nothing yet: the peer left before any answer. */
  readonly beforeAnswer: boolean;

  /** Creates the error; `cause` is the socket's, if it failed. */
  constructor(message: string, beforeAnswer: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.beforeAnswer = beforeAnswer;
  }
}

/**
 * TLS on a data connection, run by OpenSSL.
 *
 * @example
 * ```ts ignore
 * const engine = clientEngine(lib, host, settings, control.engine);
 * const stream = await OpenSslDataStream.start(conn, engine, 30_000);
 * await stream.write(bytes);
 * stream.close();
 * ```
 */
export class OpenSslDataStream implements DataStream {
  readonly #conn: Deno.Conn;
  readonly #engine: TlsEngine;
  #out = new Uint8Array(RECORD_ROOM);
  /** True while a send uses the output buffer; the next ones wait in {@linkcode #outWaiters}. */
  #outHeld = false;
  readonly #outWaiters: (() => void)[] = [];
  #ended = false;
  #closed = false;
  #dropped = false;
  /** True once any encrypted byte went out. */
  #answered = false;
  /** Socket operations in flight (a close while any runs is an abort). */
  #busy = 0;

  private constructor(conn: Deno.Conn, engine: TlsEngine) {
    this.#conn = conn;
    this.#engine = engine;
  }

  /**
   * Runs `engine`'s handshake (client or server) on `conn`; the stream owns
   * both from then on.
   *
   * @throws {Error} If the handshake fails or times out (`conn` is closed, `engine` freed).
   */
  static async start(
    conn: Deno.Conn,
    engine: TlsEngine,
    timeoutMs: number,
  ): Promise<OpenSslDataStream> {
    const stream = new OpenSslDataStream(conn, engine);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stream.#drop();
    }, timeoutMs);
    try {
      while (!engine.handshake()) {
        await stream.#sendOutput();
        // The output buffer is idle between flights: the peer's flight is read into it.
        stream.#busy++;
        let n: number | null;
        try {
          n = await stream.#conn.read(stream.#out);
        } catch (error) {
          if (stream.#dropped) throw error;
          throw new HandshakeInterruptedError(
            `the connection failed during the handshake: ${(error as Error).message}`,
            !stream.#answered,
            error,
          );
        } finally {
          stream.#busy--;
        }
        if (n === null) {
          throw new HandshakeInterruptedError(
            "the connection closed during the handshake",
            !stream.#answered,
          );
        }
        engine.feed(stream.#out.subarray(0, n));
      }
      await stream.#sendOutput();
      engine.releaseOutputMemory(); // the handshake's flights
      if (stream.#dropped) throw new Error("closed");
      return stream;
    } catch (error) {
      if (!stream.#dropped) await stream.#sendOutput().catch(() => {}); // an alert, if any
      stream.#drop();
      throw timedOut ? new Error("timed out") : error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The TLS state (protocol, whether the session was resumed). */
  get engine(): TlsEngine {
    return this.#engine;
  }

  /** True when the handshake resumed an earlier session. */
  get reused(): boolean {
    return this.#engine.reused;
  }

  /**
   * Takes the output buffer: undefined when it was free, else a promise of
   * the turn (sends take it in the order they asked).
   */
  #holdOut(): Promise<void> | undefined {
    if (!this.#outHeld) {
      this.#outHeld = true;
      return undefined;
    }
    return new Promise((resolve) => this.#outWaiters.push(resolve));
  }

  /** Hands the output buffer to the next send waiting, if any. */
  #releaseOut(): void {
    const next = this.#outWaiters.shift();
    if (next) next();
    else this.#outHeld = false;
  }

  /**
   * Sends what the engine has encrypted (handshake flights, alerts, a reply
   * to a key update) once the output buffer is free: resolves true if the
   * socket took a write only in part.
   */
  async #sendOutput(): Promise<boolean> {
    const turn = this.#holdOut();
    try {
      if (turn) await turn;
      return await this.#drainOutput();
    } finally {
      this.#releaseOut();
    }
  }

  /** Sends all the engine's output through the output buffer (held by the caller). */
  async #drainOutput(): Promise<boolean> {
    let partial = false;
    for (;;) {
      const n = this.#engine.takeOutputInto(this.#out);
      if (n === 0) return partial;
      if (await this.#sendOut(n)) partial = true;
    }
  }

  /**
   * Reads clear bytes into `buffer`: encrypted bytes are read into it and
   * decrypted in place. Null after the peer's close_notify or end of stream.
   */
  async read(buffer: Uint8Array): Promise<number | null> {
    if (this.#ended) return null;
    if (this.#closed) throw new Error("TLS data connection closed");
    this.#busy++;
    try {
      for (;;) {
        const ready = this.#engine.read(buffer); // records already here come first
        if (ready > 0) return ready;
        if (ready === CLOSED) break;
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        const clear = this.#decryptInPlace(buffer, n);
        if (this.#engine.pendingOutput > 0) await this.#sendOutput(); // a reply to a key update
        if (clear > 0) return clear;
        if (clear === CLOSED) break;
      }
    } finally {
      this.#busy--;
    }
    this.#ended = true;
    return null;
  }

  /**
   * Feeds the `n` encrypted bytes at the start of `buffer` to OpenSSL a part
   * at a time and decrypts into the same buffer. Clear bytes never overtake
   * the encrypted bytes fed so far (each record's clear text is shorter than
   * the record), and reads are held to what has been fed, so nothing unread
   * is overwritten.
   */
  #decryptInPlace(buffer: Uint8Array, n: number): number {
    let fed = 0;
    let filled = 0;
    while (fed < n) {
      const part = Math.min(FEED_BYTES, n - fed);
      this.#engine.feed(buffer.subarray(fed, fed + part));
      fed += part;
      const clear = this.#engine.read(buffer.subarray(filled, fed));
      if (clear === CLOSED) return filled > 0 ? filled : CLOSED;
      filled += clear;
    }
    const rest = this.#engine.read(buffer.subarray(filled));
    if (rest === CLOSED) return filled > 0 ? filled : CLOSED;
    return filled + (rest === NEED_MORE ? 0 : rest);
  }

  /**
   * Encrypts and sends `data`, a piece of at most {@linkcode PIECE_BYTES} at
   * a time. Resolves with the bytes taken: all of them, or fewer when the
   * socket took a piece only in part (the peer is slow), so the caller's
   * write loop sees the slow peer as it would on a clear connection.
   */
  async write(data: Uint8Array): Promise<number> {
    if (this.#closed) throw new Error("TLS data connection closed");
    let taken = 0;
    this.#busy++;
    const turn = this.#holdOut();
    try {
      if (turn) await turn;
      while (taken < data.length) {
        const piece = taken === 0 && data.length <= PIECE_BYTES
          ? data
          : data.subarray(taken, taken + PIECE_BYTES);
        taken += piece.length;
        const filled = this.#encryptPiece(piece);
        if (filled < this.#out.length) this.#engine.releaseOutputMemory();
        // The socket write inline (one async frame per piece, not two).
        this.#answered = true;
        let partial = false;
        for (let offset = 0; offset < filled;) {
          const written = await this.#conn.write(this.#out.subarray(offset, filled));
          if (written < filled - offset) partial = true;
          offset += written;
        }
        // Output the buffer had no room for (records larger than usual): sent after it.
        if (filled === this.#out.length && (await this.#drainOutput())) partial = true;
        if (partial) break;
      }
    } finally {
      this.#releaseOut();
      this.#busy--;
    }
    return taken;
  }

  /**
   * Encrypts `piece` one record at a time into the output buffer (the
   * caller holds it), moving each record out of the write BIO before the
   * next, so the BIO never holds more than one. Returns the bytes in the
   * buffer; a full buffer may leave more in the BIO.
   */
  #encryptPiece(piece: Uint8Array): number {
    if (piece.length + RECORD_ROOM - RECORD_BYTES > this.#out.length) {
      // Grown once, to a piece's size, by a connection that writes pieces that large.
      freeBuffer(this.#out);
      this.#out = new Uint8Array(OUT_ROOM);
    }
    const out = this.#out;
    let filled = 0;
    for (let offset = 0; offset < piece.length; offset += RECORD_BYTES) {
      this.#engine.write(
        piece.length <= RECORD_BYTES ? piece : piece.subarray(offset, offset + RECORD_BYTES),
      );
      if (filled < out.length) {
        filled += this.#engine.takeOutputInto(filled === 0 ? out : out.subarray(filled));
      }
    }
    return filled;
  }

  /**
   * Sends the first `n` bytes of the output buffer (held by the caller);
   * true if a write was taken only in part.
   */
  async #sendOut(n: number): Promise<boolean> {
    if (n === 0) return false;
    this.#answered = true;
    let partial = false;
    this.#busy++;
    try {
      for (let offset = 0; offset < n;) {
        const written = await this.#conn.write(this.#out.subarray(offset, n));
        if (written < n - offset) partial = true;
        offset += written;
      }
    } finally {
      this.#busy--;
    }
    return partial;
  }

  /** Writes leave for the kernel before `write` resolves: nothing is ever held back. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Sends close_notify (a receiving peer counts an upload complete only then)
   * and the end of the stream, reads until the peer closes too, then closes:
   * closing at once would turn unread bytes into a reset, which can cost the
   * peer the end of what it had not read yet. A close while a read or write
   * runs (an aborted transfer) drops the connection at once.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#busy > 0 || !this.#engine.established || this.#dropped) {
      this.#drop();
      return;
    }
    this.#engine.shutdown();
    const timer = setTimeout(() => this.#drop(), CLOSE_GRACE_MS);
    (async () => {
      await this.#sendOutput();
      this.#engine.free();
      await this.#conn.closeWrite();
      while ((await this.#conn.read(DISCARD)) !== null) {
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
    if (this.#dropped) return;
    this.#dropped = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    if (this.#busy === 0) freeBuffer(this.#out);
  }
}

/**
 * Gives a buffer's memory back at once (a dropped one would wait for a
 * garbage collection a quiet server may never run).
 */
function freeBuffer(buffer: Uint8Array): void {
  try {
    (buffer.buffer as ArrayBuffer).transfer(0);
  } catch {
    // detached already, or held by an operation: the collector frees it
  }
}
