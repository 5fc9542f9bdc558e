/**
 * Commands that use the data connection (RETR, STOR, STOU, APPE, LIST, NLST,
 * MLSD), and the two that may arrive while one runs (ABOR, STAT).
 *
 * @module
 */

import * as posix from "node:path/posix";
import { formatListLine } from "../../protocol/listing.ts";
import { ReplyCode } from "../../protocol/reply.ts";
import type { HandlerReply } from "../commands.ts";
import { FtpError } from "../ftp_error.ts";
import type { DataStream } from "../../transport/data_stream.ts";
import type { Session } from "../session.ts";
import type { StorageEntry, StorageFile } from "../storage/storage.ts";
import {
  DataConnectionError,
  receiveFile,
  sendFile,
  StallGuard,
  writeAll,
} from "../data/transfer.ts";
import { mlsxFormatter } from "./files.ts";
import type { Direction } from "../user_limits/user_limits.ts";
import { pacedStream } from "../user_limits/paced_stream.ts";
import {
  chargedFile,
  type QuotaAccount,
  QuotaExceededError,
  UploadQuota,
} from "../user_limits/upload_quota.ts";
import { privateDataRequired } from "./security.ts";
import { isUploadTemp, uploadTempPath } from "../storage/upload_temp.ts";
import { checkPreHooks } from "../hooks/pre_hook.ts";

const encoder = new TextEncoder();

function modeName(session: Session): string {
  return session.transferType === "A" ? "ASCII" : "BINARY";
}

/** Files up to this size go out with their 125 held for the 226 (see {@linkcode Session.preliminary}). */
const HOLD_BYTES = 64 * 1024;

/**
 * Sends the preliminary reply and waits for the data connection: 125 if the
 * client is already connected, 150 otherwise. With `short` (a small file or
 * a listing), a 125 is held to go out with the final reply.
 */
async function openData(
  session: Session,
  signal: AbortSignal,
  text: string,
  short = false,
): Promise<DataStream> {
  const channel = session.dataChannel;
  if (!channel) {
    throw new FtpError(ReplyCode.CannotOpenData, "Use PORT, PASV, EPRT or EPSV first.");
  }
  if (session.protection !== "P" && privateDataRequired(session)) {
    // RFC 4217 §9: "521 data connection cannot be opened with this PROT setting".
    throw new FtpError(ReplyCode.DataProtectionRefused, "PROT P required for data transfers.");
  }
  const hold = short && channel.connected;
  await session.preliminary(
    channel.connected ? ReplyCode.DataAlreadyOpen : ReplyCode.FileStatusOk,
    text,
    { hold },
  );
  if (signal.aborted) throw new FtpError(ReplyCode.TransferAborted, "Transfer aborted.");
  const conn = await channel.open();
  return hold ? releasingHeld(session, conn) : conn;
}

/**
 * The data connection of a transfer whose 125 is held: the first write goes
 * out with the reply still held (it fits the socket's buffers), and any
 * further write sends the reply first. A client that waits for the 125
 * before it reads (curl does) thus gets it before the transfer could need
 * the client to read; the reply is not left to a timer that a busy event
 * loop may run late.
 */
function releasingHeld(session: Session, conn: DataStream): DataStream {
  let writes = 0;
  return {
    read: (buffer) => conn.read(buffer),
    write: (data) => {
      if (writes++ === 1) session.releaseHeld();
      return conn.write(data);
    },
    close: () => conn.close(),
    ...(conn.flush ? { flush: () => conn.flush!() } : {}),
  };
}

function logTransfer(
  session: Session,
  verb: string,
  path: string,
  bytes: number,
  started: number,
  ok: boolean,
): void {
  const ms = Math.round(performance.now() - started);
  const type = session.transferType;
  // Written once the final reply is out: the client need not wait for the log.
  const anonymous = session.anonymous || undefined;
  session.afterReply(() => session.log("transfer", { verb, path, bytes, ms, type, ok, anonymous }));
}

