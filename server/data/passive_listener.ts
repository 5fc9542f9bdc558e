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

import type { ControlPeer } from "./control_peer.ts";
import { cannotOpen, type DataChannel } from "./data_channel.ts";
import { checkDataPeer, connReader, type ProxyPolicy } from "../proxy_protocol.ts";
import { IDLE_RELEASE_MS, type PassivePortPool } from "./passive_port_pool.ts";

/** Options for {@linkcode PassiveListener.open}. */
export interface PassiveOptions {
  /** The local address to listen on (the control connection's local address). */
  hostname: string;
  /** The only peer a data connection is accepted from (the control connection's). */
  peer: ControlPeer;
  /** The server's passive ports. */
  pool: PassivePortPool;
  /**
   * With `--proxy-protocol`: a connection from a trusted balancer must start with a
   * PROXY header naming the peer.
   */
  proxy?: ProxyPolicy;
  /** Told about each connection refused (not the peer, or no transfer armed). */
  onRefused?: (from: string, reason: string) => void;
}

export { IDLE_RELEASE_MS };

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
  readonly #peer: ControlPeer;
  readonly #pool: PassivePortPool;
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
    this.#peer = options.peer;
    this.#pool = options.pool;
    this.#proxy = options.proxy;
    this.#onRefused = options.onRefused;
    this.released = this.#acceptLoop();
    this.#pool.hold(listener.addr.port, this.released);
  }

  /**
   * Starts listening on a free port (from `portRange` if given); rejects with
   * 425 if the range has none, even after idle listeners gave theirs back.
   */
  static async open(options: PassiveOptions): Promise<PassiveListener> {
    const { hostname, pool } = options;
    const bind = (port: number) => Deno.listen({ hostname, port });
    let listener = pool.listenSync(bind);
    if (!listener && await pool.releaseIdle()) listener = pool.listenSync(bind);
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
    this.#pool.markBusy(this);
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
    this.#pool.markBusy(this);
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
    if (!this.#closed) this.#pool.markIdle(this);
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        // A connection reset before it was accepted fails this accept alone (Deno cannot
        // read its peer's address): the wait for the real one goes on.
        if (error instanceof Deno.errors.NotConnected && !this.#closed) continue;
        this.close();
        return;
      }
      const from = conn.remoteAddr.hostname;
      const armed = this.#armed;
      if (armed && this.#proxy?.expectsHeader(from)) {
        this.#acceptProxied(conn, from, armed, this.#proxy);
        continue;
      }
      if (!armed || !this.#peer.matches(from)) {
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
    const peer = this.#peer;
    const refusal = await checkDataPeer(
      from,
      (address) => peer.matches(address),
      proxy,
      () => connReader(conn),
    );
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
