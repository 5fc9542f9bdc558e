/**
 * The client's data connections: passive (EPSV, then PASV) or active (EPRT,
 * then PORT), on `Deno.connect`/`Deno.listen`; with FTPS, made TLS by the
 * control connection's back-end.
 *
 * @module
 */

import {
  comparableAddress,
  formatEprtArgument,
  formatPortArgument,
  parseEpsvReply,
  parsePasvReply,
} from "../../protocol/address.ts";
import { type Reply, ReplyCode } from "../../protocol/reply.ts";
import type { DataStream } from "../../transport/data_stream.ts";
import { ClientError, ExitCode, FtpReplyError } from "../errors.ts";
import type { ControlConnection } from "./control_connection.ts";

/** A data connection being set up: the connection once it is there, and its clean-up. */
export interface DataSetup {
  /** The connected data connection (in active mode, once the server has connected). */
  connection(): Promise<Deno.Conn>;
  /** Closes the connection and any listener. */
  close(): void;
}

/** How data connections are made for one control connection. */
export interface DataConnectionOptions {
  /** Active mode (EPRT, then PORT) instead of passive (EPSV, then PASV). */
  active: boolean;
  /** Connect and accept timeout, in milliseconds. */
  timeoutMs: number;
  /** Whether data connections are TLS (PROT P). */
  tls: boolean;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ClientError(message, ExitCode.Connect)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function closeQuietly(closable: { close(): void } | undefined): void {
  try {
    closable?.close();
  } catch {
    // already closed
  }
}

/**
 * Opens the data connections of one control connection, remembering which
 * extended commands (EPSV, EPRT) the server refused.
 *
 * @example
 * ```ts ignore
 * const data = new DataConnections(control, { active: false, timeoutMs: 30_000, tls: false });
 * const setup = await data.open();
 * ```
 */
export class DataConnections {
  /** Whether data connections are made in active mode. */
  active: boolean;
  readonly #control: ControlConnection;
  readonly #timeoutMs: number;
  readonly #tls: boolean;
  #epsvFailed = false;
  #eprtFailed = false;

  /** Data connections for `control`. */
  constructor(control: ControlConnection, options: DataConnectionOptions) {
    this.#control = control;
    this.active = options.active;
    this.#timeoutMs = options.timeoutMs;
    this.#tls = options.tls;
  }

  /** Sets up the next data connection (passive or active). */
  open(): Promise<DataSetup> {
    return this.active ? this.#openActive() : this.#openPassive();
  }

  /**
   * With FTPS, the data connection becomes a TLS client socket (in active
   * mode too, RFC 4217 §10), checked like the control connection and
   * offering the control connection's session; clear data stays a `Deno.Conn`.
   */
  async secure(conn: Deno.Conn): Promise<DataStream> {
    if (!this.#tls) return conn;
    const tls = this.#control.tls;
    if (!tls) {
      closeQuietly(conn);
      throw new ClientError("PROT P without a TLS control connection", ExitCode.Protocol);
    }
    return await tls.secureData(conn, this.#timeoutMs);
  }

  async #openPassive(): Promise<DataSetup> {
    let port: number | undefined;
    if (!this.#epsvFailed) {
      const reply = await this.#control.request("EPSV");
      if (reply.code === ReplyCode.EnteringExtendedPassive) {
        port = parseEpsvReply(reply.lines.join(" "));
      } else if (reply.code >= ReplyCode.SyntaxError) this.#epsvFailed = true;
      else throw new FtpReplyError("EPSV", reply, ExitCode.Connect);
    }
    if (port === undefined) {
      const reply = await this.#control.request("PASV");
      if (reply.code !== ReplyCode.EnteringPassive) {
        throw new FtpReplyError("PASV", reply, ExitCode.Connect);
      }
      // The address in the reply is ignored: data goes to the server we are talking to.
      port = parsePasvReply(reply.lines.join(" ")).port;
    }
    const hostname = comparableAddress(this.#control.remoteAddress);
    let conn: Deno.Conn;
    try {
      conn = await Deno.connect({ hostname, port, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (error) {
      throw new ClientError(
        `Cannot open data connection to ${hostname} port ${port}: ${(error as Error).message}`,
        ExitCode.Connect,
      );
    }
    return { connection: () => Promise.resolve(conn), close: () => closeQuietly(conn) };
  }

  async #openActive(): Promise<DataSetup> {
    const hostname = comparableAddress(this.#control.localAddress);
    const listener = Deno.listen({ hostname, port: 0 });
    try {
      const port = listener.addr.port;
      let reply: Reply | undefined;
      if (!this.#eprtFailed) {
        reply = await this.#control.request(
          "EPRT",
          formatEprtArgument({ host: hostname, port, family: this.#control.family }),
        );
        if (
          reply.code >= ReplyCode.SyntaxError &&
          reply.code !== ReplyCode.ArgumentSyntaxError &&
          this.#control.family === 4
        ) {
          this.#eprtFailed = true;
          reply = undefined;
        }
      }
      if (!reply) {
        reply = await this.#control.request("PORT", formatPortArgument({ host: hostname, port }));
      }
      if (reply.code !== ReplyCode.Ok) throw new FtpReplyError("PORT", reply, ExitCode.Connect);
    } catch (error) {
      closeQuietly(listener);
      throw error;
    }
    const server = comparableAddress(this.#control.remoteAddress);
    let accepted: Deno.Conn | undefined;
    return {
      connection: async () => {
        const accept = async () => {
          while (true) {
            const conn = await listener.accept();
            if (comparableAddress(conn.remoteAddr.hostname) === server) return conn;
            conn.close(); // not from the server: refuse a stolen data connection
          }
        };
        accepted = await withTimeout(
          accept(),
          this.#timeoutMs,
          "Server did not open the data connection",
        );
        closeQuietly(listener);
        return accepted;
      },
      close: () => {
        closeQuietly(listener);
        closeQuietly(accepted);
      },
    };
  }
}