function aborted(signal: AbortSignal, error: unknown): FtpError {
  if (signal.aborted) return new FtpError(ReplyCode.TransferAborted, "Transfer aborted.");
  if (error instanceof FtpError) return error;
  return new FtpError(ReplyCode.TransferAborted, "Data connection closed; transfer aborted.", {
    cause: error,
  });
}

/** RETR: sends a file, from the REST offset if one was given. */
export async function retr(
  session: Session,
  argument: string,
  signal: AbortSignal,
): Promise<HandlerReply> {
  const path = session.resolve(argument);
  refuseUploadTemp(path);
  const offset = session.sequence.offsetFor("RETR");
  const file = await session.fs.openRead(path, offset);
  if (offset > file.size) {
    file.close();
    throw new FtpError(ReplyCode.InvalidRestart, `Restart offset ${offset} is beyond end of file.`);
  }
  const started = performance.now();
  let bytes = 0;
  try {
    const conn = await pacedData(
      session,
      "download",
      signal,
      openData(
        session,
        signal,
        `Opening ${modeName(session)} mode data connection for ${posix.basename(path)} (${
          file.size - offset
        } bytes).`,
        file.size - offset <= HOLD_BYTES,
      ),
    );
    try {
      bytes = await sendFile(
        file,
        conn,
        session.transferType === "A",
        session.context.config.dataTimeoutMs,
        file.size - offset,
      );
    } catch (error) {
      throw aborted(signal, error);
    }
  } catch (error) {
    logTransfer(session, "RETR", path, bytes, started, false);
    throw error;
  } finally {
    file.close();
  }
  logTransfer(session, "RETR", path, bytes, started, true);
  return { code: ReplyCode.ClosingData, text: "Transfer complete." };
}

export { isUploadTemp };

/** Refuses (553) a path whose last part is an upload's temporary name. */
export function refuseUploadTemp(path: string): void {
  if (isUploadTemp(posix.basename(path))) {
    throw new FtpError(ReplyCode.BadFileName, "File name not allowed.");
  }
}

/** The data connection held to the user's and the server's rate caps (itself when none). */
async function pacedData(
  session: Session,
  direction: Direction,
  signal: AbortSignal,
  opening: Promise<DataStream>,
): Promise<DataStream> {
  const conn = await opening;
  const account = session.account;
  if (!account) return conn;
  return pacedStream(
    conn,
    session.context.limits.buckets(account.name, account.settings, direction),
    signal,
  );
}

/**
 * Checks before a data connection opens that an upload to `path` can be
 * created; returns the size of the file there now, if there is one.
 */
async function checkUploadTarget(session: Session, path: string): Promise<number | undefined> {
  if (path === "/") throw new FtpError(ReplyCode.FileUnavailable, "Is a directory.");
  refuseUploadTemp(path);
  const parent = await session.fs.stat(posix.dirname(path)).catch(() => undefined);
  if (parent?.type !== "dir") {
    throw new FtpError(ReplyCode.FileUnavailable, "No such directory.");
  }
  const existing = session.fs.exists?.(path) === false
    ? undefined // a new name: no stat (and no error object) needed
    : await session.fs.stat(path).catch(() => undefined);
  if (existing?.type === "dir") throw new FtpError(ReplyCode.FileUnavailable, "Is a directory.");
  return existing?.size;
}

/** The quota account of the logged-in user. */
function quotaAccount(session: Session): QuotaAccount | undefined {
  const account = session.account;
  if (!account) return undefined;
  return { ledger: session.context.limits.ledger, home: account.home, settings: account.settings };
}

/** Puts back what an upload stopped by its quota wrote: cut back to its old length, or removed. */
async function undoUpload(session: Session, path: string, quota: UploadQuota): Promise<void> {
  try {
    if (quota.keep > 0) await session.fs.truncate(path, quota.keep);
    else await session.fs.remove(path);
  } catch {
    // Gone already (a client's DELE): nothing to put back.
  }
  quota.undone();
}

