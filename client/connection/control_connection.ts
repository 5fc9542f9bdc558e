/**
 * The client's control connection. It knows no FTP commands, only how to
 * send a command line and read replies in the order RFC 959 allows, through
 * the protocol core's reply parser and sequencing state machine.
 *
 * @module
 */

import * as net from "node:net";
import { formatCommand } from "../../protocol/command.ts";
import { type Reply, ReplyFormatError, ReplyParser } from "../../protocol/reply.ts";
import { ReplyExchange, ReplySequenceError } from "../../protocol/sequence.ts";
import { ClientError, ExitCode } from "../errors.ts";
import {
  clientHandshake,
  type ClientTlsSocket,
  connectClientTls,
  type TlsSettings,
} from "../tls/tls.ts";

/** Options for {@linkcode ControlConnection.connect}. */
export interface ControlOptions {
  /**
   * Give up on connecting, or on a reply, after this long (milliseconds).
   * @default {30000}
   */
  timeoutMs?: number;
  /** Called with each line sent ("> …", passwords masked) and received ("< …"). */
  onDialogue?: (line: string) => void;
  /**
   * Implicit FTPS: the TLS handshake comes before the greeting. `host` is
   * the name the server's certificate must carry.
   */
  implicitTls?: { host: string; settings: TlsSettings };
}

/** The most text one reply may hold before it counts as hostile. */
const MAX_REPLY_CHARS = 1 << 20;

/** A connected control channel. */
export class ControlConnection {
  /** The TCP socket (addresses come from it, TLS or not). */
  readonly #tcp: net.Socket;
  /** What replies are read from and commands written to: the TCP socket, or TLS on it. */
  #socket: net.Socket | ClientTlsSocket;
  /** The TLS layer, once there is one: data connections resume its session. */
  #tls: ClientTlsSocket | undefined;
  readonly #parser = new ReplyParser({ maxLineLength: 8192, maxLines: 50_000 });
  readonly #decoder = new TextDecoder();
  readonly #replies: Reply[] = [];
  readonly #timeoutMs: number;
  readonly #onDialogue: ((line: string) => void) | undefined;
  #waiter: (() => void) | undefined;
  #failure: ClientError | undefined;
  #closed = false;
  #pendingChars = 0;

  private constructor(
    tcp: net.Socket,
    secure: ClientTlsSocket | undefined,
    options: ControlOptions,
  ) {
    this.#tcp = tcp;
    this.#tls = secure;
    const socket = secure ?? tcp;
    this.#socket = socket;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#onDialogue = options.onDialogue;
    tcp.setNoDelay(true);
    this.#listen(socket);
  }

