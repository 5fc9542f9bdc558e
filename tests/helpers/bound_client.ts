/**
 * A TCP client bound to a chosen local address (127.0.0.3, say), for tests
 * where who connects matters: behind a load balancer, the client's address
 * and the balancer's differ.
 *
 * @module
 */

import * as net from "node:net";

/** A control or data connection from a chosen local address, reading replies line by line. */
export class BoundClient {
  readonly socket: net.Socket;
  #text = "";
  #closed = false;
  #wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.#text += chunk;
      this.#wake?.();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on("error", () => {});
  }

  /** Connects to `host`:`port` from the local address `from`. */
  static connect(port: number, from: string, host = "127.0.0.1"): Promise<BoundClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(
        { host, port, localAddress: from },
        () => resolve(new BoundClient(socket)),
      );
      socket.once("error", reject);
    });
  }

  /** Everything received so far. */
  get text(): string {
    return this.#text;
  }

  /** Waits until `done(text)` or the connection closes (then resolves false), at most 10 s. */
  async until(done: (text: string) => boolean): Promise<boolean> {
    const deadline = Date.now() + 10_000;
    while (!done(this.#text)) {
      if (this.#closed) return false;
      if (Date.now() > deadline) throw new Error(`Timed out; got ${JSON.stringify(this.#text)}`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 200);
      });
    }
    return true;
  }

  /** True once the peer closed the connection. */
  closed(): Promise<boolean> {
    return this.until(() => false).then(() => true, () => false);
  }

  /** Reads the next reply line (single-line replies). */
  async reply(): Promise<string> {
    const got = await this.until((text) => /^\d{3} .*\r\n/m.test(text));
    if (!got) throw new Error(`Closed; got ${JSON.stringify(this.#text)}`);
    const match = /^(?:.*\r\n)*?(\d{3} .*)\r\n/.exec(this.#text)!;
    this.#text = this.#text.slice(match[0].length);
    return match[1]!;
  }

  /** Sends bytes or text as they are. */
  write(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** Sends a line and reads the reply. */
  async command(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return await this.reply();
  }

  /** Drops the connection. */
  close(): void {
    this.socket.destroy();
  }
}