interface UploadOptions {
  verb: "STOR" | "APPE" | "STOU";
  path: string;
  preliminary: string;
  openOptions: { offset?: number; append?: boolean; createNew?: boolean };
}

/** The upload writes to a temporary name and renames it over the target (`--atomic-uploads`). */
function isAtomic(session: Session, options: UploadOptions): boolean {
  const { offset, append } = options.openOptions;
  return session.context.config.atomicUploads && !append && !(offset && offset > 0);
}

/** Moves a finished atomic upload's temporary file over its target, keeping the target's mode. */
async function commitUpload(session: Session, temp: string, options: UploadOptions): Promise<void> {
  const existing = await session.fs.stat(options.path).catch(() => undefined);
  if (existing && options.verb === "STOU") {
    throw new FtpError(ReplyCode.FileUnavailable, "File exists.");
  }
  if (options.verb === "STOU") {
    // Claim the unique name with O_EXCL before renaming onto it: another instance on a
    // shared root may have chosen the same name meanwhile, and its file must not be replaced.
    const claim = await session.fs.openWrite(options.path, { createNew: true }).catch(() => {
      throw new FtpError(ReplyCode.FileUnavailable, "File exists.");
    });
    claim.close();
  }
  if (existing?.type === "file" && existing.mode !== undefined) {
    await session.fs.chmod(temp, existing.mode);
  }
  await session.fs.rename(temp, options.path);
}

async function upload(
  session: Session,
  signal: AbortSignal,
  options: UploadOptions,
): Promise<void> {
  const { verb, path } = options;
  const existing = await checkUploadTarget(session, path);
  await checkPreHooks(session, { kind: "pre-upload", verb, path });
  const temp = isAtomic(session, options) ? uploadTempPath(path, session.id) : undefined;
  const account = quotaAccount(session);
  const { offset = 0, append = false } = options.openOptions;
  // A new file past the file quota is refused here, before any data moves.
  const quota = account &&
    await UploadQuota.begin(
      account,
      temp ?? path,
      temp ? undefined : existing,
      append ? existing ?? 0 : offset,
      temp ? existing : undefined,
    );
  if (temp && existing !== undefined) quota?.replacesFile();
  let conn: Awaited<ReturnType<typeof openData>>;
  try {
    conn = await pacedData(
      session,
      "upload",
      signal,
      openData(session, signal, options.preliminary),
    );
  } catch (error) {
    quota?.cancel(); // no data connection: nothing was written
    throw error;
  }
  const started = performance.now();
  let bytes = 0;
  let file: StorageFile | undefined;
  let done = false;
  let overQuota = false;
  try {
    file = await session.fs.openWrite(
      temp ?? path,
      temp ? { createNew: true } : options.openOptions,
    );
    try {
      bytes = await receiveFile(
        conn,
        quota ? chargedFile(file, quota) : file,
        session.transferType === "A",
        session.context.config.dataTimeoutMs,
      );
    } catch (error) {
      overQuota = error instanceof QuotaExceededError;
      const connectionFailed = error instanceof FtpError || error instanceof DataConnectionError;
      throw connectionFailed || signal.aborted ? aborted(signal, error) : error;
    } finally {
      file.close();
    }
    if (temp) {
      await commitUpload(session, temp, options);
      quota?.replaced();
    }
    done = true;
  } finally {
    // Only a temporary file this upload created is removed; the target is never touched,
    // but for an upload stopped by its quota, which takes back what it wrote.
    if (temp && file && !done) {
      await session.fs.remove(temp).catch(() => {});
      quota?.undone();
    } else if (overQuota && quota) {
      await undoUpload(session, path, quota);
    } else if (!file && quota) {
      quota.cancel(); // the file was never opened: nothing changed on disk
    }
    quota?.settle();
    logTransfer(session, verb, path, bytes, started, done);
  }
}

