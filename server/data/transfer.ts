/**
 * The byte-moving loops of the data connection: file → socket (RETR) and
 * socket → file (STOR), with a reused buffer, no per-chunk allocation in
 * TYPE I, and the TYPE A line-ending conversion only when TYPE A is set.
 *
 * @module
 */

import { CrlfToLf, LfToCrlf } from "../../protocol/type_a.ts";
import type { DataStream } from "../../transport/data_stream.ts";
import { pump } from "../../transport/pump.ts";
import { fairShare } from "./fair_share.ts";
import type { Storage, StorageFile } from "../storage/storage.ts";

const BUFFER_SIZE = 1 << 20;
/** Buffers the pool keeps for good. */
const POOL_KEEP = 16;
/**
 * Buffers the pool holds during a burst of transfers: a fresh MiB costs far
 * more (page faults, then garbage collection) than the transfer of a small
 * file. Some seconds after a burst the pool shrinks back to {@linkcode POOL_KEEP}.
 */
const POOL_LIMIT = 64;
const POOL_TRIM_MS = 10_000;
const pool: Uint8Array[] = [];
let trimTimer: ReturnType<typeof setTimeout> | undefined;

/** Takes a 1 MiB buffer from the pool (or makes one). Give it back with {@linkcode releaseBuffer}. */
export function takeBuffer(): Uint8Array {
  return pool.pop() ?? new Uint8Array(BUFFER_SIZE);
}

/** Returns a buffer to the pool. */
export function releaseBuffer(buffer: Uint8Array): void {
  if (buffer.length === SMALL_BUFFER_SIZE) {
    if (smallPool.length < SMALL_POOL_LIMIT) smallPool.push(buffer);
  } else if (pool.length < POOL_LIMIT) {
    pool.push(buffer);
    if (pool.length > POOL_KEEP && trimTimer === undefined) {
      trimTimer = setTimeout(() => {
        trimTimer = undefined;
        if (pool.length > POOL_KEEP) pool.length = POOL_KEEP;
      }, POOL_TRIM_MS);
      (trimTimer as { unref?: () => void }).unref?.();
    }
  }
}

/** The size of the buffers for files known to be small (and for end-of-file reads). */
const SMALL_BUFFER_SIZE = 64 * 1024;
const SMALL_POOL_LIMIT = 64;
const smallPool: Uint8Array[] = [];

function takeSmallBuffer(): Uint8Array {
  return smallPool.pop() ?? new Uint8Array(SMALL_BUFFER_SIZE);
}

/**
 * The two buffers for sending a file of `size` bytes: a file that fits in
 * one buffer needs a large one only for its data, and a small one for the
 * end-of-file read; a small file needs no large one at all. Many sessions
 * sending files of a MiB at once then do not each allocate two fresh MiBs.
 */
function sendBuffers(size: number | undefined): readonly [Uint8Array, Uint8Array] {
  if (size === undefined || size >= BUFFER_SIZE) return [takeBuffer(), takeBuffer()];
  return [size <= SMALL_BUFFER_SIZE ? takeSmallBuffer() : takeBuffer(), takeSmallBuffer()];
}

/**
 * Thrown by the transfer loops when the data connection fails (reset,
 * closed, stalled), as opposed to the file; the handlers answer it with 426.
 */
export class DataConnectionError extends Error {
  /** Wraps the socket error. */
  constructor(cause: unknown) {
    super("Data connection failed", { cause });
    this.name = "DataConnectionError";
  }
}

/**
 * Closes a data connection when no byte has moved for `ms` milliseconds, so
 * a peer that stops reading or writing cannot hold a transfer forever.
 * Call {@linkcode StallGuard.kick} on progress and {@linkcode StallGuard.stop} at the end.
 */
export class StallGuard {
  readonly #conn: { close(): void };
  readonly #ms: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #last = 0;
  #stopped = false;

  /** Starts watching `conn`; no limit when `ms` is undefined. */
  constructor(conn: { close(): void }, ms: number | undefined) {
    this.#conn = conn;
    this.#ms = ms;
    this.kick();
  }

  /**
   * Records progress: the clock starts again. The timer is not re-armed on
   * every chunk; when it fires it arms itself again for what is left.
   */
  kick(): void {
    if (this.#ms === undefined || this.#stopped) return;
    this.#last = performance.now();
    if (this.#timer === undefined) this.#arm(this.#ms);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped) return;
      const left = this.#last + this.#ms! - performance.now();
      if (left >= 1) return this.#arm(Math.ceil(left));
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
    }, ms);
  }

  /** Stops watching. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Writes all of `data` to a connection; socket errors become
 * {@linkcode DataConnectionError}. Lets other sessions run now and then
 * (see {@linkcode fairShare}): the transfer loops all write through here.
 */
export async function writeAll(
  conn: DataStream,
  data: Uint8Array,
  guard?: StallGuard,
): Promise<void> {
  let written = 0;
  while (written < data.length) {
    try {
      written += await conn.write(data.subarray(written));
    } catch (error) {
      throw new DataConnectionError(error);
    }
    guard?.kick();
  }
  await fairShare();
}

/**
 * Sends a file over a data connection; returns the bytes read from the file.
 * The next chunk is read from the file while the current one is written to
 * the socket (see {@linkcode pump}). `size`, the bytes expected, only picks
 * the buffers: a file that has grown is still sent whole.
 */
export async function sendFile(
  file: StorageFile,
  conn: DataStream,
  ascii: boolean,
  stallMs?: number,
  size?: number,
): Promise<number> {
  const buffers = sendBuffers(size);
  const converter = ascii ? new LfToCrlf() : undefined;
  const guard = new StallGuard(conn, stallMs);
  try {
    const total = await pump(
      buffers,
      (buffer) => file.read(buffer),
      (chunk) => writeAll(conn, chunk, guard),
      converter ? { convert: (chunk) => converter.convert(chunk) } : {},
    );
    await conn.flush?.();
    return total;
  } finally {
    guard.stop();
    releaseBuffer(buffers[0]);
    releaseBuffer(buffers[1]);
  }
}

/**
 * Receives a data connection into a file; returns the bytes read from the
 * connection. The socket is read while the previous chunk is written to the
 * file (see {@linkcode pump}).
 */
export async function receiveFile(
  conn: DataStream,
  file: StorageFile,
  ascii: boolean,
  stallMs?: number,
): Promise<number> {
  const buffers = [takeBuffer(), takeBuffer()] as const;
  const converter = ascii ? new CrlfToLf() : undefined;
  const guard = new StallGuard(conn, stallMs);
  const read = async (buffer: Uint8Array) => {
    try {
      return await conn.read(buffer);
    } catch (error) {
      throw new DataConnectionError(error);
    } finally {
      guard.kick();
    }
  };
  try {
    return await pump(
      buffers,
      read,
      (chunk) => file.write(chunk),
      converter
        ? { convert: (chunk) => converter.convert(chunk), finish: () => converter.flush() }
        : {},
    );
  } finally {
    guard.stop();
    releaseBuffer(buffers[0]);
    releaseBuffer(buffers[1]);
  }
}

/** The size of a file in TYPE A: its bytes plus one CR for every LF not already after a CR. */
export async function asciiSize(storage: Storage, path: string): Promise<number> {
  const file = await storage.openRead(path);
  const buffer = takeBuffer();
  const converter = new LfToCrlf();
  let total = 0;
  try {
    while (true) {
      const n = await file.read(buffer);
      if (n === null) break;
      total += converter.convert(buffer.subarray(0, n)).length;
    }
  } finally {
    releaseBuffer(buffer);
    file.close();
  }
  return total;
}
