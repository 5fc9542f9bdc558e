/**
 * A `Duplex` over a `Deno.Conn`, the encrypted side of the client's TLS
 * sockets (`node:tls` or {@linkcode OpenSslSocket}) on the control
 * connection and on `node:tls` data connections.
 *
 * Deno's TLS layer has pitfalls the server side found first
 * (`transport/data_stream.ts`): pausing the TLS socket stalls it for good, so
 * flow control pauses the TCP side instead ({@linkcode ConnDuplex.hold});
 * encrypted records reach the TCP side asynchronously, so an upload waits
 * for `TlsDataStream.flush` before it ends; and a download
 * reads until the end of the stream, never just until the 226.
 *
 * @module
 */

import { Duplex } from "node:stream";
import type { TlsFlow } from "../../transport/data_stream.ts";

/** Bytes read from the TCP connection at a time. */
const READ_SIZE = 64 * 1024;
/** Encrypted bytes that may wait for the TCP connection before writers are held back. */
const WRITE_HIGH_WATER = 1024 * 1024;
/** How long a closing connection may take to send what it holds before it is dropped. */
const CLOSE_GRACE_MS = 5_000;

/**
 * A `Duplex` over a `Deno.Conn`, for `tls.connect({ socket })`: reads the
 * connection while the TLS layer wants more and {@linkcode ConnDuplex.hold}
 * is off; takes every encrypted record into its own queue at once (Deno's
 * TLS layer drops what waits in a stream's queue when it tears it down) and
 * writes the queue out in order, even after a clean destroy.
 *
 * @example
 * ```ts ignore
 * const duplex = new ConnDuplex(await Deno.connect({ hostname: "127.0.0.1", port }));
 * const socket = tls.connect({ socket: duplex, host: "127.0.0.1" });
 * ```
 */
export class ConnDuplex extends Duplex implements TlsFlow {
  readonly #conn: Deno.Conn;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  #written = 0;
  #held = false;
  #reading = false;
  #closed = false;
  #broken: Error | undefined;
  #writeError: Error | undefined;
  #waitingWrite: (() => void) | undefined;
  #drained: (() => void)[] = [];

  /** Wraps `conn`; the duplex owns it from now on. */
  constructor(conn: Deno.Conn) {
    super({ allowHalfOpen: true });
    this.#conn = conn;
  }

  override _read(): void {
    if (!this.#held) void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#reading || this.#closed) return;
    this.#reading = true;
    try {
      while (!this.#held && !this.destroyed) {
        const buffer = new Uint8Array(READ_SIZE);
        const n = await this.#conn.read(buffer);
        if (n === null) {
          this.push(null);
          return;
        }
        if (!this.push(buffer.subarray(0, n))) return;
      }
    } catch (error) {
      // Reset or closed: whatever was read stays readable, then the stream ends; a reset
      // (not our own close) is remembered, so that a cut-short download is not complete.
      if (!this.#closed && !this.destroyed) {
        this.#broken ??= error instanceof Error ? error : new Error(String(error));
      }
      if (!this.destroyed) this.push(null);
    } finally {
      this.#reading = false;
    }
  }

  /** The error that ended the TCP connection (a reset), or undefined. */
  get broken(): Error | undefined {
    return this.#broken;
  }

  /** Stops reading the TCP connection (the reader of decrypted data is behind). */
  hold(): void {
    this.#held = true;
  }

  /** Reads the TCP connection again after {@linkcode ConnDuplex.hold}. */
  release(): void {
    this.#held = false;
    if (this.readableLength < this.readableHighWaterMark) void this.#pump();
  }

  override _write(
    chunk: Uint8Array,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    if (this.#writeError) return callback(this.#writeError);
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    void this.#writeOut();
    if (this.#queued < WRITE_HIGH_WATER) return callback();
    this.#waitingWrite = () => callback(this.#writeError);
  }

  async #writeOut(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      for (let chunk = this.#queue[0]; chunk; chunk = this.#queue[0]) {
        let offset = 0;
        while (offset < chunk.length) offset += await this.#conn.write(chunk.subarray(offset));
        this.#queue.shift();
        this.#queued -= chunk.length;
        this.#written += chunk.length;
        if (this.#waitingWrite && this.#queued < WRITE_HIGH_WATER / 2) this.#wakeWriter();
      }
    } catch (error) {
      this.#writeError = error as Error;
      this.#queue.length = 0;
      this.#queued = 0;
    } finally {
      this.#writing = false;
      this.#wakeWriter();
      for (const resolve of this.#drained.splice(0)) resolve();
    }
  }

  #wakeWriter(): void {
    const wake = this.#waitingWrite;
    this.#waitingWrite = undefined;
    wake?.();
  }

  /** Resolves when the write queue is empty. */
  #empty(): Promise<void> {
    if (!this.#writing && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /**
   * Resolves once the TLS layer has stopped producing output for a moment
   * and every record it produced is written to the TCP connection.
   */
  async flushed(): Promise<void> {
    for (let quiet = 0, spins = 0; quiet < 2 && spins < 200; spins++) {
      const before = this.#written;
      await this.#empty();
      await new Promise((resolve) => setTimeout(resolve, 0));
      const idle = this.#written === before && this.#queue.length === 0 &&
        this.writableLength === 0;
      quiet = idle ? quiet + 1 : 0;
      if (this.#closed || this.#writeError) return;
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#empty().then(async () => {
      try {
        if (!this.#closed) await this.#conn.closeWrite();
      } catch {
        // already closed or reset
      }
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error) {
      this.#close();
    } else {
      // A clean teardown: what was written still reaches the peer first.
      const timer = setTimeout(() => this.#close(), CLOSE_GRACE_MS);
      this.#empty().then(() => {
        clearTimeout(timer);
        this.#close();
      });
    }
    callback(error);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}
