/**
 * The client's control connection. It knows no FTP commands, only how to
 * send a command line and read replies in the order RFC 959 allows, through
 * the protocol core's reply parser and sequencing state machine.
 *
 * It runs on `Deno.connect` and reads only while a reply is awaited, so
 * that `AUTH TLS` can hand the connection to TLS with no read pending; the
 * TLS back-end (`client/tls/backend.ts`) loads only when FTPS is asked for.
 *
 * @module
 */

import { formatCommand } from "../../protocol/command.ts";
import {
  formatReplyLines,
  type Reply,
  ReplyFormatError,
  ReplyParser,
} from "../../protocol/reply.ts";
import { ReplyExchange, ReplySequenceError } from "../../protocol/sequence.ts";
import { ClientError, ExitCode } from "../errors.ts";
import type { SecureControl } from "../tls/backend.ts";
import type { TlsSettings } from "../tls/settings.ts";
import { connChannel, type ControlChannel } from "./control_channel.ts";

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

const encoder = new TextEncoder();

/** A connected control channel. */
export class ControlConnection {
  /** The TCP connection (addresses come from it, TLS or not). */
  readonly #conn: Deno.TcpConn;
  /** What replies are read from and commands written to: the TCP connection, or TLS on it. */
  #channel: ControlChannel;
  /** The TLS layer, once there is one: data connections use its back-end. */
  #tls: SecureControl | undefined;
  readonly #parser = new ReplyParser({ maxLineLength: 8192, maxLines: 50_000 });
  readonly #decoder = new TextDecoder();
  readonly #replies: Reply[] = [];
  readonly #timeoutMs: number;
  readonly #onDialogue: ((line: string) => void) | undefined;
  /** Commands are written in the order they were sent. */
  #writing: Promise<void> = Promise.resolve();
  #pulling: Promise<void> | undefined;
  #failure: ClientError | undefined;
  #closed = false;
  #pendingChars = 0;

  private constructor(conn: Deno.TcpConn, options: ControlOptions) {
    this.#conn = conn;
    this.#channel = connChannel(conn);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#onDialogue = options.onDialogue;
    conn.setNoDelay(true);
  }

