/**
 * The one pool of passive ports, owned by the server and used by clear and
 * TLS passive channels alike: which ports of `--pasv-ports` to try (from a
 * random start, ports found busy lately last, ports this server holds
 * never), and the idle passive listeners that give their ports back after
 * {@linkcode IDLE_RELEASE_MS}, or at once when the range runs out.
 *
 * @module
 */

/** How long a listener may sit unused before its port is given back. */
export const IDLE_RELEASE_MS = 2_000;

/** How long a busy port is tried last (TIME_WAIT lasts 60 s on Linux). */
const _BUSY_MS = 30_000;
const _BUSY_MAX = 65_536;

/** A listener the pool can take a port back from. */
export interface IdleListener {
  /** Stops listening. */
  close(): void;
  /** Resolves once the port is really free. */
  readonly released: Promise<void>;
}

/**
 * Tells whether a listen failed because the port is taken (Deno's
 * `AddrInUse` or Node's `EADDRINUSE`).
 *
 * @param error What the listen threw.
 * @returns True for a port in use.
 *
 * @example
 * ```ts
 * isAddressInUse(new Deno.errors.AddrInUse("x")); // true
 * ```
 */
export function isAddressInUse(error: unknown): boolean {
  return error instanceof Deno.errors.AddrInUse ||
    (error as { code?: unknown } | null)?.code === "EADDRINUSE";
}

/**
 * Passive ports for one server.
 *
 * @example
 * ```ts
 * const pool = new PassivePortPool([50000, 50099]);
 * const listener = pool.listenSync((port) => Deno.listen({ hostname: "127.0.0.1", port }));
 * listener?.close();
 * ```
 */
export class PassivePortPool {
  /** Ports to choose from, inclusive; any free port (port 0) when undefined. */
  range: readonly [number, number] | undefined;
  /**
   * Passive ports found in use (a connection of another program, often a
   * client's own ephemeral port, lingering in TIME_WAIT) and until when to
   * try others first: a failed listen costs several system calls and an error.
   */
  readonly #busyUntil = new Map<number, number>();
  /** Ports this server listens on (until each listener is released): never tried. */
  readonly #held = new Set<number>();
  /** Listeners with no transfer armed, and when each became idle. */
  readonly #idle = new Map<IdleListener, number>();
  #sweeper: ReturnType<typeof setInterval> | undefined;

  /** @param range The `--pasv-ports` range, if any. */
  constructor(range?: readonly [number, number]) {
    this.range = range;
  }

  /** The ports to try, in order; just 0 (any port) without a range. */
  *#candidates(): Generator<number> {
    if (!this.range) {
      yield 0;
      return;
    }
    const [low, high] = this.range;
    const span = high - low + 1;
    const start = Math.floor(Math.random() * span);
    const now = performance.now();
    // First the ports not found busy lately, then (if all of those are taken) the others.
    for (const pass of [0, 1]) {
      for (let i = 0; i < span; i++) {
        const port = low + ((start + i) % span);
        if (this.#held.has(port)) continue; // one of ours: listening, or not yet released
        const busy = (this.#busyUntil.get(port) ?? 0) > now;
        if (busy === (pass === 1)) yield port;
      }
    }
  }

  #failed(port: number, error: unknown): void {
    if (port === 0 || !isAddressInUse(error)) throw error;
    if (this.#busyUntil.size >= _BUSY_MAX) this.#busyUntil.clear();
    this.#busyUntil.set(port, performance.now() + _BUSY_MS);
  }

  /**
   * Listens with a synchronous `open` on the first port that is free.
   *
   * @param open Listens on a port (0 = any); throws if the port is in use.
   * @returns The listener, or undefined if every port of the range is taken.
   */
  listenSync<T>(open: (port: number) => T): T | undefined {
    for (const port of this.#candidates()) {
      try {
        const listener = open(port);
        this.#busyUntil.delete(port);
        return listener;
      } catch (error) {
        this.#failed(port, error);
      }
    }
    return undefined;
  }

  /**
   * Listens with an asynchronous `open` on the first port that is free.
   *
   * @param open Listens on a port (0 = any); rejects if the port is in use.
   * @returns The listener, or undefined if every port of the range is taken.
   */
  async listen<T>(open: (port: number) => Promise<T>): Promise<T | undefined> {
    for (const port of this.#candidates()) {
      try {
        const listener = await open(port);
        this.#busyUntil.delete(port);
        return listener;
      } catch (error) {
        this.#failed(port, error);
      }
    }
    return undefined;
  }

  /** Marks a port as held by this server until `released` settles. */
  hold(port: number, released: Promise<unknown>): void {
    this.#held.add(port);
    released.finally(() => this.#held.delete(port));
  }

  /** Records that a listener has no transfer armed from now on. */
  markIdle(listener: IdleListener): void {
    this.#idle.set(listener, performance.now());
    if (this.#sweeper !== undefined) return;
    this.#sweeper = setInterval(() => {
      const now = performance.now();
      for (const [idle, since] of this.#idle) {
        if (now - since >= IDLE_RELEASE_MS) idle.close();
      }
      if (this.#idle.size === 0) {
        clearInterval(this.#sweeper);
        this.#sweeper = undefined;
      }
    }, IDLE_RELEASE_MS / 2);
    Deno.unrefTimer(this.#sweeper); // never keeps the process alive
  }

  /** Records that a listener is in use again, or closed. */
  markBusy(listener: IdleListener): void {
    this.#idle.delete(listener);
  }

  /**
   * Closes every idle listener and waits until their ports are free.
   *
   * @returns True if any was closed (a new listen may now succeed).
   */
  async releaseIdle(): Promise<boolean> {
    const listeners = [...this.#idle.keys()];
    for (const listener of listeners) listener.close();
    await Promise.all(listeners.map((listener) => listener.released));
    return listeners.length > 0;
  }
}
