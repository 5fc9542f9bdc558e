/**
 * The one byte-moving loop of every transfer, server and client, up and
 * down: two buffers alternate, so the next chunk is read while the previous
 * one is still being written.
 *
 * @module
 */

/**
 * Where the pump's two buffers come from when they may change between
 * chunks (see `TransferBuffers`): `get(index)` is called before each read,
 * once the buffer's previous chunk has been written.
 */
export interface PumpBuffers {
  /** The buffer to read into next, at `index` (the two alternate). */
  get(index: 0 | 1): Uint8Array;
}

/** Options for {@linkcode pump}. */
export interface PumpOptions {
  /** Rewrites each chunk before it is written (TYPE A line endings). */
  convert?: (chunk: Uint8Array) => Uint8Array;
  /** Bytes still held by `convert` at the end (a trailing CR), written last. */
  finish?: () => Uint8Array;
  /** Called with the running count of bytes read. */
  onProgress?: (total: number) => void;
}

/**
 * Reads with `read` (which fills a buffer and resolves with the count, or
 * null at the end) and hands each chunk to `write`, reading the next chunk
 * while the previous write runs. A chunk is a view into one of the two
 * buffers, valid until `write`'s promise settles. The buffers are a fixed
 * pair, or {@linkcode PumpBuffers} that may hand out a different one each time. Resolves with the bytes
 * read once every write has finished; the first failure rejects, after any
 * write still running has settled.
 *
 * @example
 * ```ts ignore
 * const buffers = [new Uint8Array(1 << 20), new Uint8Array(1 << 20)] as const;
 * await pump(buffers, (buffer) => file.read(buffer), (chunk) => writeAll(conn, chunk));
 * ```
 */
export async function pump(
  buffers: readonly [Uint8Array, Uint8Array] | PumpBuffers,
  read: (buffer: Uint8Array) => Promise<number | null>,
  write: (chunk: Uint8Array) => Promise<void>,
  options: PumpOptions = {},
): Promise<number> {
  let total = 0;
  let index: 0 | 1 = 0;
  const take = "get" in buffers
    ? (i: 0 | 1) => buffers.get(i)
    : (i: 0 | 1) => (buffers as readonly [Uint8Array, Uint8Array])[i];
  let writing: Promise<void> = Promise.resolve();
  try {
    while (true) {
      const buffer = take(index);
      const n = await read(buffer);
      await writing;
      if (n === null) break;
      total += n;
      const chunk = n === buffer.length ? buffer : buffer.subarray(0, n);
      writing = write(options.convert ? options.convert(chunk) : chunk);
      writing.catch(() => {}); // observed on the next turn, or in finally
      options.onProgress?.(total);
      index = index === 0 ? 1 : 0;
    }
    const rest = options.finish?.();
    if (rest && rest.length > 0) await write(rest);
  } finally {
    await writing.catch(() => {}); // no write may still use a buffer the caller reuses
  }
  return total;
}
