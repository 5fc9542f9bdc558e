/**
 * The byte-moving loops of the data connection: file → socket (RETR) and
 * socket → file (STOR), with a reused buffer, no per-chunk allocation in
 * TYPE I, and the TYPE A line-ending conversion only when TYPE A is set.
 *
 * @module
 */

import { CrlfToLf, LfToCrlf } from "../protocol/type_a.ts";
import type { Storage, StorageFile } from "./storage.ts";

const BUFFER_SIZE = 1 << 20;
const POOL_LIMIT = 8;
const pool: Uint8Array[] = [];

/** Takes a 1 MiB buffer from the pool (or makes one). Give it back with {@linkcode releaseBuffer}. */
export function takeBuffer(): Uint8Array {
  return pool.pop() ?? new Uint8Array(BUFFER_SIZE);
}

/** Returns a buffer to the pool. */
export function releaseBuffer(buffer: Uint8Array): void {
  if (pool.length < POOL_LIMIT) pool.push(buffer);
}

/** Writes all of `data` to a connection. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}

/** Sends a file over a data connection; returns the bytes read from the file. */
export async function sendFile(
  file: StorageFile,
  conn: Deno.Conn,
  ascii: boolean,
): Promise<number> {
  const buffer = takeBuffer();
  const converter = ascii ? new LfToCrlf() : undefined;
  let total = 0;
  try {
    while (true) {
      const n = await file.read(buffer);
      if (n === null) break;
      total += n;
      const chunk = buffer.subarray(0, n);
      await writeAll(conn, converter ? converter.convert(chunk) : chunk);
    }
  } finally {
    releaseBuffer(buffer);
  }
  return total;
}

/** Receives a data connection into a file; returns the bytes read from the connection. */
export async function receiveFile(
  conn: Deno.Conn,
  file: StorageFile,
  ascii: boolean,
): Promise<number> {
  const buffer = takeBuffer();
  const converter = ascii ? new CrlfToLf() : undefined;
  let total = 0;
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      total += n;
      const chunk = buffer.subarray(0, n);
      await file.write(converter ? converter.convert(chunk) : chunk);
    }
    if (converter) await file.write(converter.flush());
  } finally {
    releaseBuffer(buffer);
  }
  return total;
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
