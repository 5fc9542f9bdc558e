/**
 * Checksums of remote files, as the server computes them, and of local
 * files, for `ferry client hash` and `get`/`put --verify`. The server is
 * asked with HASH (after OPTS HASH picks the algorithm) when its FEAT offers
 * the algorithm there, else with the one-algorithm verb (XSHA256, XMD5, …)
 * its FEAT lists; a server that lists neither gets a clear error.
 *
 * @module
 */

import {
  type HashAlgorithm,
  HEX_LENGTH,
  parseChecksumReply,
  parseHashFeat,
  X_HASH_VERBS,
} from "../protocol/hash_algorithm.ts";
import { createDigest } from "../protocol/digest.ts";
import { ClientError, ExitCode } from "./errors.ts";
import type { FtpClient } from "./ftp_client.ts";

/** The order `--verify` prefers algorithms in when the server offers several. */
export const PREFERRED_ALGORITHMS: readonly HashAlgorithm[] = [
  "SHA-256",
  "SHA-512",
  "SHA-1",
  "MD5",
  "CRC32",
];

/**
 * How much longer than the reply timeout a checksum may take: one second
 * per this many bytes (a slow server disk; hashing itself runs at 400+ MiB/s).
 */
const BYTES_PER_SECOND = 32 * 1024 * 1024;

/** A checksum the server computed. */
export interface RemoteChecksum {
  algorithm: HashAlgorithm;
  /** Lower-case hex. */
  hex: string;
  /** The command that produced it ("HASH", "XSHA256", …). */
  verb: string;
}

/** The server offers no checksum command (or none for the algorithm asked for). */
export class ChecksumUnavailableError extends ClientError {
  /** Creates the error; its exit code is {@linkcode ExitCode.ChecksumUnavailable}. */
  constructor(message: string) {
    super(message, ExitCode.ChecksumUnavailable);
    this.name = "ChecksumUnavailableError";
  }
}

/** How a server can checksum each algorithm: by HASH, or by an X-verb. */
export function checksumOffers(
  features: ReadonlyMap<string, string>,
): Map<HashAlgorithm, { verb: string; selected?: boolean }> {
  const offers = new Map<HashAlgorithm, { verb: string; selected?: boolean }>();
  const hashFeat = features.get("HASH");
  if (hashFeat !== undefined) {
    const { algorithms, selected } = parseHashFeat(hashFeat);
    for (const algorithm of algorithms) {
      offers.set(algorithm, { verb: "HASH", selected: algorithm === selected });
    }
  }
  for (const [verb, algorithm] of Object.entries(X_HASH_VERBS)) {
    if (features.has(verb) && !offers.has(algorithm)) offers.set(algorithm, { verb });
  }
  return offers;
}

function describeOffers(offers: Map<HashAlgorithm, { verb: string }>): string {
  if (offers.size === 0) return "it offers no checksum command (HASH, XSHA256, XMD5, XCRC, …)";
  return `it offers ${
    [...offers].map(([algorithm, { verb }]) => `${algorithm} (${verb})`).join(", ")
  }`;
}

/**
 * The algorithm to verify a transfer with: the first of
 * {@linkcode PREFERRED_ALGORITHMS} the server offers.
 *
 * @throws {ChecksumUnavailableError} If the server offers none.
 */
export function pickAlgorithm(client: FtpClient, host = "the server"): HashAlgorithm {
  const offers = checksumOffers(client.features);
  const algorithm = PREFERRED_ALGORITHMS.find((candidate) => offers.has(candidate));
  if (!algorithm) {
    throw new ChecksumUnavailableError(`${host} cannot verify files: ${describeOffers(offers)}`);
  }
  return algorithm;
}

/** Options for {@linkcode remoteChecksum}. */
export interface RemoteChecksumOptions {
  /** The file's size, when known: the reply may take longer for a large file. */
  size?: number;
  /** The usual reply timeout, in milliseconds. @default {30000} */
  timeoutMs?: number;
  /** The server's name for messages. @default {"the server"} */
  host?: string;
}