/** STOR: receives a file, replacing it, or from the REST offset on. */
export async function stor(
  session: Session,
  argument: string,
  signal: AbortSignal,
): Promise<HandlerReply> {
  const path = session.resolve(argument);
  const offset = session.sequence.offsetFor("STOR");
  if (offset > 0) {
    const existing = await session.fs.stat(path).catch(() => undefined);
    if (!existing || offset > existing.size) {
      throw new FtpError(
        ReplyCode.InvalidRestart,
        `Restart offset ${offset} is beyond end of file.`,
      );
    }
  }
  await upload(session, signal, {
    verb: "STOR",
    path,
    preliminary: `Ok to send data for ${posix.basename(path)}.`,
    openOptions: offset > 0 ? { offset } : {},
  });
  return { code: ReplyCode.ClosingData, text: "Transfer complete." };
}

/** APPE: receives data appended to a file (created if missing). */
export async function appe(
  session: Session,
  argument: string,
  signal: AbortSignal,
): Promise<HandlerReply> {
  const path = session.resolve(argument);
  await upload(session, signal, {
    verb: "APPE",
    path,
    preliminary: `Ok to append data to ${posix.basename(path)}.`,
    openOptions: { append: true },
  });
  return { code: ReplyCode.ClosingData, text: "Transfer complete." };
}

/** STOU: receives a file under a name that does not exist yet (RFC 1123 "FILE: name"). */
export async function stou(
  session: Session,
  argument: string,
  signal: AbortSignal,
): Promise<HandlerReply> {
  const base = argument.trim() === ""
    ? session.resolve(`ferry.${crypto.randomUUID().slice(0, 8)}`)
    : session.resolve(argument);
  let path = base;
  for (let suffix = 1; await session.fs.stat(path).then(() => true, () => false); suffix++) {
    if (suffix > 1000) throw new FtpError(ReplyCode.FileUnavailable, "No unique name found.");
    path = `${base}.${suffix}`;
  }
  const name = posix.basename(path);
  await upload(session, signal, {
    verb: "STOU",
    path,
    preliminary: `FILE: ${name}`,
    openOptions: { createNew: true },
  });
  return { code: ReplyCode.ClosingData, text: `Transfer complete (unique file name: ${name}).` };
}

/** The path argument of LIST/NLST/STAT, without the `ls` options (`-la`) some clients send. */
function listingPath(argument: string): string {
  let rest = argument.trim();
  while (/^-[A-Za-z]+(\s+|$)/.test(rest)) rest = rest.replace(/^-[A-Za-z]+\s*/, "");
  return rest === "" ? "." : rest;
}

/** The entries to list at `path`: a directory's entries in batches, or a file by itself. */
async function* entriesAt(
  session: Session,
  path: string,
  directoryOnly = false,
): AsyncIterable<StorageEntry[]> {
  const entry = await session.fs.stat(path);
  if (entry.type !== "dir") {
    if (directoryOnly) throw new FtpError(ReplyCode.ArgumentSyntaxError, "Not a directory.");
    yield [entry];
    return;
  }
  for await (const batch of session.fs.list(path)) {
    yield batch.filter((item) => !isUploadTemp(item.name));
  }
}

async function* formatBatches(
  batches: AsyncIterable<StorageEntry[]>,
  format: (entry: StorageEntry) => string,
): AsyncIterable<string[]> {
  for await (const batch of batches) yield batch.map(format);
}

/** Starts listing before the data connection opens, so a missing path gets 550 without a 150. */
async function primed<T>(iterable: AsyncIterable<T>): Promise<AsyncIterable<T>> {
  const iterator = iterable[Symbol.asyncIterator]();
  const first = await iterator.next();
  return {
    async *[Symbol.asyncIterator]() {
      if (!first.done) yield first.value;
      while (true) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    },
  };
}

