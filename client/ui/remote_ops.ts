/**
 * Remote operations of the browser client that take more than one command:
 * deleting a folder with everything in it.
 *
 * @module
 */

import * as posix from "node:path/posix";
import { ClientError, ExitCode } from "../errors.ts";
import type { FtpClient } from "../ftp_client.ts";
import { MAX_DEPTH } from "../transfer/mirror.ts";

/**
 * Deletes a remote file, or a folder and everything in it (deepest first).
 * Names with "/" in a listing cannot be addressed and make the delete fail.
 *
 * @example
 * ```ts ignore
 * await removeRemote(client, "/old", "dir");
 * ```
 */
export async function removeRemote(
  client: FtpClient,
  target: string,
  type: "file" | "dir",
  depth = 0,
): Promise<void> {
  if (type !== "dir") return await client.remove(target);
  if (depth > MAX_DEPTH) {
    throw new ClientError(`${target}: deeper than ${MAX_DEPTH} levels`, ExitCode.RemoteFile);
  }
  for (const entry of await client.list(target)) {
    if (entry.name.includes("/")) {
      throw new ClientError(
        `${target}: cannot address ${JSON.stringify(entry.name)}`,
        ExitCode.RemoteFile,
      );
    }
    await removeRemote(
      client,
      posix.join(target, entry.name),
      entry.type === "dir" ? "dir" : "file",
      depth + 1,
    );
  }
  await client.rmdir(target);
}
