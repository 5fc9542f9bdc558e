/**
 * `ferry client hash [--algo ALGO] URL…`: the server's checksum of remote
 * files, printed as `sha256sum` prints them (`HEX  NAME`), so the output
 * can be checked later with `sha256sum -c` next to the downloaded files.
 *
 * @module
 */

import * as posix from "node:path/posix";
import { type HashAlgorithm, parseHashAlgorithm } from "../../protocol/hash_algorithm.ts";
import { remoteChecksum } from "../checksum.ts";
import type { ClientContext } from "../context.ts";
import { ClientError, ExitCode } from "../errors.ts";
import { parseFtpUrl } from "../url.ts";

/** The `--algo` names `hash` takes. */
export const ALGO_CHOICES = ["sha256", "sha1", "sha512", "md5", "crc32"] as const;

/**
 * Parses an `--algo` value (`sha256`, `SHA-256`, `md5`, `crc32`, …).
 *
 * @throws {ClientError} Exit 2 for an unknown name.
 */
export function parseAlgo(name: string): HashAlgorithm {
  const algorithm = parseHashAlgorithm(name);
  if (!algorithm) {
    throw new ClientError(
      `Unknown checksum algorithm "${name}" (use ${ALGO_CHOICES.join(", ")})`,
      ExitCode.Usage,
    );
  }
  return algorithm;
}

/**
 * `hash URL…`: prints `HEX  NAME` for each remote file, NAME being the
 * file's last path part. The algorithm is SHA-256 unless `algo` says
 * otherwise; a server that cannot compute it is an error (exit 11), never
 * a silent switch to another algorithm.
 *
 * @throws {ClientError} Exit 11 if the server offers no such checksum, 5 if a file is missing.
 *
 * @example
 * ```ts
 * await hash(ctx, ["ftp://example.org/pub/a.iso"], { algo: "sha256" });
 * ```
 */
export async function hash(
  ctx: ClientContext,
  urls: readonly string[],
  options: { algo?: string } = {},
): Promise<string[]> {
  const algorithm = parseAlgo(options.algo ?? "sha256");
  const parsed = urls.map((text) => parseFtpUrl(text));
  const results: string[] = [];
  for (const url of parsed) {
    if (url.directory || posix.basename(url.path) === "") {
      throw new ClientError(`${url.path} names a directory, not a file`, ExitCode.Usage);
    }
    const line = await ctx.withClient(url, async (client) => {
      const size = await client.size(url.path).catch(() => undefined);
      const { hex } = await remoteChecksum(client, url.path, algorithm, {
        ...(size === undefined ? {} : { size }),
        timeoutMs: (ctx.options.timeout ?? 30) * 1000,
        host: url.host,
      });
      return `${hex}  ${posix.basename(url.path)}`;
    });
    await ctx.print(line);
    results.push(line);
  }
  return results;
}
