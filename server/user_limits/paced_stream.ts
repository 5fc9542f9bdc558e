/**
 * A data connection held to rate caps: each read or write moves at most a
 * chunk sized to the slowest cap, and waits (on a timer, no busy loop) when
 * the caps' buckets are in debt. An abort (ABOR, the session closing) ends
 * the wait at once. Clear and TLS connections alike, since it wraps the
 * {@linkcode DataStream} both are.
 *
 * @module
 */

import type { DataStream } from "../../transport/data_stream.ts";
import { takeAll, type TokenBucket } from "./token_bucket.ts";

/**
 * `conn` paced by `buckets`; `conn` itself when there is no cap, so an
 * unlimited transfer pays nothing.
 *
 * @example
 * ```ts ignore
 * const paced = pacedStream(conn, limits.buckets("alice", settings, "download"), signal);
 * ```
 */
export function pacedStream(
  conn: DataStream,
  buckets: readonly TokenBucket[],
  signal: AbortSignal,
): DataStream {
  if (buckets.length === 0) return conn;
  const chunk = (length: number) => Math.min(...buckets.map((bucket) => bucket.chunkSize(length)));
  const paced: DataStream = {
    async read(buffer) {
      const n = await conn.read(buffer.subarray(0, chunk(buffer.length)));
      if (n !== null && n > 0) await takeAll(buckets, n, signal);
      return n;
    },
    async write(data) {
      const part = data.subarray(0, chunk(data.length));
      const wait = takeAll(buckets, part.length, signal);
      if (wait) await wait;
      return await conn.write(part);
    },
    close: () => conn.close(),
  };
  if (conn.flush) paced.flush = () => conn.flush!();
  return paced;
}
