/**
 * Passive data connections (PASV/EPSV: the server listens). A session keeps
 * its listening socket between transfers and arms it once per PASV/EPSV, so
 * a run of small transfers does not pay a socket, bind, listen and close for
 * each one (about a sixth of a small file's server time). A listener left
 * unused for {@linkcode IDLE_RELEASE_MS} is closed, and idle listeners give
 * up their ports at once when a narrow `--pasv-ports` range runs out.
 *
 * Only the control connection's peer may connect; while no transfer is armed
 * every connection is closed on arrival, so nothing can queue up for the
 * next transfer.
 *
 * @module
 */

import { comparableAddress } from "../../protocol/address.ts";
import { cannotOpen, type DataChannel } from "./data_channel.ts";
import { checkDataPeer, connReader, type ProxyPolicy } from "../proxy_protocol.ts";

/** Options for {@linkcode PassiveListener.open}. */
export interface PassiveOptions {
  /** The local address to listen on (the control connection's local address). */
  hostname: string;
  /** The only address a data connection is accepted from (the control peer). */
  peerAddress: string;
  /** Ports to choose from, inclusive; any free port when absent. */
  portRange?: readonly [number, number];
  /**
   * With `--proxy-protocol`: a connection from a trusted balancer must start with a
   * PROXY header naming `peerAddress`.
   */
  proxy?: ProxyPolicy;
  /** Told about each connection refused (not the peer, or no transfer armed). */
  onRefused?: (from: string, reason: string) => void;
}

/** How long a listener may sit unused before its port is given back. */
export const IDLE_RELEASE_MS = 2_000;

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

/** Listeners with no transfer armed, and when each became idle. */
const idle = new Map<PassiveListener, number>();
let sweeper: ReturnType<typeof setInterval> | undefined;

function startSweeper(): void {
  if (sweeper !== undefined) return;
  const interval = setInterval(() => {
    const now = performance.now();
    for (const [listener, since] of idle) {
      if (now - since >= IDLE_RELEASE_MS) listener.close();
    }
    if (idle.size === 0) {
      clearInterval(interval);
      sweeper = undefined;
    }
  }, IDLE_RELEASE_MS / 2);
  Deno.unrefTimer(interval); // never keeps the process alive
  sweeper = interval;
}

/** Closes every idle listener and waits until their ports are free. */
async function releaseIdle(): Promise<boolean> {
  const listeners = [...idle.keys()];
  for (const listener of listeners) listener.close();
  await Promise.all(listeners.map((listener) => listener.released));
  return listeners.length > 0;
}

function bind(hostname: string, portRange: readonly [number, number] | undefined) {
  if (!portRange) return Deno.listen({ hostname, port: 0 });
  const [low, high] = portRange;
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
        const listener = Deno.listen({ hostname, port });
        if (busy) busyUntil.delete(port);
        return listener;
      } catch (error) {
        if (!(error instanceof Deno.errors.AddrInUse)) throw error;
        markBusy(port, now);
      }
    }
  }
  return undefined;
}

/** The transfer a listener is armed for: where its connection goes. */
interface Armed {
  channel: PassiveChannel;
  resolve(conn: Deno.Conn): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A session's passive listening socket, armed for one data connection at a
 * time by {@linkcode PassiveListener.arm}.
 */
export class PassiveListener {
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #hostname: string;
  readonly #rawPeer: string;
  /** The peer as the control socket gave it: the same string is the same address. */
  readonly #peer: string;
  readonly #proxy: ProxyPolicy | undefined;
  readonly #onRefused: ((from: string, reason: string) => void) | undefined;
  #armed: Armed | undefined;
  #closed = false;

  /**
   * Resolves once the listening socket is really gone. Deno frees a
   * listener's port only when its pending accept has settled, a little after
   * `close()`, so a new listener on a narrow `--pasv-ports` range waits for this.
   */
  readonly released: Promise<void>;

  private constructor(
    listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
    options: PassiveOptions,
  ) {
    this.#listener = listener;
    this.#hostname = options.hostname;
    this.#rawPeer = options.peerAddress;
    this.#peer = comparableAddress(options.peerAddress);
    this.#proxy = options.proxy;
    this.#onRefused = options.onRefused;
    const port = listener.addr.port;
    held.add(port);
    this.released = this.#acceptLoop().finally(() => held.delete(port));
  }

