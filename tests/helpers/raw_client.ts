/**
 * A small raw FTP control-connection client for server tests: it sends lines
 * (or raw bytes) exactly as given, reads complete replies (multi-line
 * included) with {@linkcode ReplyParser}, and opens passive and active data
 * connections. Every wait has a timeout, so a test never hangs.
 *
 * @module
 */

import { parseEpsvReply, parsePasvReply } from "../../protocol/address.ts";
import { type Reply, ReplyParser } from "../../protocol/reply.ts";
import { startTestServer, type TestServer, type TestServerOptions } from "./test_server.ts";

/** How long any single wait may take before the test fails, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const encoder = new TextEncoder();

/**
 * Resolves or rejects like `promise`, but rejects after `ms` milliseconds
 * with an error naming `what`. The timer is always cleared.
 *
 * @example
 * ```ts ignore
 * await withTimeout(conn.read(buffer), 1000, "data");
 * ```
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads a connection to its end and closes it.
 *
 * @example
 * ```ts ignore
 * const bytes = await readAll(conn);
 * ```
 */
export async function readAll(
  conn: Deno.Conn,
  timeoutMs: number = DEFAULT_TIMEOUT_MS,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await withTimeout(conn.read(buffer), timeoutMs, "data connection");
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      total += n;
    }
  } finally {
    closeQuietly(conn);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Reads a connection to its end as UTF-8 text. */
export async function readAllText(conn: Deno.Conn): Promise<string> {
  return new TextDecoder().decode(await readAll(conn));
}

/**
 * Writes all of `data` to a connection, then closes it (the end of an upload).
 *
 * @example
 * ```ts ignore
 * await writeAllAndClose(conn, new TextEncoder().encode("hello"));
 * ```
 */
export async function writeAllAndClose(
  conn: Deno.Conn,
  data: Uint8Array | string,
  timeoutMs: number = DEFAULT_TIMEOUT_MS,
): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  try {
    let written = 0;
    while (written < bytes.length) {
      written += await withTimeout(conn.write(bytes.subarray(written)), timeoutMs, "data write");
    }
  } finally {
    closeQuietly(conn);
  }
}

/** Closes a connection or listener, ignoring "already closed". */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // already closed
  }
}

/** Options for {@linkcode RawClient.connect}. */
export interface RawClientOptions {
  /**
   * The server's address.
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * How long each wait may take, in milliseconds.
   * @default {DEFAULT_TIMEOUT_MS}
   */
  timeoutMs?: number;
}

/** A listener for an active (PORT/EPRT) data connection. */
export interface ActiveListener {
  /** The address the listener is bound to. */
  hostname: string;
  /** The port the server must connect to. */
  port: number;
  /** Waits for the server's connection (and stops listening). */
  accept(): Promise<Deno.Conn>;
  /** Stops listening. */
  close(): void;
}

/** A data connection set up by PASV/EPSV (already connected) or PORT/EPRT (a listener). */
export interface DataSetup {
  /** The connection, once the server has opened it. */
  conn(): Promise<Deno.Conn>;
  /** Drops the connection or listener unused. */
  close(): void;
}

/** What {@linkcode RawClient.download} and {@linkcode RawClient.upload} saw. */
export interface TransferResult {
  /** The 1xx reply, if the command got that far. */
  preliminary?: Reply;
  /** The final reply. */
  final: Reply;
  /** The bytes received (downloads only). */
  data: Uint8Array;
}

/**
 * A control connection that knows no FTP commands: tests send lines and
 * check each reply themselves.
 *
 * @example
 * ```ts ignore
 * const client = await RawClient.connect(port);
 * await client.read(); // 220
 * await client.login("alice", "wonderland");
 * client.close();
 * ```
 */
export class RawClient {
  /** The control connection. */
  readonly conn: Deno.TcpConn;
  /** How long each wait may take, in milliseconds. */
  readonly timeoutMs: number;
  /** The server's address, for data connections. */
  readonly hostname: string;
  /** Every byte of the control stream received so far, decoded. */
  transcript = "";

  readonly #parser = new ReplyParser();
  readonly #decoder = new TextDecoder();
  readonly #replies: Reply[] = [];
  readonly #buffer = new Uint8Array(64 * 1024);
  #pendingRead: Promise<number | null> | undefined;
  #eof = false;
  #closed = false;

