/**
 * The server: checks its permissions, loads users, listens on every address
 * and runs one {@linkcode Session} per control connection.
 *
 * @module
 */

import * as net from "node:net";
import * as path from "node:path";
import { Authenticator } from "./auth/authenticator.ts";
import type { UserStore } from "./auth/user_store.ts";
import type { ServerConfig } from "./config.ts";
import { LocalStorage } from "./storage/local_storage.ts";
import { Logger, type LogValue } from "./log.ts";
import { ServerEvents } from "./events.ts";
import { hookExecutables } from "./hooks/hook_config.ts";
import { HookRunner } from "./hooks/hook_runner.ts";
import type { HookStats } from "./hooks/hook_stats.ts";
import { ConnectionLimits, TOO_MANY_USERS } from "./limits.ts";
import { LoginThrottle } from "./auth/login_throttle.ts";
import { PassivePortPool } from "./data/passive_port_pool.ts";
import { MemoryReturn } from "./ops/memory_return.ts";
import { nativeMemory } from "../transport/native_memory.ts";
import { transferBufferPool } from "./data/transfer.ts";
import { CommandError, EXIT_FAILURE } from "../cli/command_error.ts";
import { comparableAddress } from "../protocol/address.ts";
import { formatReply, ReplyCode } from "../protocol/reply.ts";
import { type ServerContext, Session } from "./session.ts";
import type { Storage } from "./storage/storage.ts";
import {
  loadServerTls,
  type ServerTlsContext,
  tlsEngineFields,
  TlsSetupError,
} from "./tls/tls_context.ts";
import { serverLimits, UserLimits } from "./user_limits/user_limits.ts";
import type { UserSettings } from "./auth/user_settings.ts";
import { measureDirectory, QuotaLedger } from "./user_limits/quota_ledger.ts";
import type { ProxyEndpoint } from "../protocol/proxy_header.ts";
import {
  type ConnectionOrigin,
  originFrom,
  PasvAddressMap,
  ProxyPolicy,
  readProxyHeader,
  socketPeer,
  SocketReader,
} from "./proxy_protocol.ts";

/** Thrown when the server cannot start; the message says what to fix. */
export class StartupError extends CommandError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_FAILURE, options);
    this.name = "StartupError";
  }
}

/** One address the server listens on. */
export interface ListenAddress {
  host: string;
  port: number;
  /** True for an implicit FTPS listener (TLS from the first byte). */
  implicitTls?: boolean;
}

/** Options for {@linkcode FtpServer.close}. */
export interface CloseOptions {
  /**
   * How long running transfers may go on before they are aborted, in milliseconds.
   * @default {0}
   */
  graceMs?: number;
}

/** Options for {@linkcode FtpServer.start}. */
export interface StartOptions {
  /** Where log lines go. */
  logger?: Logger;
  /**
   * Where users are looked up; the server closes it when it closes.
   *
   * @default {undefined} (the credentials file of the config)
   */
  userStore?: UserStore;
  /**
   * Opens the storage for a user's home (a virtual path under the served
   * root); tests pass an in-memory one.
   *
   * @default {undefined} (the jailed disk under the config's root)
   */
  openStorage?: (home: string) => Promise<Storage>;
  /** The observers of the server's events (see {@linkcode FtpServer.events}); a new set when absent. */
  events?: ServerEvents;
  /**
   * Per-user limits, for a shared ledger or session counter (several
   * instances); made from the config, with a local ledger, when absent.
   */
  limits?: UserLimits;
}

/**
 * What a reload (SIGHUP) may replace while sessions run: the settings, the
 * users and the TLS certificate. Sessions read them from the shared context
 * at each command and login; a control connection keeps the TLS context it
 * shook hands with, for its data connections.
 */
export interface LiveState {
  readonly config: ServerConfig;
  readonly authenticator: Authenticator;
  readonly secureContext?: ServerTlsContext;
}

/**
 * Loads the users (from the credentials file, or from `userStore` when the
 * server was given one) and the TLS certificate and key a configuration names.
 *
 * @throws {StartupError} saying which file is wrong and why.
 */
