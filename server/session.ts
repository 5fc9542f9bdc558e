/**
 * One control connection: reads command lines, runs them through the
 * pre-dispatch pipeline (unknown → 502, sequence → 530/503, argument → 501,
 * permission → 550), calls the handler, and is the one place that writes
 * replies to the socket.
 *
 * @module
 */

import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { CommandLineReader, type LineEvent, parseCommand } from "../protocol/command.ts";
import {
  formatReply,
  formatReplyContinuation,
  formatReplyOpening,
  ReplyCode,
} from "../protocol/reply.ts";
import { ReplyExchange, SessionSequence } from "../protocol/sequence.ts";
import { resolveVirtualPath } from "../protocol/virtual_path.ts";
import { MLST_FACTS } from "../protocol/listing.ts";
import {
  type ByteRange,
  DEFAULT_HASH_ALGORITHM,
  type HashAlgorithm,
} from "../protocol/hash_algorithm.ts";
import type { Authenticator } from "./auth/authenticator.ts";
import type { ServerConfig } from "./config.ts";
import type { DataChannel } from "./data/data_channel.ts";
import type { PassiveListener } from "./data/passive_listener.ts";
import type { PassivePortPool } from "./data/passive_port_pool.ts";
import { ControlPeer } from "./data/control_peer.ts";
import { comparableAddress } from "../protocol/address.ts";
import { FtpError, toFtpError } from "./ftp_error.ts";
import type { ServerEvents } from "./events.ts";
import type { HookRunner } from "./hooks/hook_runner.ts";
import type { Logger, LogValue } from "./log.ts";
import type { Storage } from "./storage/storage.ts";
import type { UserSettings } from "./auth/user_settings.ts";
import type { UserLimits } from "./user_limits/user_limits.ts";
import type { SessionSlot } from "./user_limits/session_slots.ts";
import type { LoginThrottle } from "./auth/login_throttle.ts";
import { COMMANDS, type HandlerReply } from "./commands.ts";
import { type ServerTlsContext, startServerTls, TicketBook } from "./tls/tls_context.ts";
import { newBinding } from "./tls/openssl_context.ts";
import { OpenSslSocket } from "../transport/tls/openssl_socket.ts";
import type { ConnectionOrigin, PasvAddressMap, ProxyPolicy } from "./proxy_protocol.ts";

/**
 * What every session shares: settings, users, log and the way to open a
 * user's storage. A reload (SIGHUP) replaces `config`, `authenticator` and
 * `secureContext` together (see `FtpServer.replaceLiveState`): read them
 * from here when needed, do not keep them.
 */
export interface ServerContext {
  config: ServerConfig;
  authenticator: Authenticator;
  readonly log: Logger;
  /** Observers of the events the log shows (metrics, transfer logs, hooks). */
  readonly events?: ServerEvents;
  /** The configured hooks (pre-upload/pre-delete checks), when there are any. */
  readonly hooks?: HookRunner;
  /** Opens the jailed storage for a home directory (virtual, relative to the served root). */
  openStorage(home: string): Promise<Storage>;
  /** Slows repeated failed logins from one address. */
  readonly loginThrottle: LoginThrottle;
  /** Per-user quotas, rates, session counts and address rules. */
  readonly limits: UserLimits;
  /** The server's passive ports, for clear and TLS data channels. */
  readonly passivePorts: PassivePortPool;
  /** The TLS certificate and key, when FTPS is configured, in the TLS engine in use. */
  secureContext?: ServerTlsContext | undefined;
  /** The PROXY protocol policy, with `--proxy-protocol`. */
  readonly proxy?: ProxyPolicy;
  /** Per-network PASV addresses, with `--pasv-address-for`. */
  readonly pasvAddresses?: PasvAddressMap;
}

/** A control connection's TLS socket, `node:tls` or OpenSSL. */
type ServerTlsSocket = Duplex & {
  getProtocol(): string | null;
  isSessionReused(): boolean;
};

/** A logged-in user as the limits see them. */
export interface SessionAccount {
  /** The login name. */
  readonly name: string;
  /** The home, a virtual path from the served root. */
  readonly home: string;
  /** The user's settings with the server's defaults filled in. */
  readonly settings: UserSettings;
  /** The slot the session holds for the user's `max_sessions`. */
  readonly slot: SessionSlot;
}

