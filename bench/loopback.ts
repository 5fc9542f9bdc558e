/**
 * The raw loopback ceiling: a plain TCP sender and sink over `Deno.Conn` with
 * 1 MiB buffers, one of them in a separate process (as an FTP server is), so
 * that the figure is what loopback carries between two processes here, now.
 *
 * Run as a program it is that other process:
 * `deno run --allow-net bench/loopback.ts send|sink PORT BYTES`.
 *
 * @module
 */

import { writeAll } from "./ftp_bench_client.ts";

/** The buffer size of both ends. */
export const LOOPBACK_BUFFER_SIZE = 1024 * 1024;

/** Which way the data flows, seen from the benchmark process. */
export type LoopbackDirection = "receive" | "send";

/** Sends `bytes` bytes to `port` on 127.0.0.1, then waits for the sink's one-byte ack. */
async function _send(port: number, bytes: number): Promise<void> {
  await _sendOver(await Deno.connect({ hostname: "127.0.0.1", port }), bytes);
}

/** Writes `bytes` bytes from one reused 1 MiB buffer, half-closes, waits for the ack, closes. */
async function _sendOver(conn: Deno.Conn, bytes: number): Promise<void> {
  const buffer = new Uint8Array(LOOPBACK_BUFFER_SIZE).fill(0x5a);
  let sent = 0;
  while (sent < bytes) {
    const part = Math.min(buffer.length, bytes - sent);
    await writeAll(conn, buffer.subarray(0, part));
    sent += part;
  }
  await conn.closeWrite();
  await conn.read(new Uint8Array(1));
  conn.close();
}

/** Reads until end of stream, then acks with one byte; returns the byte count. */
async function _sink(conn: Deno.Conn): Promise<number> {
  const buffer = new Uint8Array(LOOPBACK_BUFFER_SIZE);
  let bytes = 0;
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) break;
    bytes += n;
  }
  await writeAll(conn, new Uint8Array([1]));
  conn.close();
  return bytes;
}

/**
 * Moves `bytes` bytes over loopback between this process and a child
 * process, and returns the throughput in MiB/s, timed from the accepted
 * connection to the sink's acknowledgement.
 *
 * @param direction "receive": the child sends and this process sinks (the
 * shape of RETR); "send": this process sends and the child sinks (STOR).
 * @param bytes How much to move.
 * @returns MiB per second.
 *
 * @example
 * ```ts
 * const mibPerSecond = await measureLoopback("receive", 1 << 30);
 * ```
 */
export async function measureLoopback(
  direction: LoopbackDirection,
  bytes: number,
): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      import.meta.filename ?? new URL(import.meta.url).pathname,
      direction === "receive" ? "send" : "sink",
      String(listener.addr.port),
      String(bytes),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    const conn = await listener.accept();
    const started = performance.now();
    if (direction === "receive") {
      const got = await _sink(conn);
      if (got !== bytes) throw new Error(`Loopback sink got ${got} of ${bytes} bytes`);
    } else {
      await _sendOver(conn, bytes);
    }
    const seconds = (performance.now() - started) / 1000;
    const status = await child.status;
    if (!status.success) throw new Error(`Loopback child exited with ${status.code}`);
    return bytes / (1024 * 1024) / seconds;
  } finally {
    listener.close();
  }
}

if (import.meta.main) {
  const [mode, portText, bytesText] = Deno.args;
  const port = Number(portText);
  const bytes = Number(bytesText);
  if (mode === "send") {
    await _send(port, bytes);
  } else if (mode === "sink") {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await _sink(conn);
  } else {
    console.error("usage: loopback.ts send|sink PORT BYTES");
    Deno.exit(2);
  }
}
