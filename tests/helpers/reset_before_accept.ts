/**
 * A connection that is reset before the server under test accepts it: the
 * case a loaded server meets when a client gives up at once, and where
 * Deno's `node:net` reports no `remoteAddress`.
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * Connects from `from` to `port` on 127.0.0.1, sends `bytes` and resets the
 * connection (SO_LINGER 0) while this process is blocked, so a server running
 * in this process only sees the connection after the reset, as under load:
 * python3 does it, waited for synchronously.
 *
 * @example
 * ```ts ignore
 * resetBeforeAccept(server.port, "127.0.0.2", new Uint8Array());
 * ```
 */
export function resetBeforeAccept(port: number, from: string, bytes: Uint8Array): void {
  const script = [
    "import socket, struct, sys",
    "s = socket.socket()",
    `s.bind((${JSON.stringify(from)}, 0))`,
    `s.connect(("127.0.0.1", ${port}))`,
    `s.sendall(bytes.fromhex(${
      JSON.stringify(Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""))
    }))`,
    's.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))',
    "s.close()",
  ].join("\n");
  const result = new Deno.Command("python3", { args: ["-c", script], stderr: "piped" })
    .outputSync();
  assert.ok(result.success, new TextDecoder().decode(result.stderr));
}
