/**
 * The byte stream of a data connection, as the transfer loops of both the
 * server and the client see it: read into a buffer, write, close.
 * `Deno.Conn` (clear data, the fast path) fits it as it is;
 * {@linkcode TlsDataStream} adapts a `node:tls` socket (PROT P), server or
 * client side.
 *
 * @module
 */

import type { Duplex } from "node:stream";

/** A data connection: clear (`Deno.Conn`) or TLS ({@linkcode TlsDataStream}). */
export interface DataStream {
  /** Reads into `buffer`; resolves with the count, or null at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `data`; resolves with how many bytes were taken. */
  write(data: Uint8Array): Promise<number>;
  /** Closes the connection (for TLS: close_notify, then the socket). */
  close(): void;
  /**
   * Resolves once everything written has left for the peer (TLS: encrypted
   * and handed to the TCP socket). Clear connections write straight to the
   * kernel and need no flush.
   */
  flush?(): Promise<void>;
}

/** What a TLS data stream needs from the TCP layer under it (a `TappedSocket`). */
export interface TlsFlow {
  /** Stops reading from the TCP socket. */
  hold(): void;
  /** Reads from the TCP socket again. */
  release(): void;
  /** Resolves when the encrypted bytes TLS produced have all been handed to the TCP socket. */
  flushed(): Promise<void>;
  /**
   * Why the TCP stream under TLS ended abnormally (a reset): set when that
   * end is handed to TLS, after TLS has had the bytes read before it. A TLS
   * stream that ended before (close_notify) ended cleanly.
   */
  readonly broken?: Error | undefined;
}

/** How long a closing TLS data connection may take to say goodbye before it is destroyed. */
const CLOSE_GRACE_MS = 5_000;
/**
 * Pause the socket when this much received data waits to be read (it was
 * 4 MiB: 200 TLS uploads could queue 800 MiB of decrypted chunks).
 */
const HIGH_WATER = 512 * 1024;

/**
 * A TLS data connection behind the {@linkcode DataStream} interface. Reads
 * return null only after the peer's close_notify or a clean end of stream,
 * so an upload is never cut short; a stream ended by a reset under it, with
 * no close_notify before, throws the reset once every byte received before
 * it has been read. Writes wait for the socket to drain.
 *
 * @example
 * ```ts ignore
 * const { socket, flow } = startServerTls(tcpSocket, secureContext);
 * const stream = new TlsDataStream(socket, flow);
 * await stream.write(new TextEncoder().encode("hello"));
 * stream.close();
 * ```
 */
export class TlsDataStream implements DataStream {
  /** The TLS socket (`node:tls`, or the client's OpenSSL socket). */
  readonly socket: Duplex;
  readonly #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #brokenAtEnd: Error | undefined;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  #closing = false;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #flow: TlsFlow;
  #holding = false;

  /**
   * Wraps a TLS socket whose handshake is complete. `flow` pauses the TCP
   * socket underneath when the reader falls behind (pausing the TLS socket
   * itself stalls Deno's TLS layer for good).
   */
  constructor(socket: Duplex, flow: TlsFlow) {
    this.socket = socket;
    this.#flow = flow;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued > HIGH_WATER && !this.#holding) {
        this.#holding = true;
        flow.hold();
      }
      this.#notify();
    });
    socket.on("end", () => this.#end());
    socket.on("error", (error: Error) => {
      this.#error ??= error;
      this.#notify();
    });
    socket.on("close", () => {
      clearTimeout(this.#graceTimer);
      this.#end();
    });
  }

  /** The TLS stream ended: by close_notify or a clean end, or by a reset under it. */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#brokenAtEnd = this.#flow.broken;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      // A reset is not an end: what the peer sent after the bytes read may be lost (an upload
      // cut by a reset must not look complete).
      if (this.#ended) {
        if (this.#brokenAtEnd) throw this.#brokenAtEnd;
        return null;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    let n = 0;
    while (n < buffer.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0]!;
      const take = Math.min(chunk.length, buffer.length - n);
      buffer.set(chunk.subarray(0, take), n);
      n += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    this.#queued -= n;
    if (this.#holding && this.#queued <= HIGH_WATER / 2) {
      this.#holding = false;
      this.#flow.release();
    }
    return n;
  }

  write(data: Uint8Array): Promise<number> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.socket.destroyed || this.#closing) {
      return Promise.reject(new Error("TLS data connection closed"));
    }
    // Settles once the socket is done with the chunk (its write callback), so the caller
    // may reuse its buffer then without a copy of each chunk being made here.
    return new Promise((resolve, reject) => {
      const onClose = () => reject(this.#error ?? new Error("TLS data connection closed"));
      this.socket.once("close", onClose);
      this.socket.write(data, (error?: Error | null) => {
        this.socket.off("close", onClose);
        if (error) reject(this.#error ?? error);
        else resolve(data.length);
      });
    });
  }

  async flush(): Promise<void> {
    if (this.socket.destroyed) throw this.#error ?? new Error("TLS data connection closed");
    if (this.socket.writableNeedDrain) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          this.socket.off("close", onClose);
          resolve();
        };
        const onClose = () => {
          this.socket.off("drain", onDrain);
          reject(this.#error ?? new Error("TLS data connection closed"));
        };
        this.socket.once("drain", onDrain);
        this.socket.once("close", onClose);
      });
    }
    await this.#flow.flushed();
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    const failed = this.#error !== undefined;
    if (!this.#ended) {
      // Closed from this side: a read still waiting fails instead of seeing an end.
      this.#error ??= new Error("TLS data connection closed");
      this.#notify();
    }
    if (this.socket.destroyed) return;
    if (failed) {
      this.socket.destroy();
      return;
    }
    // A clean close: close_notify after everything written (a receiving peer such as
    // vsftpd counts an upload as complete only then), then the socket.
    this.socket.end();
    this.#graceTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
  }

  /** Drops the connection at once (an aborted transfer). */
  destroy(): void {
    this.#closing = true;
    clearTimeout(this.#graceTimer);
    this.socket.destroy();
  }
}
