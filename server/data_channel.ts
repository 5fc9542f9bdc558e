/**
 * Data connections, passive (PASV/EPSV: the server listens) and active
 * (PORT/EPRT: the server connects), behind one interface. Clear data moves
 * over `Deno.Conn`, the fastest socket API Deno has.
 *
 * @module
 */

import { comparableAddress } from "../protocol/address.ts";
import { ReplyCode } from "../protocol/reply.ts";
import type { DataStream } from "../transport/data_stream.ts";
import { FtpError } from "./ftp_error.ts";

/** A data connection being set up, passive or active. */
export interface DataChannel {
  /** True once the connection exists (a passive client already connected). */
  readonly connected: boolean;
  /** Resolves with the open connection; rejects with a 425 (or 522) {@linkcode FtpError}. */
  open(): Promise<DataStream>;
  /** Closes the listener or connection; safe to call at any time. */
  close(): void;
}

/** The 425 error for a data connection that could not be made. */
export function cannotOpen(reason: string): FtpError {
  return new FtpError(ReplyCode.CannotOpenData, `Can't open data connection: ${reason}.`);
}

/** Options for {@linkcode PassiveChannel.listen}. */
export interface PassiveOptions {
  /** The local address to listen on (the control connection's local address). */
  hostname: string;
  /** The only address a data connection is accepted from (the control peer). */
  peerAddress: string;
  /** Ports to choose from, inclusive; any free port when absent. */
  portRange?: readonly [number, number];
  /** How long to wait for the client to connect, in milliseconds. */
  timeoutMs: number;
}

/**
 * Passive ports found in use (a connection of another program, often a
 * client's own ephemeral port, lingering in TIME_WAIT) and until when to try
 * others first: a failed listen costs several system calls and an error.
 */
const busyUntil = new Map<number, number>();
/** Passive ports this process listens on (until each listener is released): never tried. */
const held = new Set<number>();
/** How long a busy port is tried last (TIME_WAIT lasts 60 s on Linux). */
const BUSY_MS = 30_000;
const BUSY_MAX = 65_536;

function markBusy(port: number, now: number): void {
  if (busyUntil.size >= BUSY_MAX) busyUntil.clear();
  busyUntil.set(port, now + BUSY_MS);
}

/**
 * A passive data channel: listens on a port and accepts the first
 * connection from the control connection's peer. Connections from any other
 * address are dropped (no data-connection theft).
 */
export class PassiveChannel implements DataChannel {
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #accepted: Promise<Deno.Conn>;
  readonly #peer: string;
  /** The peer as the control socket gave it: the same string is the same address. */
  readonly #rawPeer: string;
  #conn: Deno.Conn | undefined;
  #closed = false;
  #listening = true;
  #connClosed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
    options: PassiveOptions,
  ) {
    this.#listener = listener;
    this.#rawPeer = options.peerAddress;
    this.#peer = comparableAddress(options.peerAddress);
    this.#accepted = this.#accept(options.timeoutMs);
    this.#accepted.catch(() => {}); // observed by open(); never unhandled
    this.released = this.#accepted.then(() => {}, () => {});
  }

  /**
   * Resolves once the listening socket is really gone. Deno frees a
   * listener's port only when its pending accept has settled, a little after
   * `close()`, so a new PASV on a narrow `--pasv-ports` range waits for this.
   */
  readonly released: Promise<void>;

  /** Starts listening; rejects with 425 if no port in the range is free. */
  static listen(options: PassiveOptions): PassiveChannel {
    const range = options.portRange;
    if (!range) {
      return new PassiveChannel(Deno.listen({ hostname: options.hostname, port: 0 }), options);
    }
    const [low, high] = range;
    const span = high - low + 1;
    const start = Math.floor(Math.random() * span);
    const now = performance.now();
    // First the ports not found busy lately, then (if all of those are taken) the others.
    for (const pass of [0, 1]) {
      for (let i = 0; i < span; i++) {
        const port = low + ((start + i) % span);
        if (held.has(port)) continue; // one of ours: listening, or not yet released
        const busy = (busyUntil.get(port) ?? 0) > now;
        if (busy !== (pass === 1)) continue;
        try {
          const listener = Deno.listen({ hostname: options.hostname, port });
          if (busy) busyUntil.delete(port);
          const channel = new PassiveChannel(listener, options);
          held.add(port);
          channel.released.then(() => held.delete(port));
          return channel;
        } catch (error) {
          if (!(error instanceof Deno.errors.AddrInUse)) throw error;
          markBusy(port, now);
        }
      }
    }
    throw cannotOpen("no free passive port");
  }

  /** The port the client must connect to. */
  get port(): number {
    return this.#listener.addr.port;
  }

  get connected(): boolean {
    return this.#conn !== undefined;
  }

  async #accept(timeoutMs: number): Promise<Deno.Conn> {
    this.#timer = setTimeout(() => this.#stopListening(), timeoutMs);
    try {
      while (true) {
        let conn: Deno.TcpConn;
        try {
          conn = await this.#listener.accept();
        } catch {
          throw cannotOpen(this.#closed ? "closed" : "timed out");
        }
        const from = conn.remoteAddr.hostname;
        if (from !== this.#rawPeer && comparableAddress(from) !== this.#peer) {
          conn.close(); // not the control connection's peer
          continue;
        }
        this.#conn = conn;
        return conn;
      }
    } finally {
      this.#stopListening();
    }
  }

  #stopListening(): void {
    if (!this.#listening) return; // a second close would only build and throw an error
    this.#listening = false;
    clearTimeout(this.#timer);
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
  }

  open(): Promise<Deno.Conn> {
    return this.#accepted;
  }

  close(): void {
    this.#closed = true;
    this.#stopListening();
    const conn = this.#conn;
    if (!conn || this.#connClosed) return;
    this.#connClosed = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

/** Options for {@linkcode ActiveChannel}. */
export interface ActiveOptions {
  /** The client's address and port from PORT/EPRT. */
  hostname: string;
  port: number;
  /** How long to wait for the connect, in milliseconds. */
  timeoutMs: number;
}

/** An active data channel: connects to the address the client gave with PORT or EPRT. */
export class ActiveChannel implements DataChannel {
  readonly #options: ActiveOptions;
  #conn: Deno.Conn | undefined;
  #closed = false;

  /** Records the target; nothing connects until {@linkcode ActiveChannel.open}. */
  constructor(options: ActiveOptions) {
    this.#options = options;
  }

  get connected(): boolean {
    return this.#conn !== undefined;
  }

  async open(): Promise<Deno.Conn> {
    if (this.#conn) return this.#conn;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#options.timeoutMs);
    try {
      const conn = await Deno.connect({
        hostname: this.#options.hostname,
        port: this.#options.port,
        signal: controller.signal,
      });
      if (this.#closed) {
        conn.close();
        throw cannotOpen("closed");
      }
      this.#conn = conn;
      return conn;
    } catch (error) {
      if (error instanceof FtpError) throw error;
      throw cannotOpen(controller.signal.aborted ? "timed out" : "connection refused");
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.#closed = true;
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
  }
}
