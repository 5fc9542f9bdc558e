/**
 * File checksums: HASH and OPTS HASH (draft-bryan-ftpext-hash-02), RANG for
 * partial hashes (draft-bryan-ftp-range, applied to HASH only), and the
 * one-algorithm verbs XCRC, XMD5, XSHA1, XSHA256 and XSHA512 with their
 * optional start and end offsets. All read with permission `r` inside the
 * jail, regular files only, up to `--hash-max-size` bytes, one at a time per
 * session, in the background (see {@linkcode CommandSpec.background}).
 *
 * @module
 */

import {
  type ByteRange,
  formatHashFeat,
  formatHashReply,
  HASH_ALGORITHMS,
  type HashAlgorithm,
  parseHashAlgorithm,
  parseXHashArgument,
  X_HASH_VERBS,
} from "../../protocol/hash_algorithm.ts";
import { ReplyCode } from "../../protocol/reply.ts";
import { checksumFile } from "../data/checksum.ts";
import type { CommandSpec, HandlerReply } from "../commands.ts";
import type { ServerConfig } from "../config.ts";
import { FtpError } from "../ftp_error.ts";
import type { Session } from "../session.ts";
import { refuseUploadTemp } from "./transfers.ts";

/** True when the server offers checksums (not `--no-hash`). */
export function hashEnabled(config: ServerConfig): boolean {
  return config.hash;
}

/** The FEAT lines for checksums: HASH with the session's algorithm starred, and the X-verbs. */
export function checksumFeatures(session: Session): string[] {
  if (!hashEnabled(session.context.config)) return [];
  return [formatHashFeat(session.hashAlgorithm), ...Object.keys(X_HASH_VERBS)];
}

/** OPTS HASH [name]: shows or selects the algorithm HASH uses (501 for an unknown one). */
export function optsHash(session: Session, options: string): HandlerReply {
  const name = options.trim();
  if (name === "") return { code: ReplyCode.Ok, text: session.hashAlgorithm };
  const algorithm = parseHashAlgorithm(name);
  if (!algorithm || !HASH_ALGORITHMS.includes(algorithm) || /\s/.test(name)) {
    return {
      code: ReplyCode.ArgumentSyntaxError,
      text: "Unknown algorithm, current selection not changed.",
    };
  }
  session.hashAlgorithm = algorithm;
  return { code: ReplyCode.Ok, text: algorithm };
}

/**
 * RANG start end: the inclusive byte range the next HASH covers ("RANG 1 0"
 * resets it). A transfer command right after RANG is refused (504), since
 * ferry's RETR and STOR do not take ranges; any other command drops it.
 */
export function rang(session: Session, argument: string): Promise<HandlerReply> {
  const match = /^(\d{1,16})\s+(\d{1,16})$/.exec(argument.trim());
  const start = Number(match?.[1]);
  const end = Number(match?.[2]);
  session.hashRange = undefined;
  if (!match || !Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw new FtpError(ReplyCode.ArgumentSyntaxError, "Syntax: RANG <start> <end>.");
  }
  if (start === 1 && end === 0) {
    return Promise.resolve({ code: ReplyCode.PendingFurtherInfo, text: "Byte range reset." });
  }
  if (start > end) {
    throw new FtpError(ReplyCode.ArgumentSyntaxError, "RANG start is after its end; range reset.");
  }
  session.hashRange = { start, end };
  return Promise.resolve({
    code: ReplyCode.PendingFurtherInfo,
    text: `Restarting at ${start}. End byte range at ${end}.`,
  });
}

interface ChecksumJob {
  verb: string;
  path: string;
  algorithm: HashAlgorithm;
  /** First byte. */
  start: number;
  /** Bytes to hash. */
  length: number;
}

/** Opens, hashes and closes; keeps the session's STAT line current and logs the outcome. */
async function run(session: Session, job: ChecksumJob, signal: AbortSignal): Promise<string> {
  const file = await session.fs.openRead(job.path, job.start);
  const started = performance.now();
  let bytes = 0;
  const status = (done: number) =>
    `${job.verb} ${job.algorithm} of ${job.path} in progress: ${done} of ${job.length} bytes`;
  session.checksumStatus = status(0);
  let ok = false;
  try {
    const hex = await checksumFile(file, job.length, job.algorithm, {
      signal,
      onProgress: (done) => {
        bytes = done;
        session.checksumStatus = status(done);
      },
    });
    ok = true;
    return hex;
  } finally {
    file.close();
    session.checksumStatus = undefined;
    const ms = Math.round(performance.now() - started);
    const { verb, path, algorithm } = job;
    session.afterReply(() => session.log("checksum", { verb, path, algorithm, bytes, ms, ok }));
  }
}