async function sendListing(
  session: Session,
  signal: AbortSignal,
  verb: string,
  path: string,
  lines: AsyncIterable<string[]>,
): Promise<HandlerReply> {
  const ready = await primed(lines);
  const conn = await openData(session, signal, "Here comes the directory listing.", true);
  const started = performance.now();
  const guard = new StallGuard(conn, session.context.config.dataTimeoutMs);
  let bytes = 0;
  try {
    for await (const batch of ready) {
      if (batch.length === 0) continue;
      const data = encoder.encode(batch.join("\r\n") + "\r\n");
      bytes += data.length;
      await writeAll(conn, data, guard);
    }
    await conn.flush?.();
  } catch (error) {
    logTransfer(session, verb, path, bytes, started, false);
    throw aborted(signal, error);
  } finally {
    guard.stop();
  }
  logTransfer(session, verb, path, bytes, started, true);
  return { code: ReplyCode.ClosingData, text: "Directory send OK." };
}

/** LIST: `ls -l` lines for a directory or one file. */
export function list(
  session: Session,
  argument: string,
  signal: AbortSignal,
): Promise<HandlerReply> {
  const path = session.resolve(listingPath(argument));
  const now = new Date();
  return sendListing(
    session,
    signal,
    "LIST",
    path,
    formatBatches(entriesAt(session, path), (entry) => formatListLine(entry, now)),
  );
}

/** NLST: names only. */
export function nlst(
  session: Session,
  argument: string,
  signal: AbortSignal,
): Promise<HandlerReply> {
  const path = session.resolve(listingPath(argument));
  return sendListing(
    session,
    signal,
    "NLST",
    path,
    formatBatches(entriesAt(session, path), (entry) => entry.name),
  );
}

/** MLSD (RFC 3659): machine-readable facts for each entry of a directory. */
export function mlsd(
  session: Session,
  argument: string,
  signal: AbortSignal,
): Promise<HandlerReply> {
  const path = session.resolve(argument.trim() === "" ? "." : argument);
  return sendListing(
    session,
    signal,
    "MLSD",
    path,
    formatBatches(entriesAt(session, path, true), mlsxFormatter(session)),
  );
}

/** ABOR: stops the running transfer (which answers 426), then answers 226. */
export async function abor(session: Session): Promise<HandlerReply> {
  if (await session.abortTransfer()) {
    return { code: ReplyCode.ClosingData, text: "ABOR command successful." };
  }
  session.dataChannel?.close();
  session.dataChannel = undefined;
  return { code: ReplyCode.DataOpenNoTransfer, text: "No transfer to abort." };
}

/** STAT: the session's status, or a listing of a path over the control connection. */
export async function stat(session: Session, argument: string): Promise<HandlerReply> {
  if (argument.trim() === "" || session.transferring) {
    const lines = [
      "ferry FTP server status:",
      `Connected to ${session.peerAddress}`,
      session.user && session.sequence.login === "logged-in"
        ? `Logged in as ${session.user}`
        : "Not logged in",
      `TYPE: ${modeName(session)}, STRUcture: File, MODE: Stream`,
      session.checksumStatus ??
        (session.transferring ? "Transfer in progress" : "No data connection"),
      "End of status",
    ];
    return { code: ReplyCode.SystemStatus, text: lines };
  }
  if (session.sequence.login !== "logged-in") {
    throw new FtpError(ReplyCode.NotLoggedIn, "Please login with USER and PASS.");
  }
  if (!session.permissions.includes("l")) {
    throw new FtpError(ReplyCode.FileUnavailable, "Permission denied.");
  }
  const path = session.resolve(listingPath(argument));
  const now = new Date();
  const lines = await primed(
    formatBatches(entriesAt(session, path), (entry) => formatListLine(entry, now)),
  );
  await session.sendLines(ReplyCode.FileStatus, `Status of ${path}:`, lines);
  return { code: ReplyCode.FileStatus, text: "End of status." };
}
