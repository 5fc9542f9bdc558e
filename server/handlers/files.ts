/**
 * Commands on single files: DELE, RNFR, RNTO, SIZE, MDTM, MFMT, MLST, REST,
 * SITE.
 *
 * @module
 */

import { formatBytes } from "../../protocol/size.ts";
import * as posix from "node:path/posix";
import { formatMlsxFacts, formatMlsxTime, parseMlsxTime } from "../../protocol/listing.ts";
import { ReplyCode } from "../../protocol/reply.ts";
import type { HandlerReply } from "../commands.ts";
import { FtpError } from "../ftp_error.ts";
import type { Session } from "../session.ts";
import type { StorageEntry } from "../storage/storage.ts";
import { asciiSize } from "../data/transfer.ts";
import { refuseUploadTemp } from "./transfers.ts";
import { checkPreHooks } from "../hooks/pre_hook.ts";
import { loggedAction } from "../logged_action.ts";

/** DELE: removes a file. */
export async function dele(session: Session, argument: string): Promise<HandlerReply> {
  const target = session.resolve(argument);
  refuseUploadTemp(target);
  await checkPreHooks(session, { kind: "pre-delete", verb: "DELE", path: target });
  const size = await session.fs.stat(target).then((entry) => entry.size, () => 0);
  await loggedAction(session, ["delete", { path: target }], () => session.fs.remove(target));
  usageChanged(session, target, -size, -1);
  return { code: ReplyCode.FileActionOk, text: "File deleted." };
}

/** RNFR: names the file to rename; RNTO must follow. */
export async function rnfr(session: Session, argument: string): Promise<HandlerReply> {
  const source = session.resolve(argument);
  if (source === "/") throw new FtpError(ReplyCode.FileUnavailable, "Cannot rename the root.");
  refuseUploadTemp(source);
  await session.fs.stat(source);
  return { code: ReplyCode.PendingFurtherInfo, text: "Ready for RNTO.", detail: source };
}

/** RNTO: renames the file named by RNFR. */
export async function rnto(session: Session, argument: string): Promise<HandlerReply> {
  const source = session.sequence.renameFrom!;
  const target = session.resolve(argument);
  refuseUploadTemp(target);
  const moved = await session.fs.stat(source).catch(() => undefined);
  const replaced = await session.fs.stat(target).catch(() => undefined);
  await loggedAction(
    session,
    ["rename", { from: source, to: target }],
    () => session.fs.rename(source, target),
  );
  if (moved?.type === "file") {
    usageChanged(session, source, -moved.size, -1);
    usageChanged(session, target, moved.size - (replaced?.size ?? 0), replaced ? 0 : 1);
  } else if (moved?.type === "dir" && posix.dirname(source) !== posix.dirname(target)) {
    // A tree moved between folders may leave one home for another: count again when needed.
    session.context.limits.ledger.forget();
  }
  return { code: ReplyCode.FileActionOk, text: "Rename successful." };
}

/** Records a change of `bytes` and `files` at `path` (in the session's home) for quotas. */
function usageChanged(session: Session, path: string, bytes: number, files: number): void {
  const account = session.account;
  if (!account) return;
  session.context.limits.ledger.apply(posix.join(account.home, path), bytes, files);
}

async function regularFile(session: Session, path: string): Promise<StorageEntry> {
  const entry = await session.fs.stat(path);
  if (entry.type !== "file") throw new FtpError(ReplyCode.FileUnavailable, "Not a regular file.");
  return entry;
}

/** SIZE (RFC 3659): the size in the current TYPE (TYPE A counts the CR added before each LF). */
export async function size(session: Session, argument: string): Promise<HandlerReply> {
  const target = session.resolve(argument);
  const entry = await regularFile(session, target);
  const bytes = session.transferType === "A" ? await asciiSize(session.fs, target) : entry.size;
  return { code: ReplyCode.FileStatus, text: String(bytes) };
}

/** MDTM (RFC 3659): the modification time, UTC. */
export async function mdtm(session: Session, argument: string): Promise<HandlerReply> {
  const entry = await regularFile(session, session.resolve(argument));
  return { code: ReplyCode.FileStatus, text: formatMlsxTime(entry.mtime) };
}

/** MFMT: sets the modification time ("MFMT YYYYMMDDHHMMSS path"). */
export async function mfmt(session: Session, argument: string): Promise<HandlerReply> {
  const space = argument.indexOf(" ");
  let time: Date;
  try {
    if (space < 0) throw new SyntaxError("No path");
    time = parseMlsxTime(argument.slice(0, space));
  } catch {
    throw new FtpError(ReplyCode.ArgumentSyntaxError, "Syntax: MFMT YYYYMMDDHHMMSS path.");
  }
  const target = session.resolve(argument.slice(space + 1));
  await session.fs.setModified(target, time);
  session.log("mfmt", { path: target });
  return {
    code: ReplyCode.FileStatus,
    text: `Modify=${formatMlsxTime(time)}; ${posix.basename(target) || "/"}`,
  };
}

