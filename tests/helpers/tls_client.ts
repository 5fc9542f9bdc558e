/**
 * FTPS test helpers: a certificate made once per process, a test server
 * with TLS turned on, and a small node:tls control-connection client that
 * drives AUTH TLS, PBSZ, PROT and TLS data connections.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import { parseEpsvReply } from "../../protocol/address.ts";
import { type Reply, ReplyParser } from "../../protocol/reply.ts";
import { makeCertificate } from "../../server/cli/cert_command.ts";
import type { ServerConfig } from "../../server/config.ts";
import type { TestServerOptions } from "./test_server.ts";
import { withTimeout } from "./raw_client.ts";

let made: Promise<{ cert: string; key: string }> | undefined;

/** A self-signed certificate and key for 127.0.0.1, made once per test process. */
export function testCertificate(): Promise<{ cert: string; key: string }> {
  made ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "ferry-cert-" });
    return await makeCertificate({ outCert: `${dir}/cert.pem`, outKey: `${dir}/key.pem` });
  })();
  return made;
}

/** Test server options with TLS on, plus `config`. */
export async function tlsServerOptions(
  config: Partial<ServerConfig> = {},
): Promise<TestServerOptions> {
  const { cert, key } = await testCertificate();
  return { config: { tlsCert: cert, tlsKey: key, ...config } };
}

/** Options for TLS handshakes from the test client. */
export interface TlsClientOptions {
  /** Highest TLS version. */
  maxVersion?: tls.SecureVersion;
}

/** A control connection that can switch to TLS, for FTPS server tests. */
export class TlsTestClient {
  #socket: net.Socket | tls.TLSSocket;
  readonly #parser = new ReplyParser();
  readonly #replies: Reply[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  readonly #options: TlsClientOptions;

  private constructor(socket: net.Socket, options: TlsClientOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#listen(socket);
  }

  /** Connects in the clear (explicit FTPS) and reads the greeting. */
  static async connect(port: number, options: TlsClientOptions = {}): Promise<TlsTestClient> {
    const socket = net.connect({ host: "127.0.0.1", port });
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("error", reject);
      }),
      5000,
      "connect",
    );
    const client = new TlsTestClient(socket, options);
    await client.read();
    return client;
  }

  #listen(socket: net.Socket): void {
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      this.#replies.push(...this.#parser.push(text));
      this.#wake?.();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on("error", () => {});
  }

  /** The TLS socket, once AUTH TLS has run. */
  get tlsSocket(): tls.TLSSocket {
    return this.#socket as tls.TLSSocket;
  }

  /** Reads the next reply. */
  async read(): Promise<Reply> {
    while (this.#replies.length === 0) {
      if (this.#closed) throw new Error("Control connection closed");
      await withTimeout(new Promise<void>((resolve) => (this.#wake = resolve)), 10_000, "reply");
    }
    return this.#replies.shift()!;
  }

  /** Sends a line and reads the reply. */
  async command(line: string): Promise<Reply> {
    this.#socket.write(`${line}\r\n`);
    return await this.read();
  }

  /** Sends AUTH TLS and does the handshake; throws unless 234. */
  async authTls(): Promise<void> {
    const reply = await this.command("AUTH TLS");
    if (reply.code !== 234) throw new Error(`AUTH TLS answered ${reply.code}`);
    const clear = this.#socket as net.Socket;
    clear.removeAllListeners("data");
    clear.removeAllListeners("close");
    const secure = tls.connect({
      socket: clear,
      rejectUnauthorized: false,
      ...(this.#options.maxVersion ? { maxVersion: this.#options.maxVersion } : {}),
    });
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        secure.once("secureConnect", () => resolve());
        secure.once("error", reject);
      }),
      5000,
      "TLS handshake",
    );
    this.#socket = secure;
    this.#listen(secure);
  }

  /** AUTH TLS, login, PBSZ 0, PROT P, TYPE I. */
  async secureLogin(user = "alice", password = "wonderland"): Promise<void> {
    await this.authTls();
    for (
      const [line, code] of [
        [`USER ${user}`, 331],
        [`PASS ${password}`, 230],
        ["PBSZ 0", 200],
        ["PROT P", 200],
        ["TYPE I", 200],
      ] as const
    ) {
      const reply = await this.command(line);
      if (reply.code !== code) throw new Error(`${line} answered ${reply.code}`);
    }
  }

  /**
   * Sends EPSV, connects, sends `line`, does the TLS handshake on the data
   * connection (offering `session` if given) and reads until the end.
   */
  async download(
    line: string,
    session?: Buffer,
  ): Promise<{ preliminary: Reply; final: Reply; data: Uint8Array; reused: boolean }> {
    const epsv = await this.command("EPSV");
    const port = parseEpsvReply(epsv.lines.join(" "));
    const tcp = net.connect({ host: "127.0.0.1", port });
    const secure = tls.connect({
      socket: tcp,
      rejectUnauthorized: false,
      ...(session ? { session } : {}),
      ...(this.#options.maxVersion ? { maxVersion: this.#options.maxVersion } : {}),
    });
    const chunks: Uint8Array[] = [];
    let reused = false;
    const done = new Promise<void>((resolve) => {
      secure.on("secureConnect", () => (reused = secure.isSessionReused()));
      secure.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      secure.on("end", () => resolve());
      secure.on("close", () => resolve());
      secure.on("error", () => resolve());
    });
    const preliminary = await this.command(line);
    await withTimeout(done, 10_000, "data");
    secure.destroy();
    const final = await this.read();
    const data = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      data.set(chunk, offset);
      offset += chunk.length;
    }
    return { preliminary, final, data, reused };
  }

  /** Closes the control connection. */
  close(): void {
    this.#socket.destroy();
  }
}