  /** Starts TLS on the connection and waits for the handshake (the caller's timeout applies). */
  async #secure(host: string, settings: TlsSettings): Promise<void> {
    const { secureControl } = await import("../tls/backend.ts");
    const secure = await secureControl(
      this.#conn,
      host,
      this.#conn.remoteAddr.port,
      settings,
      this.#timeoutMs,
    );
    this.#channel = secure.channel;
    this.#tls = secure;
    this.#dialogue(`* TLS ${secure.protocol} ${describeTrust(settings)}`);
  }

  /**
   * Explicit FTPS: after `AUTH TLS` got 234, turns the control connection
   * into TLS. `host` is the name the server's certificate must carry.
   *
   * @throws {ClientError} (exit 3) If the handshake or the certificate check fails.
   */
  async startTls(host: string, settings: TlsSettings): Promise<void> {
    if (this.#failure) throw this.#failure;
    await this.#writing;
    try {
      await this.#secure(host, settings);
    } catch (error) {
      this.#fail((error as Error).message);
      this.close();
      throw error;
    }
  }

  /** The control connection's TLS layer, whose back-end data connections use. */
  get tls(): SecureControl | undefined {
    return this.#tls;
  }

  /** The TLS version of the control connection ("TLSv1.3"), or undefined in the clear. */
  get tlsProtocol(): string | undefined {
    return this.#tls?.protocol;
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
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: host, port, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new ClientError(
        (error as Error).name === "TimeoutError"
          ? `Timed out connecting to ${host} port ${port}`
          : `Cannot connect to ${host} port ${port}: ${(error as Error).message}`,
        ExitCode.Connect,
      );
    }
    const connection = new ControlConnection(conn, options);
    const implicit = options.implicitTls;
    if (implicit) {
      try {
        await connection.#secure(implicit.host, implicit.settings);
      } catch (error) {
        connection.close();
        throw error;
      }
    }
    const exchange = new ReplyExchange("");
    let reply: Reply;
    try {
      do {
        reply = await connection.#read(exchange);
      } while (!exchange.final);
    } catch (error) {
      connection.close();
      throw error;
    }
    return { connection, greeting: reply };
  }

  /** The local address of the control connection (used for active mode). */
  get localAddress(): string {
    return this.#conn.localAddr.hostname;
  }

  /** The server's address, which passive data connections always go to. */
  get remoteAddress(): string {
    return this.#conn.remoteAddr.hostname;
  }

  /** 4 or 6: the address family of the control connection. */
  get family(): 4 | 6 {
    const address = this.remoteAddress;
    return address.includes(":") && !address.startsWith("::ffff:") ? 6 : 4;
  }

  /** True once the connection has failed or been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a command and returns its final reply (a 1xx here is a protocol
   * error). `timeoutMs` overrides the connection's reply timeout for a
   * command known to take long (a checksum of a large file).
   */
  async request(verb: string, argument?: string, timeoutMs?: number): Promise<Reply> {
    const exchange = this.send(verb, argument);
    const reply = await this.#read(exchange, timeoutMs);
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
    const channel = this.#channel;
    const bytes = encoder.encode(line);
    this.#writing = this.#writing
      .then(() => channel.write(bytes))
      .catch((error) => this.#fail(`Control connection error: ${(error as Error).message}`));
    return new ReplyExchange(verb);
  }

  /** Reads the next reply of an exchange. */
  read(exchange: ReplyExchange): Promise<Reply> {
    return this.#read(exchange);
  }

  async #read(exchange: ReplyExchange, timeoutMs?: number): Promise<Reply> {
    const reply = await this.#next(timeoutMs);
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

  async #next(timeoutMs: number = this.#timeoutMs): Promise<Reply> {
    while (true) {
      const reply = this.#replies.shift();
      if (reply) return reply;
      if (this.#failure) throw this.#failure;
      this.#pulling ??= this.#pull(timeoutMs).finally(() => (this.#pulling = undefined));
      await this.#pulling;
    }
  }

  /** Reads one chunk from the server (or fails the connection), within the reply timeout. */
  async #pull(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const chunk = await Promise.race([
      this.#channel.read().catch((error: unknown) =>
        error instanceof Error ? error : new Error(String(error))
      ),
      timeout,
    ]).finally(() => clearTimeout(timer));
    if (chunk === "timeout") {
      const error = new ClientError("Timed out waiting for the server's reply", ExitCode.Connect);
      this.close();
      throw error;
    }
    if (chunk === null) return this.#fail("Server closed the control connection");
    if (chunk instanceof Error) {
      return this.#fail(
        this.#closed ? "Connection closed" : `Control connection error: ${chunk.message}`,
      );
    }
    this.#receive(chunk);
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
        if (this.#onDialogue) {
          for (const line of formatReplyLines(reply)) this.#onDialogue(`< ${line}`);
        }
        this.#replies.push(reply);
      }
    } catch (error) {
      this.#fail(`Bad reply from server: ${(error as Error).message}`, ExitCode.Protocol);
      this.#closeChannels();
    }
  }

  #fail(message: string, exitCode: number = ExitCode.Connect): void {
    if (!this.#failure) this.#failure = new ClientError(message, exitCode);
    this.#closed = true;
  }

  #closeChannels(): void {
    this.#channel.close();
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  /** Closes the connection without QUIT. */
  close(): void {
    this.#closed = true;
    if (!this.#failure) this.#failure = new ClientError("Connection closed", ExitCode.Connect);
    this.#closeChannels();
  }
}

function describeTrust(settings: TlsSettings): string {
  return settings.insecure ? "(certificate not verified: --insecure)" : "(certificate verified)";
}