  /**
   * Starts listening on a free port (from `portRange` if given); rejects with
   * 425 if the range has none, even after idle listeners gave theirs back.
   */
  static async open(options: PassiveOptions): Promise<PassiveListener> {
    let listener = bind(options.hostname, options.portRange);
    if (!listener && await releaseIdle()) listener = bind(options.hostname, options.portRange);
    if (!listener) throw cannotOpen("no free passive port");
    return new PassiveListener(listener, options);
  }

  /** The port the client must connect to. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** True if this listener can serve another transfer on `hostname`. */
  usableFor(hostname: string): boolean {
    return !this.#closed && this.#armed === undefined && this.#hostname === hostname;
  }

  /**
   * Arms the listener for one data connection: the channel's `open()`
   * resolves with the peer's next connection, or rejects with 425 after
   * `timeoutMs` (and the listener closes: a client that never came may yet).
   */
  arm(timeoutMs: number): PassiveChannel {
    if (!this.usableFor(this.#hostname)) throw cannotOpen("closed");
    idle.delete(this);
    const { promise, resolve, reject } = Promise.withResolvers<Deno.Conn>();
    const channel = new PassiveChannel(this, this.port, promise);
    const timer = setTimeout(() => {
      this.#disarm(cannotOpen("timed out"));
      this.close();
    }, timeoutMs);
    this.#armed = { channel, resolve, reject, timer };
    return channel;
  }

  /** Ends `channel`'s wait, if it is still the one armed. */
  cancel(channel: PassiveChannel): void {
    if (this.#armed?.channel === channel) this.#disarm(cannotOpen("closed"));
  }

  /** Stops listening; an armed transfer gets 425. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    idle.delete(this);
    this.#disarm(cannotOpen("closed"));
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
  }

  #disarm(error?: Error): void {
    const armed = this.#armed;
    if (!armed) return;
    this.#armed = undefined;
    clearTimeout(armed.timer);
    if (error) armed.reject(error);
    if (!this.#closed) {
      idle.set(this, performance.now());
      startSweeper();
    }
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        this.close();
        return;
      }
      const from = conn.remoteAddr.hostname;
      const armed = this.#armed;
      if (armed && this.#proxy?.expectsHeader(from)) {
        this.#acceptProxied(conn, from, armed, this.#proxy);
        continue;
      }
      if (!armed || (from !== this.#rawPeer && comparableAddress(from) !== this.#peer)) {
        conn.close(); // not the control connection's peer, or no transfer is waiting
        this.#onRefused?.(from, armed ? "not the session's client" : "no transfer waiting");
        continue;
      }
      this.#disarm();
      armed.resolve(conn);
    }
  }

  /** A balancer's data connection: its PROXY header must name the session's client. */
  async #acceptProxied(
    conn: Deno.TcpConn,
    from: string,
    armed: Armed,
    proxy: ProxyPolicy,
  ): Promise<void> {
    const refusal = await checkDataPeer(from, this.#rawPeer, proxy, () => connReader(conn));
    if (refusal !== undefined || this.#armed !== armed) {
      conn.close();
      this.#onRefused?.(from, refusal ?? "no transfer waiting");
      return;
    }
    this.#disarm();
    armed.resolve(conn);
  }
}

/** One transfer's passive data connection, from {@linkcode PassiveListener.arm}. */
export class PassiveChannel implements DataChannel {
  readonly #listener: PassiveListener;
  readonly #accepted: Promise<Deno.Conn>;
  #conn: Deno.Conn | undefined;
  #closed = false;

  /** The port the client must connect to. */
  readonly port: number;

  /** Use {@linkcode PassiveListener.arm}. */
  constructor(listener: PassiveListener, port: number, accepted: Promise<Deno.Conn>) {
    this.#listener = listener;
    this.port = port;
    this.#accepted = accepted.then((conn) => {
      if (this.#closed) {
        conn.close();
        throw cannotOpen("closed");
      }
      this.#conn = conn;
      return conn;
    });
    this.#accepted.catch(() => {}); // observed by open(); never unhandled
  }

  get connected(): boolean {
    return this.#conn !== undefined;
  }

  open(): Promise<Deno.Conn> {
    return this.#accepted;
  }

  /** Closes the connection (or stops waiting for it); the listener stays for the next transfer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.cancel(this);
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
  }
}