/**
 * Asks the server for a file's checksum with `algorithm`.
 *
 * @throws {ChecksumUnavailableError} If the server offers no way to compute it.
 * @throws {FtpReplyError} If the server refuses (missing file: exit 5).
 * @throws {ClientError} Exit 8 if the reply holds no checksum of that algorithm.
 *
 * @example
 * ```ts
 * const { hex } = await remoteChecksum(client, "/pub/a.iso", "SHA-256");
 * ```
 */
export async function remoteChecksum(
  client: FtpClient,
  path: string,
  algorithm: HashAlgorithm,
  options: RemoteChecksumOptions = {},
): Promise<RemoteChecksum> {
  const offers = checksumOffers(client.features);
  const offer = offers.get(algorithm);
  const host = options.host ?? "the server";
  if (!offer) {
    throw new ChecksumUnavailableError(
      `${host} offers no ${algorithm} checksum: ${describeOffers(offers)}`,
    );
  }
  const timeoutMs = (options.timeoutMs ?? 30_000) +
    Math.ceil((options.size ?? 0) / BYTES_PER_SECOND) * 1000;
  if (offer.verb === "HASH" && !offer.selected) {
    await client.command("OPTS", `HASH ${algorithm}`);
    for (const other of offers.values()) delete other.selected;
    offer.selected = true;
    // FEAT shows the selection; keep the client's copy in step for the next call.
    client.features.set("HASH", starred(client.features.get("HASH") ?? "", algorithm));
  }
  const reply = await client.command(offer.verb, path, timeoutMs);
  const parsed = parseChecksumReply(reply.lines.at(-1) ?? "", algorithm);
  if (!parsed || (parsed.algorithm !== undefined && parsed.algorithm !== algorithm)) {
    throw new ClientError(
      `${offer.verb}: no ${algorithm} checksum (${
        HEX_LENGTH[algorithm]
      } hex digits) in the reply "${reply.lines.at(-1)}"`,
      ExitCode.Protocol,
    );
  }
  return { algorithm, hex: parsed.hex, verb: offer.verb };
}

/** A FEAT HASH value with the star moved to `algorithm`. */
function starred(value: string, algorithm: HashAlgorithm): string {
  const { algorithms } = parseHashFeat(value);
  return algorithms.map((name) => name === algorithm ? `${name}*` : name).join(";");
}

/**
 * The checksum of a local file, read in 1 MiB pieces (never whole).
 *
 * @throws {ClientError} Exit 6 if the file cannot be read.
 *
 * @example
 * ```ts
 * await localChecksum("a.iso", "SHA-256"); // "e3b0c442…"
 * ```
 */
export async function localChecksum(path: string, algorithm: HashAlgorithm): Promise<string> {
  const digest = createDigest(algorithm);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw new ClientError(`${path}: ${(error as Error).message}`, ExitCode.LocalIo);
  }
  const buffer = new Uint8Array(1 << 20);
  try {
    while (true) {
      const n = await file.read(buffer);
      if (n === null) break;
      digest.update(buffer.subarray(0, n));
    }
  } catch (error) {
    throw new ClientError(`${path}: ${(error as Error).message}`, ExitCode.LocalIo);
  } finally {
    file.close();
  }
  return digest.hex();
}

/** The checksums {@linkcode verifyFile} compared. */
export interface Verification {
  algorithm: HashAlgorithm;
  hex: string;
  verb: string;
}

/**
 * Checks that a local file and a remote one have the same checksum, with
 * the best algorithm the server offers.
 *
 * @throws {ChecksumUnavailableError} Exit 11 if the server offers no checksum.
 * @throws {ClientError} Exit 10 ({@linkcode ExitCode.ChecksumMismatch}) if they differ.
 */
export async function verifyFile(
  client: FtpClient,
  local: string,
  remote: string,
  options: RemoteChecksumOptions = {},
): Promise<Verification> {
  const algorithm = pickAlgorithm(client, options.host);
  const [theirs, ours] = await Promise.all([
    remoteChecksum(client, remote, algorithm, options),
    localChecksum(local, algorithm),
  ]);
  if (theirs.hex !== ours) {
    throw new ClientError(
      `${local}: checksum mismatch with ${remote}: ${algorithm} is ${ours} here but ${theirs.hex} ` +
        `on the server`,
      ExitCode.ChecksumMismatch,
    );
  }
  return { algorithm, hex: ours, verb: theirs.verb };
}
