/**
 * The pre-upload and pre-delete checks as the handlers call them.
 *
 * @module
 */

import { ReplyCode } from "../../protocol/reply.ts";
import { FtpError } from "../ftp_error.ts";
import type { HookRunner, HookSession, PreHookRequest } from "./hook_runner.ts";

/** A session as the pre-hook check needs it: who asks, and the server's hooks. */
export interface PreHookSession extends HookSession {
  /** The server context, with its hooks when any are configured. */
  readonly context: { readonly hooks?: HookRunner };
}

/**
 * Runs the request's pre-hooks (if any are configured) before its verb acts
 * on its path, and throws a 550 {@linkcode FtpError} with the hook's text
 * when one refuses.
 *
 * @example
 * ```ts
 * await checkPreHooks(session, { kind: "pre-delete", verb: "DELE", path: target });
 * ```
 */
export async function checkPreHooks(
  session: PreHookSession,
  request: PreHookRequest,
): Promise<void> {
  const hooks = session.context.hooks;
  if (!hooks?.has(request.kind)) return;
  const refusal = await hooks.check(session, request);
  if (refusal !== undefined) throw new FtpError(ReplyCode.FileUnavailable, refusal);
}
