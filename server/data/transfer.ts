/**
 * The byte-moving loops of the data connection: file → socket (RETR) and
 * socket → file (STOR), with buffers from one bounded pool that grow only
 * for a peer that keeps up, no allocation per transfer or per chunk in
 * TYPE I, and the TYPE A line-ending conversion only when TYPE A is set.
 *
 * @module
 */

import { CrlfToLf, LfToCrlf } from "../../protocol/type_a.ts";
import type { DataStream } from "../../transport/data_stream.ts";
import { BufferPool } from "../../transport/buffer_pool.ts";
import { pump } from "../../transport/pump.ts";
import { TransferBuffers } from "../../transport/transfer_buffers.ts";
import { fairShare } from "./fair_share.ts";
import type { Storage, StorageFile } from "../storage/storage.ts";

/**
 * The transfer buffers of every session: 16 KiB to 1 MiB each, at most
 * 4 MiB (`DEFAULT_LIMIT_BYTES`) handed out past the 16 KiB every transfer is granted, in slabs
 * freed some seconds after their last buffer comes back (issue 16: 200
 * downloads at once used to take two 1 MiB buffers each, and keep them).
 */
export const transferBufferPool: BufferPool = new BufferPool();

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

/** What {@linkcode writeAll} tells a transfer's buffers about the peer's pace. */
export interface WritePace {
  /** The peer kept up: the chunk went in one write. */
  keptUp(): void;
  /** The peer fell behind: the chunk took three writes or more. */
  fellBehind(): void;
}

/**
 * Writes all of `data` to a connection; socket errors become
 * {@linkcode DataConnectionError}. Lets other sessions run now and then
 * (see {@linkcode fairShare}): the transfer loops all write through here.
 * Tells `pace` how the peer kept up: one write took everything, or it took
 * three or more (two are usual for a large chunk even to a fast reader).
 */
export async function writeAll(
  conn: DataStream,
  data: Uint8Array,
  guard?: StallGuard,
  pace?: WritePace,
): Promise<void> {
  let written = 0;
  let writes = 0;
  while (written < data.length) {
    try {
      written += await conn.write(written === 0 ? data : data.subarray(written));
    } catch (error) {
      throw new DataConnectionError(error);
    }
    writes++;
    guard?.kick();
  }
  if (writes <= 1) pace?.keptUp();
  else if (writes >= 3) pace?.fellBehind();
  const turn = fairShare();
  if (turn) await turn;
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
  const buffers = new TransferBuffers(
    transferBufferPool,
    size === undefined ? {} : { expectedBytes: size },
  );
  const converter = ascii ? new LfToCrlf() : undefined;
  const guard = new StallGuard(conn, stallMs);
  const write = (chunk: Uint8Array) => writeAll(conn, chunk, guard, buffers);
  try {
    const total = await pump(
      buffers,
      (buffer) => file.read(buffer),
      write,
      converter ? { convert: (chunk) => converter.convert(chunk) } : {},
    );
    await conn.flush?.();
    return total;
  } finally {
    guard.stop();
    buffers.release();
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
  const buffers = new TransferBuffers(transferBufferPool);
  const converter = ascii ? new CrlfToLf() : undefined;
  const guard = new StallGuard(conn, stallMs);
  const read = async (buffer: Uint8Array) => {
    try {
      const n = await conn.read(buffer);
      // Half the buffer or more at once: the peer sends fast. An eighth or less: it does not.
      if (n !== null && n >= buffer.length / 2) buffers.keptUp();
      else if (n !== null && n <= buffer.length / 8) buffers.fellBehind();
      return n;
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
    buffers.release();
  }
}

/** The size of a file in TYPE A: its bytes plus one CR for every LF not already after a CR. */
export async function asciiSize(storage: Storage, path: string): Promise<number> {
  const file = await storage.openRead(path);
  const pool = transferBufferPool;
  const buffer = pool.take(pool.sizes[1] ?? pool.smallest) ?? pool.take(pool.smallest)!;
  const converter = new LfToCrlf();
  let total = 0;
  try {
    while (true) {
      const n = await file.read(buffer);
      if (n === null) break;
      total += converter.convert(buffer.subarray(0, n)).length;
    }
  } finally {
    pool.release(buffer);
    file.close();
  }
  return total;
}
