/**
 * The working directory and directories: PWD, CWD, CDUP, MKD, RMD.
 *
 * @module
 */

import { ReplyCode } from "../../protocol/reply.ts";
import { quotePath } from "../../protocol/virtual_path.ts";
import type { HandlerReply } from "../commands.ts";
import { FtpError } from "../ftp_error.ts";
import type { Session } from "../session.ts";
import { checkPreHooks } from "../hooks/pre_hook.ts";
import { loggedAction } from "../logged_action.ts";

/** PWD: the virtual working directory, quoted (RFC 959 Appendix II). */
export function pwd(session: Session): Promise<HandlerReply> {
  return Promise.resolve({
    code: ReplyCode.PathCreated,
    text: `${quotePath(session.cwd)} is the current directory.`,
  });
}

/** CWD: changes the working directory if the target is a directory inside the jail. */
export async function cwd(session: Session, argument: string): Promise<HandlerReply> {
  const target = session.resolve(argument);
  const entry = await session.fs.stat(target);
  if (entry.type !== "dir") throw new FtpError(ReplyCode.FileUnavailable, "Not a directory.");
  session.cwd = target;
  return { code: ReplyCode.FileActionOk, text: "Directory successfully changed." };
}

/** CDUP: CWD to the parent. */
export function cdup(session: Session, _argument: string): Promise<HandlerReply> {
  return cwd(session, "..");
}

/** MKD: creates a directory and answers with its quoted path. */
export async function mkd(session: Session, argument: string): Promise<HandlerReply> {
  const target = session.resolve(argument);
  await loggedAction(session, ["mkdir", { path: target }], () => session.fs.mkdir(target));
  return { code: ReplyCode.PathCreated, text: `${quotePath(target)} created.` };
}

/** RMD: removes an empty directory. */
export async function rmd(session: Session, argument: string): Promise<HandlerReply> {
  const target = session.resolve(argument);
  if (target === "/") throw new FtpError(ReplyCode.FileUnavailable, "Cannot remove the root.");
  await checkPreHooks(session, { kind: "pre-delete", verb: "RMD", path: target });
  await loggedAction(session, ["rmdir", { path: target }], () => session.fs.rmdir(target));
  if (session.cwd === target || session.cwd.startsWith(target + "/")) session.cwd = "/";
  return { code: ReplyCode.FileActionOk, text: "Directory removed." };
}