/** The RFC 3659 `perm` fact for an entry, from the user's permission letters. */
export function permFact(entry: StorageEntry, permissions: string): string {
  const has = (letter: string) => permissions.includes(letter);
  let perm = "";
  if (entry.type === "dir") {
    if (has("w")) perm += "c";
    if (has("d")) perm += "d";
    if (has("e")) perm += "e";
    if (has("f")) perm += "f";
    if (has("l")) perm += "l";
    if (has("m")) perm += "m";
    if (has("d")) perm += "p";
  } else {
    if (has("a")) perm += "a";
    if (has("d")) perm += "d";
    if (has("f")) perm += "f";
    if (has("r")) perm += "r";
    if (has("w")) perm += "w";
  }
  return perm;
}

/** The MLSx facts line for an entry, with the session's enabled facts. */
export function mlsxLine(session: Session, entry: StorageEntry, name = entry.name): string {
  return formatMlsxFacts(
    name === entry.name ? entry : { ...entry, name },
    { facts: session.mlstFacts, perm: permFact(entry, session.permissions), unique: entry.unique },
  );
}

/**
 * {@linkcode mlsxLine} for the many entries of one MLSD: the two perm values
 * (directories and the rest) are worked out once, and no entry is copied.
 */
export function mlsxFormatter(session: Session): (entry: StorageEntry) => string {
  const dirPerm = permFact({ type: "dir" } as StorageEntry, session.permissions);
  const filePerm = permFact({ type: "file" } as StorageEntry, session.permissions);
  return (entry) =>
    formatMlsxFacts(entry, {
      facts: session.mlstFacts,
      perm: entry.type === "dir" ? dirPerm : filePerm,
      unique: entry.unique,
    });
}

/** MLST (RFC 3659): the facts of one entry, over the control connection. */
export async function mlst(session: Session, argument: string): Promise<HandlerReply> {
  const target = session.resolve(argument.trim() === "" ? "." : argument);
  const entry = await session.fs.stat(target);
  return {
    code: ReplyCode.FileActionOk,
    text: [`Listing ${target}`, ` ${mlsxLine(session, entry, target)}`, "End"],
  };
}

/** REST (RFC 3659 STREAM mode): the byte offset for the next RETR, STOR or APPE. */
export function rest(_session: Session, argument: string): Promise<HandlerReply> {
  const text = argument.trim();
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new FtpError(ReplyCode.ArgumentSyntaxError, "REST needs a byte offset.");
  }
  const offset = Number(text);
  return Promise.resolve({
    code: ReplyCode.PendingFurtherInfo,
    text: `Restarting at ${offset}. Send STORE or RETRIEVE to initiate transfer.`,
    detail: offset,
  });
}

/** SITE: HELP and CHMOD. */
export async function site(session: Session, argument: string): Promise<HandlerReply> {
  const match = /^(\S+)\s*(.*)$/.exec(argument.trim());
  const sub = match?.[1]?.toUpperCase();
  if (sub === "HELP") {
    return {
      code: ReplyCode.Help,
      text: ["SITE commands:", "CHMOD <mode> <path>", "HELP", "QUOTA", "End"],
    };
  }
  if (sub === "QUOTA") return await siteQuota(session);
  if (sub === "CHMOD") {
    if (!session.permissions.includes("M")) {
      throw new FtpError(ReplyCode.FileUnavailable, "Permission denied.");
    }
    const chmod = /^([0-7]{1,4})\s+(.+)$/.exec(match?.[2] ?? "");
    if (!chmod) throw new FtpError(ReplyCode.ArgumentSyntaxError, "Syntax: SITE CHMOD mode path.");
    const target = session.resolve(chmod[2]!);
    await session.fs.chmod(target, parseInt(chmod[1]!, 8));
    session.log("chmod", { path: target, mode: chmod[1] });
    return { code: ReplyCode.Ok, text: "SITE CHMOD command successful." };
  }
  throw new FtpError(ReplyCode.NotImplemented, `SITE ${sub ?? ""} not implemented.`);
}

/** A quota figure: plain bytes when small, else human units with the exact count. */
function quotaBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${formatBytes(bytes)} (${bytes} bytes)`;
}

/** SITE QUOTA: the user's usage and limits (bytes and files under the home), and rates. */
async function siteQuota(session: Session): Promise<HandlerReply> {
  const account = session.account;
  if (!account) throw new FtpError(ReplyCode.NotLoggedIn, "Not logged in.");
  const { settings } = account;
  const usage = await session.context.limits.ledger.usage(account.home);
  const limit = (value: number | undefined, format: (n: number) => string) =>
    value === undefined ? "unlimited" : format(value);
  const rate = (value: number | undefined) =>
    value === undefined ? "unlimited" : `${quotaBytes(value)}/s`;
  return {
    code: ReplyCode.Ok,
    text: [
      `Quota for ${account.name}:`,
      `Size: ${quotaBytes(usage.bytes)} used of ${limit(settings.quotaSize, quotaBytes)}`,
      `Files: ${usage.files} used of ${limit(settings.quotaFiles, String)}`,
      `Upload rate: ${rate(settings.uploadRate)}`,
      `Download rate: ${rate(settings.downloadRate)}`,
      `Sessions: at most ${limit(settings.maxSessions, String)}`,
      "End",
    ],
  };
}