/** Options for a {@linkcode Session}. */
export interface SessionOptions {
  /** Implicit FTPS: the control connection is TLS from the first byte. */
  implicitTls?: boolean;
  /**
   * Who the connection is for: its own peer, read when it was accepted, or
   * the client a trusted load balancer's PROXY header named (see
   * `originFrom` in `proxy_protocol.ts`).
   */
  origin: ConnectionOrigin;
  /**
   * The number naming the session in the log, given by its server.
   * @default {0}
   */
  id?: number;
}

/** A running transfer (or background command): how to stop it and when it is over. */
interface RunningTransfer {
  readonly controller: AbortController;
  readonly done: Promise<void>;
  /** A background command without a data connection (a checksum). */
  readonly background: boolean;
}

const MAX_QUEUED_LINES = 64;

/** Longest a held preliminary reply waits for the final one, in milliseconds. */
export const HOLD_MS = 10;

/**
 * A command line of ASCII bytes as a string, without a TextDecoder call
 * (which costs more than the rest of parsing); undefined for anything else,
 * which {@linkcode parseCommand} decodes (and checks) as UTF-8.
 */
function asciiText(bytes: Uint8Array): string | undefined {
  if (bytes.length > 512) return undefined;
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return undefined;
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/**
 * The state of one control connection and its command loop. Handlers read
 * and change the public fields; only the session writes to the socket.
 */
export class Session {
  /** A number naming this session in the log (counted per server). */
  readonly id: number;
  /** The shared server context. */
  readonly context: ServerContext;
  /**
   * The client's address (IPv4-mapped prefix kept as the socket reports it); behind a
   * load balancer, the one its PROXY header gave.
   */
  readonly peerAddress: string;
  /** The load balancer the control connection came through, when it did. */
  readonly via: string | undefined;
  /** The address the client connected to on the balancer, from its PROXY header. */
  readonly proxiedTo: string | undefined;
  /** The client's port. */
  readonly peerPort: number;
  /** The server address the client connected to. */
  readonly localAddress: string;
  /** The client as data connections are checked against (see `data/control_peer.ts`). */
  readonly peer: ControlPeer;
  /** The server address the client connected to, in compared form, and its family. */
  readonly local: { readonly comparable: string; readonly family: 4 | 6 };
  /** Login, RNFR and REST sequencing. */
  readonly sequence: SessionSequence = new SessionSequence();
  /** The virtual working directory. */
  cwd = "/";
  /** The user's jailed storage, once logged in. */
  storage: Storage | undefined;
  /** The logged-in user's permission letters. */
  permissions = "";
  /** The logged-in user's home, effective limits and session slot. */
  account: SessionAccount | undefined;
  /** The representation type: "A" (ASCII, the RFC 959 default) or "I" (image). */
  transferType: "A" | "I" = "A";
  /** Set by EPSV ALL: every other data-connection setup command is refused. */
  epsvAll = false;
  /** The MLSx facts enabled by OPTS MLST. */
  mlstFacts: Set<string> = new Set(MLST_FACTS);
  /** The data channel set up by PORT/PASV/EPRT/EPSV and not yet used. */
  dataChannel: DataChannel | undefined;
  /** The passive listener kept between transfers (closed with the session). */
  passiveListener: PassiveListener | undefined;
  /** Failed logins in this session. */
  loginFailures = 0;
  /** True once the control connection is protected by TLS (AUTH TLS or implicit FTPS). */
  tls = false;
  /** True once PBSZ was accepted (needed before PROT). */
  pbszDone = false;
  /** The data protection level set by PROT: C (clear) or P (private, TLS). */
  protection: "C" | "P" = "C";
  /** The TLS tickets issued to this control connection, for the data connection check (`node:tls`). */
  readonly tickets: TicketBook = new TicketBook();
  /**
   * What binds TLS sessions to this control connection (OpenSSL): its data
   * connections resume only sessions issued under it.
   */
  readonly tlsBinding: Uint8Array = newBinding();
  /** The algorithm HASH uses, chosen by OPTS HASH. */
  hashAlgorithm: HashAlgorithm = DEFAULT_HASH_ALGORITHM;
  /** The byte range set by RANG for the next HASH. */
  hashRange: ByteRange | undefined;
  /** What the running checksum has done, for STAT; undefined when none runs. */
  checksumStatus: string | undefined;
  /**
   * The TLS context this control connection shook hands with: its PROT P data
   * connections use it too, so they can resume its session after a reload
   * put a new certificate in force for new connections.
   */
  controlSecureContext: ServerTlsContext | undefined;
  /** True when logged in anonymously (for the transfer log's access mode). */
  anonymous = false;

  readonly #raw: Socket;
  /** The peer as the log shows it. */
  readonly #peer: string;
  #socket: Socket | ServerTlsSocket;
  #reader: CommandLineReader;
  #queue: LineEvent[] = [];
  readonly #implicitTls: boolean;
  readonly #onData = (chunk: Uint8Array) => this.#receive(chunk);
  readonly #onEnd = () => this.#end();
  #wake: (() => void) | undefined;
  #ended = false;
  #quitting = false;
  #transfer: RunningTransfer | undefined;
  #transferExchange: ReplyExchange | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** True while a command is being handled: the idle clock stands still. */
  #busy = false;
  #afterReply: (() => void)[] = [];
  /** When the last command came or the last transfer ended ({@linkcode performance.now}). */
  #lastActivity = 0;
  /** Set by {@linkcode Session.drain} while a transfer runs: the 421 to send when it ends. */
  #drainText: string | undefined;
  /** A preliminary reply held back to go out in one write with the next reply. */
  #held: string | undefined;
  #heldTimer: ReturnType<typeof setTimeout> | undefined;

  /** Wraps an accepted control connection. */
  constructor(socket: Socket, context: ServerContext, options: SessionOptions) {
    this.#raw = socket;
    this.#socket = socket;
    this.#implicitTls = options.implicitTls ?? false;
    this.id = options.id ?? 0;
    this.context = context;
    const origin = options.origin;
    this.peerAddress = origin.client.address;
    this.peerPort = origin.client.port;
    this.via = origin.via?.address;
    this.proxiedTo = origin.destination?.address;
    this.localAddress = socket.localAddress ?? "";
    this.peer = new ControlPeer(this.peerAddress);
    const local = comparableAddress(this.localAddress);
    this.local = { comparable: local, family: local.includes(":") ? 6 : 4 };
    this.#peer = `${this.peerAddress}:${this.peerPort}`;
    this.#reader = new CommandLineReader({ maxLineLength: context.config.maxLineLength });
    socket.setNoDelay(true);
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", () => this.#end());
    socket.on("error", () => this.#end());
  }

  /** True while a transfer runs. */
  get transferring(): boolean {
    return this.#transfer !== undefined;
  }

  /** The user name, once given. */
  get user(): string | undefined {
    return this.sequence.user;
  }

  /** Resolves a client's path argument against the working directory. */
  resolve(path: string): string {
    return resolveVirtualPath(this.cwd, path);
  }

  /** The user's storage; throws 530 if not logged in (the pipeline prevents that). */
  get fs(): Storage {
    if (!this.storage) throw new FtpError(ReplyCode.NotLoggedIn, "Not logged in.");
    return this.storage;
  }

  /** Logs an event with the session's identity. */
  log(event: string, fields: Record<string, LogValue> = {}): void {
    const record = this.via === undefined
      ? { session: this.id, peer: this.#peer, user: this.sequence.user, ...fields }
      : { session: this.id, peer: this.#peer, via: this.via, user: this.sequence.user, ...fields };
    this.context.log.info(event, record);
    this.context.events?.emit(event, record);
  }

  /**
   * Runs `task` right after the running command's final reply is written:
   * for work the client need not wait for, such as the transfer log line,
   * which would otherwise hold up the 226.
   */
  afterReply(task: () => void): void {
    this.#afterReply.push(task);
  }

  #runAfterReply(): void {
    const tasks = this.#afterReply;
    if (tasks.length === 0) return;
    this.#afterReply = [];
    for (const task of tasks) task();
  }

  /**
   * Sends a preliminary (1xx) reply during a transfer command. With `hold`,
   * the reply goes out in one write with the next one (the final reply of a
   * short transfer), or after {@linkcode HOLD_MS} at the latest: a write, and
   * a wake-up of the client, fewer per small file. Only for a data
   * connection the client has already opened: a client may wait for this
   * reply before it connects.
   */
  async preliminary(code: number, text: string, options: { hold?: boolean } = {}): Promise<void> {
    const exchange = this.#transferExchange ?? new ReplyExchange("RETR");
    await this.#reply(exchange, code, text, options.hold);
  }

  /** Writes a held preliminary reply now (see {@linkcode Session.preliminary}), if there is one. */
  releaseHeld(): void {
    if (this.#held !== undefined) this.#write("");
  }

  /**
   * Sends a multi-line reply built from batches of lines, writing each batch
   * as it comes so a long listing over the control connection never sits in
   * memory whole. The caller's handler then returns the final line.
   */
  async sendLines(code: number, first: string, batches: AsyncIterable<string[]>): Promise<void> {
    await this.#write(formatReplyOpening(code, first));
    for await (const lines of batches) await this.#write(formatReplyContinuation(lines));
  }

  /** Starts the session: greets the client, then reads and runs commands until QUIT or close. */
  async run(): Promise<void> {
    this.#touch();
    try {
      let greeting: Promise<void>;
      try {
        if (this.#implicitTls) this.#switchToTls(this.#beginTls());
        greeting = this.#reply(
          new ReplyExchange(""),
          ReplyCode.ServiceReady,
          "ferry FTP server ready.",
        );
      } finally {
        this.log("connect"); // once the 220 is handed to the socket: the client need not wait for it
      }
      await greeting;
      while (!this.#quitting) {
        const event = await this.#next();
        if (!event) break;
        this.#touch();
        if (event.kind === "runaway") {
          this.log("runaway-line", { discarded: event.discarded });
          await this.shutdown("Command line too long; closing control connection.");
          break;
        }
        if (event.kind === "overlong") {
          await this.#reply(
            new ReplyExchange("?"),
            ReplyCode.SyntaxError,
            "Command line too long.",
          );
          continue;
        }
        const parsed = parseCommand(asciiText(event.bytes) ?? event.bytes);
        if (!parsed.ok) {
          if (parsed.reason === "empty") continue;
          const text = parsed.reason === "bad-encoding"
            ? "Command is not valid UTF-8."
            : parsed.reason === "bad-character"
            ? "Command contains a forbidden character."
            : "Syntax error, command unrecognized.";
          const code = parsed.reason === "bad-verb" ? 500 : 501;
          await this.#reply(new ReplyExchange("?"), code, text);
          continue;
        }
        // The idle timer does not count time the server spends on its reply (a login
        // throttle delays a failed PASS by up to 8 s): see #armIdle.
        this.#busy = true;
        try {
          await this.#dispatch(parsed.command.verb, parsed.command.argument);
        } finally {
          this.#busy = false;
          this.#touch();
        }
      }
    } catch (error) {
      this.log("error", { message: String((error as Error)?.message ?? error) });
    } finally {
      await this.#close();
    }
  }

  /**
   * Closes the session from outside (server shutdown, idle timeout) with a
   * 421 reply; a running transfer is aborted. Nothing is written after the 421.
   */
  async shutdown(text = "Service closing control connection."): Promise<void> {
    if (this.#ended) return;
    this.#quitting = true;
    this.#transfer?.controller.abort();
    const written = this.#write(formatReply(ReplyCode.ServiceUnavailable, text));
    this.#end();
    await written.catch(() => {});
  }

  /**
   * Closes the session for a graceful server shutdown: at once with 421 if
   * no transfer runs, else with 421 right after the running transfer's final
   * reply. {@linkcode Session.shutdown} still cuts the transfer short.
   */
  drain(text = "Server shutting down; closing control connection."): void {
    if (!this.#transfer) {
      this.shutdown(text);
      return;
    }
    this.#drainText = text;
  }

  /** True if `verb` is answered while the running transfer or background command goes on. */
  #answeredAtOnce(verb: string): boolean {
    if (verb === "ABOR" || verb === "STAT") return true;
    if (!this.#transfer?.background) return false;
    return verb === "NOOP" || COMMANDS.get(verb)?.background === true;
  }

  async #dispatch(verb: string, argument: string): Promise<void> {
    if (this.#transfer && !this.#answeredAtOnce(verb)) await this.#transfer.done;
    const found = COMMANDS.get(verb);
    const spec = found?.available?.(this.context.config) === false ? undefined : found;
    // A RANG range is for the command right after it (HASH); a transfer there is refused.
    const rangePending = verb !== "RANG" && verb !== "HASH" && this.hashRange !== undefined;
    if (rangePending) this.hashRange = undefined;
    const exchange = new ReplyExchange(verb);
    const refuse = (code: number, text: string) => {
      this.sequence.complete(verb, code);
      return this.#reply(exchange, code, text);
    };
    if (!spec) return refuse(ReplyCode.NotImplemented, `Command ${verb} not implemented.`);
    const refusal = this.sequence.check(verb);
    if (refusal) return this.#reply(exchange, refusal.code, refusal.text);
    if (spec.argument === "required" && argument.trim() === "") {
      return refuse(ReplyCode.ArgumentSyntaxError, `${verb} needs an argument.`);
    }
    if (spec.argument === "none" && argument.trim() !== "") {
      return refuse(ReplyCode.ArgumentSyntaxError, `${verb} takes no argument.`);
    }
    if (spec.permission && !this.permissions.includes(spec.permission)) {
      this.log("denied", { verb, argument });
      return refuse(ReplyCode.FileUnavailable, "Permission denied.");
    }
    if (rangePending && spec.transfer) {
      return refuse(ReplyCode.ParameterNotImplemented, "RANG applies to HASH only; range reset.");
    }
    if (spec.background && this.#transfer) {
      return refuse(
        ReplyCode.FileBusy,
        "Another checksum is running in this session; retry later.",
      );
    }
    if (spec.transfer || spec.background) {
      this.#startTransfer(verb, argument, spec.handler, spec.transfer === true);
      return;
    }
    await this.#run(exchange, argument, spec.handler, new AbortController().signal);
  }

  async #run(
    exchange: ReplyExchange,
    argument: string,
    handler: (session: Session, argument: string, signal: AbortSignal) => Promise<HandlerReply>,
    signal: AbortSignal,
    beforeReply?: () => void,
  ): Promise<void> {
    const verb = exchange.verb;
    let result: HandlerReply;
    try {
      result = await handler(this, argument, signal);
    } catch (error) {
      const ownAbort = error instanceof FtpError && error.code === ReplyCode.TransferAborted;
      const ftpError = signal.aborted && !ownAbort
        ? new FtpError(ReplyCode.TransferAborted, "Connection closed; transfer aborted.")
        : toFtpError(error);
      if (ftpError.code === ReplyCode.LocalError) {
        this.log("error", { verb, message: String((error as Error)?.message ?? error) });
      }
      result = { code: ftpError.code, text: ftpError.message };
    }
    this.sequence.complete(verb, result.code, result.detail);
    beforeReply?.();
    if (result.startTls) {
      // Stop reading commands before the 234 goes out: the next bytes are the TLS handshake.
      const secure = this.#beginTls();
      await this.#reply(exchange, result.code, result.text);
      this.#switchToTls(secure);
      this.#runAfterReply();
      return;
    }
    await this.#reply(exchange, result.code, result.text);
    this.#runAfterReply();
    if (verb === "QUIT" || result.close) this.#quitting = true;
  }

  /** Takes the clear socket's data events over for TLS; commands read so far are dropped. */
  #beginTls(): ServerTlsSocket {
    const secureContext = this.context.secureContext;
    if (!secureContext) throw new Error("TLS is not configured");
    this.#raw.off("data", this.#onData);
    this.#raw.off("end", this.#onEnd);
    this.#queue = [];
    this.#reader = new CommandLineReader({ maxLineLength: this.context.config.maxLineLength });
    this.controlSecureContext = secureContext;
    if (secureContext.kind === "openssl") {
      const engine = secureContext.engine(this.tlsBinding, "control");
      return OpenSslSocket.start(engine, this.#raw, { isServer: true });
    }
    const { socket, observer } = startServerTls(this.#raw, secureContext.secureContext);
    this.tickets.add(observer);
    return socket;
  }

  /** From now on commands are read from and replies written to the TLS socket. */
  #switchToTls(socket: ServerTlsSocket): void {
    this.#socket = socket;
    this.tls = true;
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", (error: Error) => {
      this.log("tls-error", { message: error.message });
      this.#end();
    });
    socket.once("secure", () => {
      this.log("tls", { protocol: socket.getProtocol() ?? "", reused: socket.isSessionReused() });
    });
  }

  #startTransfer(
    verb: string,
    argument: string,
    handler: (session: Session, argument: string, signal: AbortSignal) => Promise<HandlerReply>,
    usesData = true,
  ): void {
    const controller = new AbortController();
    const exchange = new ReplyExchange(verb);
    this.#transferExchange = exchange;
    // The data connection closes before the final reply goes out (RFC 959: 226 "Closing
    // data connection"), so the client sees the end of the data no later than the 226.
    const closeData = () => {
      if (!usesData) return; // a background command leaves a PASV/PORT channel for what follows
      this.dataChannel?.close();
      this.dataChannel = undefined;
    };
    const done = this.#run(exchange, argument, handler, controller.signal, closeData).finally(
      () => {
        closeData();
        this.#transfer = undefined;
        this.#transferExchange = undefined;
        if (this.#drainText !== undefined) this.shutdown(this.#drainText);
        else this.#touch();
      },
    );
    this.#transfer = { controller, done, background: !usesData };
  }

  /** Aborts the running transfer, waiting for its 426 reply; false if none ran. */
  async abortTransfer(): Promise<boolean> {
    const transfer = this.#transfer;
    if (!transfer) return false;
    transfer.controller.abort();
    this.dataChannel?.close();
    await transfer.done;
    return true;
  }

  /**
   * The one place replies are written (or, with `hold`, held for the next
   * write; see {@linkcode Session.preliminary}); the exchange checks their order.
   */
  async #reply(
    exchange: ReplyExchange,
    code: number,
    text: string | readonly string[],
    hold = false,
  ): Promise<void> {
    exchange.accept({ code, lines: typeof text === "string" ? [text] : [...text] });
    if (!hold) return await this.#write(formatReply(code, text));
    this.#held = formatReply(code, text);
    this.#heldTimer = setTimeout(() => {
      this.#heldTimer = undefined;
      this.releaseHeld();
    }, HOLD_MS);
  }

  #write(text: string): Promise<void> {
    if (this.#held !== undefined) {
      text = this.#held + text;
      this.#held = undefined;
      clearTimeout(this.#heldTimer);
      this.#heldTimer = undefined;
    }
    if (this.#ended || this.#socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const flushed = this.#socket.write(text, () => resolve());
      if (flushed) resolve();
    });
  }

  #receive(chunk: Uint8Array): void {
    for (const event of this.#reader.push(chunk)) this.#queue.push(event);
    if (this.#queue.length > MAX_QUEUED_LINES) this.#socket.pause();
    this.#wake?.();
  }

  #next(): Promise<LineEvent | undefined> {
    const event = this.#queue.shift();
    if (event) {
      if (this.#queue.length < MAX_QUEUED_LINES / 2 && this.#socket.isPaused()) {
        this.#socket.resume();
      }
      return Promise.resolve(event);
    }
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve(this.#next());
      };
    });
  }

  /**
   * Records activity. The idle timer is not re-armed on every command (a
   * timer costs more than the command itself): it stays armed, and when it
   * fires it arms itself again for whatever is left since the last activity.
   */
  #touch(): void {
    this.#lastActivity = performance.now();
    if (this.#ended || this.#idleTimer !== undefined) return;
    this.#armIdle(this.context.config.idleTimeoutMs);
  }

  #armIdle(ms: number): void {
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#ended) return;
      const left = this.#lastActivity + this.context.config.idleTimeoutMs - performance.now();
      if (left >= 1) return this.#armIdle(Math.ceil(left));
      if (this.#transfer || this.#busy) return this.#touch();
      this.log("idle-timeout");
      this.shutdown("Idle timeout; closing control connection.");
    }, ms);
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#idleTimer);
    this.#wake?.();
  }

  /** Ends the login's account: gives its session slot back. */
  endAccount(): void {
    this.account?.slot.release();
    this.account = undefined;
  }

  async #close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#heldTimer);
    if (this.#transfer) {
      this.#transfer.controller.abort();
      this.dataChannel?.close();
      await this.#transfer.done;
    }
    this.dataChannel?.close();
    this.dataChannel = undefined;
    this.passiveListener?.close();
    this.passiveListener = undefined;
    this.endAccount();
    this.#ended = true;
    this.#runAfterReply();
    await new Promise<void>((resolve) => {
      if (this.#socket.destroyed) return resolve();
      const timer = setTimeout(resolve, 1000);
      this.#socket.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#socket.destroy();
    this.#raw.destroy();
    this.log("disconnect");
  }
}