export async function loadLiveState(
  config: ServerConfig,
  userStore?: UserStore,
): Promise<LiveState> {
  let authenticator: Authenticator;
  const anonymous = config.anonymous ? { anonymous: { home: "/" } } : {};
  try {
    authenticator = userStore
      ? new Authenticator(userStore, anonymous)
      : await Authenticator.fromFile(config.credentials, anonymous);
  } catch (error) {
    throw new StartupError(
      `Cannot load credentials: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new StartupError("--tls-cert and --tls-key go together");
  }
  if (
    config.tlsCert === undefined && (config.implicitTlsPort !== undefined || config.requireTls)
  ) {
    throw new StartupError(
      "--implicit-tls-port and --require-tls need --tls-cert and --tls-key",
    );
  }
  if (config.tlsCert === undefined || config.tlsKey === undefined) {
    return { config, authenticator };
  }
  try {
    const secureContext = await loadServerTls(config.tlsCert, config.tlsKey, {
      maxVersion: config.tlsMaxVersion,
      engine: config.tlsEngine,
    });
    return { config, authenticator, secureContext };
  } catch (error) {
    if (error instanceof TlsSetupError) throw new StartupError(error.message, { cause: error });
    throw error;
  }
}

async function missingPermissions(config: ServerConfig): Promise<string[]> {
  const checks: [Deno.PermissionDescriptor, string][] = [
    [{ name: "read", path: config.root }, `--allow-read=${config.root}`],
    [{ name: "write", path: config.root }, `--allow-write=${config.root}`],
    [{ name: "read", path: config.credentials }, `--allow-read=${config.credentials}`],
    ...[config.tlsCert, config.tlsKey].filter((file) => file !== undefined).map((
      file,
    ): [Deno.PermissionDescriptor, string] => [
      { name: "read", path: file },
      `--allow-read=${file}`,
    ]),
    ...hookExecutables(config.hooks).map((command): [Deno.PermissionDescriptor, string] => [
      { name: "run", command },
      `--allow-run=${command}`,
    ]),
    ...[config.xferlog, config.logFile].filter((file) => file !== undefined).map((
      file,
    ): [Deno.PermissionDescriptor, string] => [
      { name: "write", path: file },
      `--allow-write=${file}`,
    ]),
    ...config.hosts.map((host): [Deno.PermissionDescriptor, string] => [
      { name: "net", host },
      `--allow-net=${host}`,
    ]),
  ];
  const missing: string[] = [];
  for (const [descriptor, flag] of checks) {
    const status = await Deno.permissions.query(descriptor);
    if (status.state !== "granted") missing.push(flag);
  }
  return missing;
}

function formatAddress({ host, port, implicitTls }: ListenAddress): string {
  return `${implicitTls ? "ftps" : "ftp"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * A running FTP server.
 *
 * @example
 * ```ts ignore
 * const server = await FtpServer.start({ ...DEFAULT_CONFIG, port: 0 });
 * console.log(server.addresses);
 * await server.close();
 * ```
 */
export class FtpServer {
  /** Where the server listens. */
  readonly addresses: ListenAddress[];
  /** The served root's real path. */
  readonly root: string;
  readonly #listeners: net.Server[];
  readonly #sessions = new Set<Session>();
  /** Connections whose PROXY header is being read. */
  readonly #pending = new Set<net.Socket>();
  readonly #running = new Set<Promise<void>>();
  readonly #logger: Logger;
  /** The server's events, as logged: register metrics, transfer logs and hooks here. */
  readonly events: ServerEvents;
  #hooks: HookRunner | undefined;
  #limits: ConnectionLimits = new ConnectionLimits({ maxSessions: 0, maxSessionsPerIp: 0 });
  /** The context every session shares; a reload replaces its live state. */
  #context: ServerContext | undefined;
  #closing: Promise<void> | undefined;
  /** Sessions started so far: each session's number in the log. */
  #sessionCount = 0;
  #users: UserStore | undefined;
  /** True when the user store was given to {@linkcode FtpServer.start} (a reload keeps it). */
  #ownStore = false;
  #cutGrace: (() => void) | undefined;
  /** Gives glibc's free heap back to the system after bursts; undefined where it cannot. */
  #memoryReturn: MemoryReturn | undefined;

  private constructor(
    listeners: net.Server[],
    addresses: ListenAddress[],
    root: string,
    logger: Logger,
    events: ServerEvents,
  ) {
    this.#listeners = listeners;
    this.addresses = addresses;
    this.root = root;
    this.#logger = logger;
    this.events = events;
  }

  /** Logs a server event and hands it to the event observers. */
  #event(name: string, fields: Record<string, LogValue>): void {
    this.#logger.info(name, fields);
    this.events.emit(name, fields);
  }

  /**
   * The hooks' counters (runs by event and result, dropped, queued, running)
   * for metrics; undefined when no hook is configured.
   */
  get hookStats(): HookStats | undefined {
    return this.#hooks?.stats;
  }

  /** Logs a server-wide event (such as `reload`) and hands it to the event observers. */
  logEvent(name: string, fields: Record<string, LogValue>): void {
    this.#event(name, fields);
  }

  /** The settings in force (a reload may have replaced the ones it started with). */
  get config(): ServerConfig {
    return this.#context!.config;
  }

  /** False once {@linkcode FtpServer.close} has begun: new sessions are refused. */
  get accepting(): boolean {
    return this.#closing === undefined;
  }

  /**
   * Puts new settings, users and TLS certificate in force, all at once:
   * new logins, new TLS handshakes and the next command of every session
   * use them; running transfers go on as they are. Settings that need a
   * restart (addresses, ports, paths) must be the old ones: the caller
   * keeps them (see `ops/reload.ts`).
   */
  replaceLiveState(state: LiveState): void {
    const context = this.#context!;
    context.config = state.config;
    context.authenticator = state.authenticator;
    context.secureContext = state.secureContext;
    this.#limits.configure(state.config);
    context.limits.reconfigure(serverLimits(state.config));
    context.limits.ledger.forget(); // counted again at the next need (after a quota-scan, say)
    this.#refreshAccounts(state.authenticator.store).catch(() => {});
    const previous = this.#users;
    this.#users = state.authenticator.store;
    if (previous !== undefined && previous !== this.#users) previous.close().catch(() => {});
  }

  /**
   * Gives every logged-in session its user's settings as they are now (a
   * reload): quotas from the next upload, rates from the running transfers'
   * next chunk (their shared buckets change rate in place).
   */
  async #refreshAccounts(store: UserStore): Promise<void> {
    const limits = this.#context!.limits;
    const fresh = new Map<string, UserSettings | undefined>();
    for (const session of this.#sessions) {
      const account = session.account;
      if (!account) continue;
      if (!fresh.has(account.name)) {
        const record = await store.lookup(account.name).catch(() => undefined);
        fresh.set(account.name, record ? limits.settingsFor(record) : undefined);
      }
      const settings = fresh.get(account.name);
      if (!settings || session.account !== account) continue;
      session.account = { ...account, settings };
      limits.ledger.limit(account.home, settings);
    }
    for (const [name, settings] of fresh) if (settings) limits.retune(name, settings);
  }

  /**
   * Loads the live state for `config` the way this server loads it: the
   * users file again, or the user store it was started with (a database
   * store is live by itself), and the TLS files.
   *
   * @throws {StartupError} saying which file is wrong and why.
   */
  loadLiveState(config: ServerConfig): Promise<LiveState> {
    return loadLiveState(config, this.#ownStore ? this.#users : undefined);
  }

  /** The number of open control connections. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Checks permissions, loads the users and starts listening on every configured host. */
  static async start(config: ServerConfig, options: StartOptions = {}): Promise<FtpServer> {
    const logger = options.logger ?? new Logger();
    const missing = await missingPermissions(config);
    if (missing.length > 0) {
      throw new StartupError(
        `Missing Deno permissions: ${missing.join(" ")} (the server needs them to serve ${
          path.resolve(config.root)
        })`,
      );
    }
    const { authenticator, secureContext } = await loadLiveState(config, options.userStore);
    if (secureContext) logger.info("tls-engine", tlsEngineFields(secureContext, config.tlsEngine));
    let root: string;
    try {
      await Deno.mkdir(config.root, { recursive: true });
      root = await Deno.realPath(config.root);
    } catch (error) {
      throw new StartupError(
        `Cannot use root directory ${config.root}: ${(error as Error).message}`,
      );
    }
    if (config.proxyProtocol !== undefined && config.proxyTrusted.length === 0) {
      throw new StartupError("--proxy-protocol needs at least one --proxy-trusted NETWORK");
    }
    let proxy: ProxyPolicy | undefined;
    let pasvAddresses: PasvAddressMap | undefined;
    try {
      if (config.proxyProtocol !== undefined) proxy = ProxyPolicy.fromConfig(config);
      if (config.pasvAddressFor.length > 0) {
        pasvAddresses = new PasvAddressMap(config.pasvAddressFor);
      }
    } catch (error) {
      throw new StartupError((error as Error).message, { cause: error });
    }
    const events = options.events ?? new ServerEvents();
    const server = new FtpServer([], [], root, logger, events);
    const hooks = config.hooks.length > 0
      ? new HookRunner({
        hooks: config.hooks,
        maxConcurrent: config.maxConcurrentHooks,
        queueSize: config.hookQueueSize,
        timeoutMs: config.hookTimeoutMs,
      }, { root, logger })
      : undefined;
    if (hooks) {
      events.on(hooks.listener);
      server.#hooks = hooks;
    }
    const context: ServerContext = {
      config,
      authenticator,
      log: logger,
      events,
      ...(hooks ? { hooks } : {}),
      openStorage: options.openStorage ??
        ((home: string): Promise<Storage> => LocalStorage.open(path.join(root, home))),
      loginThrottle: new LoginThrottle(),
      passivePorts: new PassivePortPool(config.pasvPorts),
      limits: options.limits ?? new UserLimits(serverLimits(config), {
        ledger: new QuotaLedger((home) => measureDirectory(path.join(root, home))),
      }),
      ...(secureContext ? { secureContext } : {}),
      ...(proxy ? { proxy } : {}),
      ...(pasvAddresses ? { pasvAddresses } : {}),
    };
    server.#context = context;
    server.#limits = new ConnectionLimits(config);
    server.#users = authenticator.store;
    server.#ownStore = options.userStore !== undefined;
    const defaultHosts = config.hosts.length === 2 && config.hosts[0] === "127.0.0.1" &&
      config.hosts[1] === "::1";
    const ports: [number, boolean][] = [[config.port, false]];
    if (config.implicitTlsPort !== undefined) ports.push([config.implicitTlsPort, true]);
    for (let [port, implicitTls] of ports) {
      let listened = 0;
      for (const host of config.hosts) {
        try {
          const listener = await server.#listen(host, port, context, implicitTls);
          const address = listener.address() as net.AddressInfo;
          port = address.port;
          listened++;
          server.#listeners.push(listener);
          server.addresses.push(implicitTls ? { host, port, implicitTls } : { host, port });
        } catch (error) {
          if (defaultHosts && host === "::1" && listened > 0) {
            logger.info("listen-skipped", { host, reason: (error as Error).message });
            continue;
          }
          await server.close();
          throw new StartupError(
            `Cannot listen on ${formatAddress({ host, port, implicitTls })}: ${
              (error as Error).message
            }`,
          );
        }
      }
    }
    server.#memoryReturn = MemoryReturn.start(nativeMemory(), { pool: transferBufferPool });
    return server;
  }

  #listen(
    host: string,
    port: number,
    context: ServerContext,
    implicitTls: boolean,
  ): Promise<net.Server> {
    const listener = net.createServer((socket) => this.#accept(socket, context, implicitTls));
    return new Promise((resolve, reject) => {
      listener.once("error", reject);
      listener.listen({ host, port, ipv6Only: host.includes(":") }, () => {
        listener.off("error", reject);
        listener.on(
          "error",
          (error) => this.#event("listener-error", { message: error.message }),
        );
        resolve(listener);
      });
    });
  }

  #accept(socket: net.Socket, context: ServerContext, implicitTls: boolean): void {
    const peer = socketPeer(socket);
    if (!peer) {
      // Reset before this callback ran (under load, a client or a balancer's health check that
      // gave up): no address to trust, limit or log, and no one left to greet.
      socket.on("error", () => {});
      socket.destroy();
      this.#event("connection-reset", { reason: "reset by the peer before it was accepted" });
      return;
    }
    if (context.proxy) {
      this.#acceptProxied(socket, peer, context, implicitTls, context.proxy);
      return;
    }
    this.#admit(socket, context, implicitTls, originFrom(peer, undefined));
  }

  /** With `--proxy-protocol`: reads a trusted balancer's header first, refuses others if required. */
  async #acceptProxied(
    socket: net.Socket,
    peer: ProxyEndpoint,
    context: ServerContext,
    implicitTls: boolean,
    proxy: ProxyPolicy,
  ): Promise<void> {
    socket.on("error", () => {});
    if (!proxy.expectsHeader(peer.address)) {
      if (!proxy.required) {
        return this.#admit(socket, context, implicitTls, originFrom(peer, undefined));
      }
      this.#event("refused", { peer: peer.address, reason: "not a trusted balancer" });
      socket.destroy();
      return;
    }
    this.#pending.add(socket);
    const reader = new SocketReader(socket);
    let origin: ConnectionOrigin;
    try {
      origin = originFrom(peer, await readProxyHeader(reader.read, proxy.timeoutMs));
    } catch (error) {
      this.#event("proxy-refused", { peer: peer.address, reason: (error as Error).message });
      socket.destroy();
      return;
    } finally {
      reader.release();
      this.#pending.delete(socket);
    }
    if (this.#closing || socket.destroyed) {
      socket.destroy();
      return;
    }
    this.#admit(socket, context, implicitTls, origin);
  }

  /** Starts a session for a connection whose client (`origin.client`) is known. */
  #admit(
    socket: net.Socket,
    context: ServerContext,
    implicitTls: boolean,
    origin: ConnectionOrigin,
  ): void {
    const address = comparableAddress(origin.client.address);
    const refusal = this.#limits.admit(address);
    if (refusal) {
      this.#event("refused", {
        peer: address,
        reason: refusal,
        limit: refusal === TOO_MANY_USERS ? "max_sessions" : "max_sessions_per_ip",
      });
      socket.on("error", () => {});
      socket.resume(); // read (and drop) until the peer's end, so the socket can close
      socket.end(formatReply(ReplyCode.ServiceUnavailable, refusal));
      setTimeout(() => socket.destroy(), 1000).unref?.();
      return;
    }
    const session = new Session(socket, context, {
      implicitTls,
      id: ++this.#sessionCount,
      origin,
    });
    this.#sessions.add(session);
    const running = session.run().finally(() => {
      this.#limits.release(address);
      this.#sessions.delete(session);
      this.#running.delete(running);
    });
    this.#running.add(running);
  }

  /** A line naming every address, for the start-up message. */
  describe(): string {
    return `ferry listening on ${
      this.addresses.map(formatAddress).join(", ")
    } serving ${this.root}`;
  }

  /**
   * Stops the server: stops listening at once (new connections are refused),
   * closes idle sessions with 421, lets running transfers finish for up to
   * `graceMs` (each of those sessions gets its 226, then 421), then cuts what
   * is left with 421 and waits for every session to end. Calling it again
   * while it runs returns the same promise; with `graceMs: 0` it also cuts
   * the grace period short (a second Ctrl-C).
   *
   * @example
   * ```ts ignore
   * await server.close({ graceMs: 30_000 });
   * ```
   */
  close(options: CloseOptions = {}): Promise<void> {
    const graceMs = options.graceMs ?? 0;
    if (this.#closing) {
      if (graceMs === 0) this.#cutGrace?.();
      return this.#closing;
    }
    this.#closing = this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    this.#memoryReturn?.stop();
    const stopped = this.#listeners.map((listener) =>
      new Promise<void>((resolve) => listener.close(() => resolve()))
    );
    this.#listeners.length = 0;
    for (const socket of this.#pending) socket.destroy();
    if (this.#sessions.size > 0) {
      this.#event("shutdown", { sessions: this.#sessions.size, graceMs });
    }
    for (const session of this.#sessions) session.drain();
    if (graceMs > 0 && this.#running.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all([...this.#running]),
        new Promise<void>((resolve) => {
          this.#cutGrace = resolve;
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
      this.#cutGrace = undefined;
    }
    await Promise.all(
      [...this.#sessions].map((session) =>
        session.shutdown("Server shutting down; closing control connection.")
      ),
    );
    await Promise.all([...this.#running]);
    await this.#hooks?.close(); // the last events' hooks (logouts) run, each within its timeout
    await Promise.all(stopped);
    await this.#users?.close();
    this.#logger.flush();
  }
}