  private constructor(conn: Deno.TcpConn, hostname: string, timeoutMs: number) {
    this.conn = conn;
    this.hostname = hostname;
    this.timeoutMs = timeoutMs;
  }

  /** Connects to a server; the greeting is left for the test to read. */
  static async connect(port: number, options: RawClientOptions = {}): Promise<RawClient> {
    const hostname = options.hostname ?? "127.0.0.1";
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const conn = await withTimeout(Deno.connect({ hostname, port }), timeoutMs, "connect");
    return new RawClient(conn, hostname, timeoutMs);
  }

  /** Connects, reads the 220 greeting and logs in; throws unless the login answers 230. */
  static async login(
    port: number,
    user = "alice",
    password = "wonderland",
    options: RawClientOptions = {},
  ): Promise<RawClient> {
    const client = await RawClient.connect(port, options);
    try {
      const greeting = await client.read();
      if (greeting.code !== 220) throw new Error(`Greeting was ${greeting.code}`);
      await client.login(user, password);
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /** Sends USER and PASS; throws unless they answer 331 and 230. */
  async login(user: string, password: string): Promise<void> {
    const userReply = await this.command(`USER ${user}`);
    if (userReply.code !== 331) throw new Error(`USER answered ${format(userReply)}`);
    const passReply = await this.command(`PASS ${password}`);
    if (passReply.code !== 230) throw new Error(`PASS answered ${format(passReply)}`);
  }

  /** Sends one line, adding CRLF. */
  send(line: string): Promise<void> {
    return this.sendRaw(encoder.encode(`${line}\r\n`));
  }

  /** Sends bytes exactly as given. */
  async sendRaw(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let written = 0;
    while (written < bytes.length) {
      written += await withTimeout(
        this.conn.write(bytes.subarray(written)),
        this.timeoutMs,
        "control write",
      );
    }
  }

  /** Reads the next complete reply. */
  async read(): Promise<Reply> {
    while (this.#replies.length === 0) {
      if (this.#eof) throw new Error("Control connection closed before a reply");
      await this.#fill();
    }
    return this.#replies.shift()!;
  }

  /** Sends a line and reads the next reply. */
  async command(line: string): Promise<Reply> {
    await this.send(line);
    return await this.read();
  }

  /** Sends a line and reads the next reply, then checks its code. */
  async expect(line: string, code: number): Promise<Reply> {
    const reply = await this.command(line);
    if (reply.code !== code) {
      throw new Error(`"${line}" answered ${format(reply)}, expected ${code}`);
    }
    return reply;
  }

  /** Waits for the server to close the control connection; true if it did before the timeout. */
  async waitForClose(): Promise<boolean> {
    try {
      while (!this.#eof) await this.#fill();
      return true;
    } catch {
      return false;
    }
  }

  /** Sends PASV and connects to the address it announces. */
  async pasv(): Promise<Deno.TcpConn> {
    const reply = await this.expect("PASV", 227);
    const { host, port } = parsePasvReply(reply.lines.join(" "));
    return await withTimeout(Deno.connect({ hostname: host, port }), this.timeoutMs, "PASV");
  }

  /** Sends EPSV (with an optional argument) and connects to the port it announces. */
  async epsv(argument?: string): Promise<Deno.TcpConn> {
    const reply = await this.expect(argument ? `EPSV ${argument}` : "EPSV", 229);
    const port = parseEpsvReply(reply.lines.join(" "));
    return await withTimeout(
      Deno.connect({ hostname: this.hostname, port }),
      this.timeoutMs,
      "EPSV",
    );
  }

  /** Listens for an active data connection on `hostname` (an ephemeral port). */
  listen(hostname = "127.0.0.1"): ActiveListener {
    const listener = Deno.listen({ hostname, port: 0 });
    const timeoutMs = this.timeoutMs;
    return {
      hostname,
      port: listener.addr.port,
      async accept() {
        try {
          return await withTimeout(listener.accept(), timeoutMs, "active data connection");
        } finally {
          closeQuietly(listener);
        }
      },
      close() {
        closeQuietly(listener);
      },
    };
  }

  /** Sets up a passive data connection with PASV. */
  async passiveData(): Promise<DataSetup> {
    const conn = await this.pasv();
    return { conn: () => Promise.resolve(conn), close: () => closeQuietly(conn) };
  }

  /** Sets up an active data connection with PORT (IPv4) to a fresh listener. */
  async portData(): Promise<DataSetup> {
    const listener = this.listen("127.0.0.1");
    try {
      await this.expect(`PORT 127,0,0,1,${listener.port >> 8},${listener.port & 255}`, 200);
    } catch (error) {
      listener.close();
      throw error;
    }
    return { conn: () => listener.accept(), close: () => listener.close() };
  }

  /** Sets up an active data connection with EPRT to a fresh listener on `hostname`. */
  async eprtData(hostname = "127.0.0.1"): Promise<DataSetup> {
    const listener = this.listen(hostname);
    const family = hostname.includes(":") ? 2 : 1;
    try {
      await this.expect(`EPRT |${family}|${hostname}|${listener.port}|`, 200);
    } catch (error) {
      listener.close();
      throw error;
    }
    return { conn: () => listener.accept(), close: () => listener.close() };
  }

  /**
   * Runs a download command (RETR, LIST, NLST, MLSD) over a data connection
   * set up by `setup` (PASV by default): the preliminary reply, every byte,
   * then the final reply. If the command is refused, `data` is empty and
   * `preliminary` undefined.
   */
  async download(
    line: string,
    setup: DataSetup | undefined = undefined,
  ): Promise<TransferResult> {
    const data = setup ?? await this.passiveData();
    await this.send(line);
    const first = await this.read();
    if (first.code >= 200) {
      data.close();
      return { final: first, data: new Uint8Array() };
    }
    const bytes = await readAll(await data.conn());
    const final = await this.read();
    return { preliminary: first, final, data: bytes };
  }

  /** Runs an upload command (STOR, APPE, STOU) sending `content`; like {@linkcode download}. */
  async upload(
    line: string,
    content: Uint8Array | string,
    setup: DataSetup | undefined = undefined,
  ): Promise<TransferResult> {
    const data = setup ?? await this.passiveData();
    await this.send(line);
    const first = await this.read();
    if (first.code >= 200) {
      data.close();
      return { final: first, data: new Uint8Array() };
    }
    await writeAllAndClose(await data.conn(), content);
    const final = await this.read();
    return { preliminary: first, final, data: new Uint8Array() };
  }

  /** Closes the control connection and settles any read still in flight. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      closeQuietly(this.conn);
    }
    if (this.#pendingRead) await this.#pendingRead.catch(() => null);
    this.#pendingRead = undefined;
  }

  async #fill(): Promise<void> {
    // One read stays in flight across timeouts, so no bytes are ever lost.
    this.#pendingRead ??= this.conn.read(this.#buffer).catch(() => null); // a reset ends it too
    const n = await withTimeout(this.#pendingRead, this.timeoutMs, "a reply");
    this.#pendingRead = undefined;
    if (n === null) {
      this.#eof = true;
      return;
    }
    const text = this.#decoder.decode(this.#buffer.subarray(0, n), { stream: true });
    this.transcript += text;
    this.#replies.push(...this.#parser.push(text));
  }
}

/** A reply as "code first-line", for assertion messages. */
export function format(reply: Reply): string {
  return `${reply.code} ${reply.lines.join(" | ")}`;
}

/** The text of a reply, lines joined with "\n". */
export function text(reply: Reply): string {
  return reply.lines.join("\n");
}

/**
 * Starts a test server, runs `fn` with it, and always closes the server
 * (and any clients `fn` registered with `track`) afterwards.
 *
 * @example
 * ```ts
 * await withServer({}, async (server, track) => {
 *   const client = track(await RawClient.login(server.port));
 *   await client.expect("NOOP", 200);
 * });
 * ```
 */
export async function withServer(
  options: TestServerOptions,
  fn: (server: TestServer, track: (client: RawClient) => RawClient) => Promise<void>,
): Promise<void> {
  const server = await startTestServer(options);
  const clients: RawClient[] = [];
  try {
    await fn(server, (client) => {
      clients.push(client);
      return client;
    });
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await server.close();
  }
}
