/**
 * What the control connection reads replies from and writes commands to:
 * the TCP connection itself (`Deno.connect`, no Node layer), or TLS on it
 * (`client/tls/backend.ts`, loaded only for FTPS).
 *
 * @module
 */

/** A byte channel to the server. */
export interface ControlChannel {
  /** The next chunk the server sent, or null at the end of the stream. */
  read(): Promise<Uint8Array | null>;
  /** Sends all of `bytes`. */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the channel (and the connection under it). */
  close(): void;
}

/** Bytes read from the control connection at a time: replies are short. */
const READ_SIZE = 16 * 1024;

/**
 * A clear control channel on a TCP connection.
 *
 * @example
 * ```ts ignore
 * const channel = connChannel(await Deno.connect({ hostname: "127.0.0.1", port: 21 }));
 * console.log(await channel.read());
 * ```
 */
export function connChannel(conn: Deno.Conn): ControlChannel {
  const buffer = new Uint8Array(READ_SIZE);
  return {
    async read() {
      const n = await conn.read(buffer);
      return n === null ? null : buffer.slice(0, n);
    },
    async write(bytes) {
      for (let offset = 0; offset < bytes.length;) {
        offset += await conn.write(bytes.subarray(offset));
      }
    },
    close() {
      try {
        conn.close();
      } catch {
        // already closed
      }
    },
  };
}
