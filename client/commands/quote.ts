/**
 * `ferry client quote URL CMD…`: sends one raw command and prints the reply.
 *
 * @module
 */

import { formatReplyLines, isNegativeReply, type Reply, ReplyCode } from "../../protocol/reply.ts";
import type { ClientContext } from "../context.ts";
import { ClientError, ExitCode, FtpReplyError } from "../errors.ts";
import { parseFtpUrl } from "../url.ts";

/**
 * Sends `words` joined by spaces as one command line (after changing to the
 * URL's directory when it is not "/"), prints the reply on stdout.
 *
 * @throws {FtpReplyError} After printing, if the reply is 4xx or 5xx.
 *
 * @example
 * ```ts ignore
 * await quote(ctx, "ftp://example.org/", ["SITE", "HELP"]);
 * ```
 */
export async function quote(
  ctx: ClientContext,
  urlText: string,
  words: readonly string[],
): Promise<Reply> {
  const url = parseFtpUrl(urlText);
  const line = words.join(" ").trim();
  if (line === "") throw new ClientError("No command given", ExitCode.Usage);
  const reply = await ctx.withClient(url, async (client) => {
    if (url.path !== "/") await client.cd(url.path);
    return await client.quote(line);
  });
  for (const text of formatReplyLines(reply)) await ctx.print(text);
  if (isNegativeReply(reply.code)) {
    const verb = line.split(" ")[0]!.toUpperCase();
    throw new FtpReplyError(
      verb,
      reply,
      reply.code === ReplyCode.NotLoggedIn ? ExitCode.Login : undefined,
    );
  }
  return reply;
}
