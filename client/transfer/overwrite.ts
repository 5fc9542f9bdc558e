/**
 * The one place that decides what happens when a transfer's destination
 * already exists: fail (the default, never destroys data), overwrite, skip,
 * rename (keep both) or continue (resume with REST). `get`, `put`, `mirror`
 * and the shell all come through {@linkcode decideExisting}.
 *
 * @module
 */

import { ClientError, ExitCode } from "../errors.ts";

/** The policies, in the order the shell lists them. */
export const EXISTING_POLICIES = ["fail", "overwrite", "rename", "skip", "continue"] as const;

/** What to do when the destination already exists. */
export type ExistingPolicy = typeof EXISTING_POLICIES[number];

/** A destination as the policy sees it. */
export interface ExistingTarget {
  /** The destination as named. */
  name: string;
  /** Where it is: on this machine or on the server. */
  side: "local" | "server";
  /** Its size, or undefined when it does not exist. */
  size: number | undefined;
  /** What is being transferred (for messages). */
  source: string;
  /** The source's size, when known. */
  sourceSize: number | undefined;
  /** The first free name next to the destination ("name.1.ext", …), for "rename". */
  freeName(): Promise<string>;
}

/** The decision: write to `destination` from byte `offset`, or skip the file. */
export type ExistingDecision =
  | { action: "write"; destination: string; offset: number }
  | { action: "skip" };

/**
 * Applies `policy` to `target`: an absent destination is written from the
 * start; an existing one fails, is overwritten, skipped, written next to
 * under a free name, or resumed (skipped when it is already complete).
 *
 * @throws {ClientError} (exit 9) Under "fail" when the destination exists;
 * (exit 6 local, 5 server) under "continue" when it is larger than the source.
 *
 * @example
 * ```ts
 * const decision = await decideExisting("continue", {
 *   name: "a.bin",
 *   side: "local",
 *   size: 100,
 *   source: "/a.bin",
 *   sourceSize: 300,
 *   freeName: () => Promise.resolve("a.1.bin"),
 * });
 * // { action: "write", destination: "a.bin", offset: 100 }
 * ```
 */
export async function decideExisting(
  policy: ExistingPolicy,
  target: ExistingTarget,
): Promise<ExistingDecision> {
  const { name, side, size, sourceSize } = target;
  if (size === undefined) return { action: "write", destination: name, offset: 0 };
  switch (policy) {
    case "fail":
      throw new ClientError(
        `${name} exists${
          side === "server" ? " on the server" : ""
        } (use --overwrite, --skip-existing, --rename or --continue)`,
        ExitCode.Exists,
      );
    case "skip":
      return { action: "skip" };
    case "rename":
      return { action: "write", destination: await target.freeName(), offset: 0 };
    case "continue":
      if (sourceSize !== undefined && size === sourceSize) return { action: "skip" };
      if (sourceSize !== undefined && size > sourceSize) {
        throw side === "local"
          ? new ClientError(`${name} is larger than the remote file`, ExitCode.LocalIo)
          : new ClientError(`${name} is larger than ${target.source}`, ExitCode.RemoteFile);
      }
      return { action: "write", destination: name, offset: size };
    case "overwrite":
      return { action: "write", destination: name, offset: 0 };
  }
}