/** The regular file at `path`, or the reply the draft gives for what is there instead. */
async function regularFileSize(session: Session, path: string, dirCode: number): Promise<number> {
  refuseUploadTemp(path);
  const entry = await session.fs.stat(path);
  if (entry.type === "dir") throw new FtpError(dirCode, "Is a directory, not a regular file.");
  if (entry.type !== "file") throw new FtpError(ReplyCode.FileUnavailable, "Not a regular file.");
  return entry.size;
}

function checkSize(session: Session, length: number, code: number): void {
  const max = session.context.config.hashMaxSize;
  if (length > max) {
    throw new FtpError(code, `Checksums are limited to ${max} bytes by server policy.`);
  }
}

/**
 * HASH path: the checksum of a file (or of the RANG range) with the
 * session's algorithm: `213 <ALGO> <start>-<end> <hex> <path>`. Refusals as
 * the draft gives them: 552 without read permission, 553 for a directory,
 * 550 for a missing or special file, 556 over `--hash-max-size`, 450 while
 * another checksum runs.
 */
export async function hash(
  session: Session,
  argument: string,
  signal: AbortSignal,
): Promise<HandlerReply> {
  const range: ByteRange | undefined = session.hashRange;
  session.hashRange = undefined;
  if (!session.permissions.includes("r")) {
    throw new FtpError(ReplyCode.HashNotAllowed, "Permission denied.");
  }
  const path = session.resolve(argument);
  const size = await regularFileSize(session, path, ReplyCode.BadFileName);
  const start = range?.start ?? 0;
  if (start > size) {
    throw new FtpError(ReplyCode.InvalidRestart, `Range start ${start} is beyond end of file.`);
  }
  // The range's end is inclusive; past the end of the file it stops there (as RETR would).
  const end = Math.min(range?.end ?? size - 1, size - 1);
  const length = Math.max(0, end - start + 1);
  checkSize(session, length, ReplyCode.HashPolicyRefused);
  const algorithm = session.hashAlgorithm;
  const hex = await run(session, { verb: "HASH", path, algorithm, start, length }, signal);
  return {
    code: ReplyCode.FileStatus,
    text: formatHashReply(algorithm, { start, end: start + length - 1 }, hex, argument.trim()),
  };
}

/**
 * The handler of one X-verb: `XCRC path [start end]` and the like answer
 * `250 <hex>`; the end offset is exclusive and within the file, as
 * GlobalSCAPE and ProFTPD read it. A path that exists as written wins over
 * reading its last two words as offsets.
 */
function xHandler(verb: string, algorithm: HashAlgorithm) {
  return async (session: Session, argument: string, signal: AbortSignal) => {
    let parsed = parseXHashArgument(argument);
    if (parsed.start !== undefined && !argument.trim().startsWith('"')) {
      const whole = await session.fs.stat(session.resolve(argument.trim())).catch(() => undefined);
      if (whole) parsed = { path: argument.trim() };
    }
    const path = session.resolve(parsed.path);
    const size = await regularFileSize(session, path, ReplyCode.FileUnavailable);
    const start = parsed.start ?? 0;
    const end = parsed.end ?? size;
    if (parsed.start !== undefined) {
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end > size) {
        throw new FtpError(ReplyCode.ArgumentSyntaxError, `${verb}: end exceeds file size.`);
      }
      if (start >= end) {
        throw new FtpError(ReplyCode.ArgumentSyntaxError, `${verb}: start must be below end.`);
      }
    }
    checkSize(session, end - start, ReplyCode.FileUnavailable);
    const hex = await run(session, { verb, path, algorithm, start, length: end - start }, signal);
    return { code: ReplyCode.FileActionOk, text: hex };
  };
}

/** The command table's rows for the checksum verbs (merged into COMMANDS). */
export const CHECKSUM_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  HASH: {
    handler: hash,
    argument: "required",
    background: true,
    available: hashEnabled,
    help: "HASH <path>",
  },
  RANG: {
    handler: rang,
    argument: "required",
    available: hashEnabled,
    help: "RANG <start> <end> (for HASH; RANG 1 0 resets)",
  },
  ...Object.fromEntries(
    Object.entries(X_HASH_VERBS).map(([verb, algorithm]) => [
      verb,
      {
        handler: xHandler(verb, algorithm),
        argument: "required",
        permission: "r",
        background: true,
        available: hashEnabled,
        help: `${verb} <path> [<start> <end>]`,
      } satisfies CommandSpec,
    ]),
  ),
};