  #listen(socket: net.Socket | ClientTlsSocket): void {
    socket.on("data", (chunk: Uint8Array) => this.#receive(chunk));
    socket.on("end", () => this.#fail("Server closed the control connection"));
    socket.on("close", () => this.#fail("Server closed the control connection"));
    socket.on("error", (error) => this.#fail(`Control connection error: ${error.message}`));
  }

  /** Starts TLS on a socket and waits for the handshake (the caller's timeout applies). */
  static async #secure(
    socket: net.Socket,
    host: string,
    port: number,
    settings: TlsSettings,
    timeoutMs: number,
  ): Promise<ClientTlsSocket> {
    socket.on("error", () => {}); // reported by the TLS socket
    const secure = connectClientTls(socket, host, settings);
    await clientHandshake(secure, `${host} port ${port}`, timeoutMs);
    return secure;
  }

  /**
   * Explicit FTPS: after `AUTH TLS` got 234, turns the control connection
   * into TLS. `host` is the name the server's certificate must carry.
   *
   * @throws {ClientError} (exit 3) If the handshake or the certificate check fails.
   */
  async startTls(host: string, settings: TlsSettings): Promise<void> {
    if (this.#failure) throw this.#failure;
    const clear = this.#tcp;
    for (const event of ["data", "end", "close", "error"]) clear.removeAllListeners(event);
    let secure: ClientTlsSocket;
    try {
      secure = await ControlConnection.#secure(
        clear,
        host,
        clear.remotePort ?? 0,
        settings,
        this.#timeoutMs,
      );
    } catch (error) {
      this.#fail((error as Error).message);
      clear.destroy();
      throw error;
    }
    this.#socket = secure;
    this.#tls = secure;
    this.#listen(secure);
    this.#dialogue(`* TLS ${secure.getProtocol() ?? ""} ${describeTrust(settings)}`);
  }

  /** The control connection's TLS socket, whose session data connections resume. */
  get tls(): ClientTlsSocket | undefined {
    return this.#tls;
  }

  /** The TLS version of the control connection ("TLSv1.3"), or undefined in the clear. */
  get tlsProtocol(): string | undefined {
    return this.#tls ? this.#tls.getProtocol() ?? "" : undefined;
  }

  #dialogue(line: string): void {
    this.#onDialogue?.(line);
  }

  /** Connects and reads the greeting (a 120 "ready soon" is waited through). */
  static async connect(
    host: string,
    port: number,
    options: ControlOptions = {},
  ): Promise<{ connection: ControlConnection; greeting: Reply }> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ClientError(`Timed out connecting to ${host} port ${port}`, ExitCode.Connect));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(socket);
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(
          new ClientError(
            `Cannot connect to ${host} port ${port}: ${error.message}`,
            ExitCode.Connect,
          ),
        );
      });
    });
    let connection: ControlConnection;
    const implicit = options.implicitTls;
    if (implicit) {
      let secure: ClientTlsSocket;
      try {
        secure = await ControlConnection.#secure(
          socket,
          implicit.host,
          port,
          implicit.settings,
          timeoutMs,
        );
      } catch (error) {
        socket.destroy();
        throw error;
      }
      connection = new ControlConnection(socket, secure, options);
      connection.#dialogue(
        `* TLS ${secure.getProtocol() ?? ""} ${describeTrust(implicit.settings)}`,
      );
    } else {
      connection = new ControlConnection(socket, undefined, options);
    }
    const exchange = new ReplyExchange("");
    let reply: Reply;
    do {
      reply = await connection.#read(exchange);
    } while (!exchange.final);
    return { connection, greeting: reply };
  }

  /** The local address of the control connection (used for active mode). */
  get localAddress(): string {
    return this.#tcp.localAddress ?? "";
  }

  /** The server's address, which passive data connections always go to. */
  get remoteAddress(): string {
    return this.#tcp.remoteAddress ?? "";
  }

  /** 4 or 6: the address family of the control connection. */
  get family(): 4 | 6 {
    return net.isIPv6(this.remoteAddress) && !this.remoteAddress.startsWith("::ffff:") ? 6 : 4;
  }

  /** True once the connection has failed or been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a command and returns its final reply (a 1xx here is a protocol error). */
  async request(verb: string, argument?: string): Promise<Reply> {
    const exchange = this.send(verb, argument);
    const reply = await this.read(exchange);
    if (!exchange.final) {
      throw new ClientError(`Unexpected preliminary reply to ${verb}`, ExitCode.Protocol);
    }
    return reply;
  }

  /** Sends a command and returns the exchange to read its replies with {@linkcode read}. */
  send(verb: string, argument?: string): ReplyExchange {
    if (this.#failure) throw this.#failure;
    let line: string;
    try {
      line = formatCommand(verb, argument);
    } catch (error) {
      throw new ClientError((error as Error).message, ExitCode.Usage);
    }
    const shown = verb.toUpperCase() === "PASS" ? "PASS ****" : line.slice(0, -2);
    this.#onDialogue?.(`> ${shown}`);
    this.#socket.write(line);
    return new ReplyExchange(verb);
  }

  /** Reads the next reply of an exchange. */
  read(exchange: ReplyExchange): Promise<Reply> {
    return this.#read(exchange);
  }

  async #read(exchange: ReplyExchange): Promise<Reply> {
    const reply = await this.#next();
    try {
      exchange.accept(reply);
    } catch (error) {
      if (error instanceof ReplySequenceError) {
        throw new ClientError(error.message, ExitCode.Protocol);
      }
      throw error;
    }
    return reply;
  }

  #next(): Promise<Reply> {
    const reply = this.#replies.shift();
    if (reply) return Promise.resolve(reply);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new ClientError("Timed out waiting for the server's reply", ExitCode.Connect));
        this.close();
      }, this.#timeoutMs);
      this.#waiter = () => {
        clearTimeout(timer);
        this.#waiter = undefined;
        this.#next().then(resolve, reject);
      };
    });
  }

  #receive(chunk: Uint8Array): void {
    try {
      const text = this.#decoder.decode(chunk, { stream: true });
      this.#pendingChars += text.length;
      const replies = this.#parser.push(text);
      if (this.#parser.incomplete && this.#pendingChars > MAX_REPLY_CHARS) {
        throw new ReplyFormatError("Reply longer than 1 MiB");
      }
      if (!this.#parser.incomplete) this.#pendingChars = 0;
      for (const reply of replies) {
        for (const [i, line] of reply.lines.entries()) {
          this.#onDialogue?.(
            `< ${
              i === reply.lines.length - 1 ? `${reply.code} ` : i === 0 ? `${reply.code}-` : ""
            }${line}`,
          );
        }
        this.#replies.push(reply);
      }
    } catch (error) {
      this.#fail(`Bad reply from server: ${(error as Error).message}`, ExitCode.Protocol);
      this.#socket.destroy();
    }
    this.#waiter?.();
  }

  #fail(message: string, exitCode: number = ExitCode.Connect): void {
    if (!this.#failure) this.#failure = new ClientError(message, exitCode);
    this.#closed = true;
    this.#waiter?.();
  }

  /** Closes the connection without QUIT. */
  close(): void {
    this.#closed = true;
    if (!this.#failure) this.#failure = new ClientError("Connection closed", ExitCode.Connect);
    this.#socket.destroy();
    this.#tcp.destroy();
  }
}

function describeTrust(settings: TlsSettings): string {
  return settings.insecure ? "(certificate not verified: --insecure)" : "(certificate verified)";
}
