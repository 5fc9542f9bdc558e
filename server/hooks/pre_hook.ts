/**
 * The pre-upload and pre-delete checks as the handlers call them.
 *
 * @module
 */

import { ReplyCode } from "../../protocol/reply.ts";
import { FtpError } from "../ftp_error.ts";
import type { PreEventName } from "./hook_config.ts";
import type { HookRunner, HookSession } from "./hook_runner.ts";

/**
 * Runs the `kind` pre-hooks (if any are configured) before `verb` acts on
 * `path`, and throws a 550 {@linkcode FtpError} with the hook's text when
 * one refuses.
 *
 * @example
 * ```ts
 * await checkPreHooks(session.context.hooks, "pre-delete", session, "DELE", target);
 * ```
 */
export async function checkPreHooks(
  hooks: HookRunner | undefined,
  kind: PreEventName,
  session: HookSession,
  verb: string,
  path: string,
): Promise<void> {
  if (!hooks?.has(kind)) return;
  const refusal = await hooks.check(kind, session, verb, path);
  if (refusal !== undefined) throw new FtpError(ReplyCode.FileUnavailable, refusal);
}
