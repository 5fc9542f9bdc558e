/**
 * `ferry client quote URL CMD…`: sends one raw command and prints the reply.
 *
 * @module
 */

import type { Reply } from "../../protocol/reply.ts";
import type { ClientContext } from "../context.ts";
import { ClientError, ExitCode, FtpReplyError } from "../errors.ts";
import { parseFtpUrl } from "../url.ts";

/**
 * The reply as the server sent it: "CODE-text" for the first line of a
 * multi-line reply, "CODE text" for the last.
 *
 * @example
 * ```ts
 * formatReplyLines({ code: 213, lines: ["42"] }); // ["213 42"]
 * ```
 */
export function formatReplyLines(reply: Reply): string[] {
  const last = reply.lines.length - 1;
  return reply.lines.map((line, i) =>
    i === last ? `${reply.code} ${line}` : i === 0 ? `${reply.code}-${line}` : line
  );
}

/**
 * Sends `words` joined by spaces as one command line (after changing to the
 * URL's directory when it is not "/"), prints the reply on stdout.
 *
 * @throws {FtpReplyError} After printing, if the reply is 4xx or 5xx.
 *
 * @example
 * ```ts
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
  if (reply.code >= 400) {
    const verb = line.split(" ")[0]!.toUpperCase();
    throw new FtpReplyError(verb, reply, reply.code === 530 ? ExitCode.Login : undefined);
  }
  return reply;
}
