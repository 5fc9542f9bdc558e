/**
 * One data transfer (RETR, STOR, APPE, LIST, NLST, MLSD) from start to
 * finish: data connection, REST, the command, the data, and both the end of
 * the data and the final reply before it counts as done; a transfer refused
 * with 425 or 450 before any data moved is tried again.
 *
 * @module
 */

import { type Reply, ReplyCode, replyKind } from "../../protocol/reply.ts";
import type { DataStream } from "../../transport/data_stream.ts";
import { ClientError, ExitCode, FtpReplyError, isClientError } from "../errors.ts";
import { REUSE_REQUIRED_MESSAGE } from "../tls/settings.ts";
import type { ControlConnection } from "./control_connection.ts";
import type { DataConnections } from "./data_connection.ts";

/** How many times a transfer refused with 425 or 450 is tried again. */
const TRANSIENT_RETRIES = 2;

/** A 425/450 refusal of a transfer command, before any data moved: worth a retry. */
class TransientRefusal extends FtpReplyError {}

/** One transfer: what to send and how to move the data. */
export interface TransferRequest {
  /** The data command. */
  verb: string;
  /** Its argument. */
  path: string | undefined;
  /** REST offset; 0 sends no REST. */
  offset: number;
  /** Moves the data; returns the byte count. */
  move: (conn: DataStream) => Promise<number>;
}

/**
 * Runs one data transfer, with up to two retries of a 425/450 refusal
 * (RFC 959 §4.2: transient by definition) on a fresh data connection.
 *
 * @example
 * ```ts ignore
 * const bytes = await runTransfer(control, data, { verb: "RETR", path: "a.txt", offset: 0, move });
 * ```
 */
export async function runTransfer(
  control: ControlConnection,
  data: DataConnections,
  request: TransferRequest,
): Promise<number> {
  for (let attempt = 1;; attempt++) {
    try {
      return await transferOnce(control, data, request);
    } catch (error) {
      if (!(error instanceof TransientRefusal) || attempt > TRANSIENT_RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

async function transferOnce(
  control: ControlConnection,
  data: DataConnections,
  { verb, path, offset, move }: TransferRequest,
): Promise<number> {
  const setup = await data.open();
  const tls = control.tls !== undefined;
  try {
    if (offset > 0) {
      const rest = await control.request("REST", String(offset));
      if (rest.code !== ReplyCode.PendingFurtherInfo) throw new FtpReplyError("REST", rest);
    }
    const exchange = control.send(verb, path);
    const first = await control.read(exchange);
    if (exchange.final) {
      checkTlsRefusal(tls, verb, first);
      throw first.code === ReplyCode.CannotOpenData || first.code === ReplyCode.FileBusy
        ? new TransientRefusal(verb, first)
        : new FtpReplyError(verb, first);
    }
    let conn: DataStream;
    try {
      conn = await data.secure(await setup.connection());
    } catch (error) {
      // The server may say why (a 522 after refusing the TLS handshake): read its verdict.
      if (tls && !control.closed) {
        const reply = await control.read(exchange).catch(() => undefined);
        if (reply) checkTlsRefusal(tls, verb, reply);
      }
      throw error;
    }
    let moved = 0;
    let moveError: unknown;
    try {
      moved = await move(conn);
      await conn.flush?.();
    } catch (error) {
      moveError = error;
    } finally {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    let final: Reply | undefined;
    try {
      do {
        final = await control.read(exchange);
      } while (!exchange.final);
    } catch (error) {
      // After a transfer we broke off, some servers never send the final
      // reply (pure-ftpd 1.0.50): report the interruption, not the timeout.
      if (moveError === undefined) throw error;
    }
    if (final) checkTlsRefusal(tls, verb, final);
    if (isClientError(moveError)) throw moveError;
    if (moveError !== undefined) {
      const local = moveError instanceof Deno.errors.NotFound ||
        moveError instanceof Deno.errors.PermissionDenied ||
        /ENOSPC|No space/.test(String(moveError));
      throw new ClientError(
        `${verb} ${local ? "local I/O error" : "interrupted"}: ${(moveError as Error).message}`,
        local ? ExitCode.LocalIo : ExitCode.TransferInterrupted,
        { cause: moveError },
      );
    }
    // Without a move error, the loop above either returned a final reply or threw.
    const done = final!;
    if (replyKind(done.code) !== "completion") {
      throw new FtpReplyError(
        verb,
        done,
        done.code === ReplyCode.TransferAborted || done.code === ReplyCode.LocalError
          ? ExitCode.TransferInterrupted
          : undefined,
      );
    }
    return moved;
  } finally {
    setup.close();
  }
}

/**
 * With PROT P, a 522 to a transfer means the server refused the data
 * connection's TLS: throws the error that says why and what to do.
 */
function checkTlsRefusal(tls: boolean, verb: string, reply: Reply): void {
  if (!tls || reply.code !== ReplyCode.TlsNegotiationFailed) return;
  const text = `${reply.code} ${reply.lines.join(" ").trim()}`;
  if (/reuse|resum/i.test(text)) {
    throw new ClientError(
      `${verb}: ${REUSE_REQUIRED_MESSAGE} (the server said: ${text})`,
      ExitCode.Connect,
    );
  }
  throw new ClientError(
    `${verb}: the server refused TLS on the data connection (${text}); ` +
      `if it requires TLS session reuse: ${REUSE_REQUIRED_MESSAGE}`,
    ExitCode.Connect,
  );
}
