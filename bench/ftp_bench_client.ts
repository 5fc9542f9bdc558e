/**
 * A minimal FTP client for measurements: a raw control connection over
 * `Deno.Conn`, passive data connections (EPSV, then PASV), downloads read
 * into one reused 4 MiB buffer and counted, uploads written from one buffer
 * held in memory. It parses nothing it does not need, so that the server,
 * not the client, is what a measurement shows.
 *
 * @module
 */

/** A reply: its code and its whole text (every line). */
export interface BenchReply {
  code: number;
  text: string;
}

/** The server answered something other than what the measurement needed. */
export class BenchFtpError extends Error {
  /** The reply code, or 0 when the connection failed. */
  readonly code: number;

  /** Creates the error from what was sent and what came back. */
  constructor(message: string, code = 0) {
    super(message);
    this.name = "BenchFtpError";
    this.code = code;
  }
}

/** What a listing transfer delivered. */
export interface ListingResult {
  bytes: number;
  lines: number;
  /** Milliseconds from sending the command to the first data byte. */
  firstByteMs: number;
  /** Milliseconds from sending the command to the closing reply. */
  totalMs: number;
}

/** Options for {@linkcode BenchFtpClient.connect}. */
export interface BenchConnectOptions {
  /**
   * Give up on connecting after this many milliseconds.
   * @default {10000}
   */
  timeoutMs?: number;
  /**
   * Give up on any one reply (a transfer's closing reply included) after
   * this many milliseconds.
   * @default {REPLY_TIMEOUT_MS}
   */
  replyTimeoutMs?: number;
}

/** Longest wait for a reply (a transfer's closing reply included), in milliseconds. */
export const REPLY_TIMEOUT_MS = 120_000;

/** The size of the buffer downloads are read into. */
export const READ_BUFFER_SIZE = 4 * 1024 * 1024;

const _encoder = new TextEncoder();
const _decoder = new TextDecoder();

/** A buffer every download in this process reads into (its content is thrown away). */
let _sharedReadBuffer: Uint8Array | undefined;

function _readBuffer(): Uint8Array {
  _sharedReadBuffer ??= new Uint8Array(READ_BUFFER_SIZE);
  return _sharedReadBuffer;
}

/** Writes all of `data`, however many writes it takes. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) offset += await conn.write(data.subarray(offset));
}

/** Parses the address of a 229 (EPSV) or 227 (PASV) reply. */
function _passivePort(reply: BenchReply, controlHost: string): { host: string; port: number } {
  if (reply.code === 229) {
    const match = /\(([^\d])\1\1(\d+)\1\)/.exec(reply.text);
    if (match) return { host: controlHost, port: Number(match[2]) };
  } else if (reply.code === 227) {
    const match = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(reply.text);
    if (match) {
      return {
        host: match.slice(1, 5).join("."),
        port: Number(match[5]) * 256 + Number(match[6]),
      };
    }
  }
  throw new BenchFtpError(`Cannot parse passive reply: ${reply.text.trim()}`, reply.code);
}

/**
 * One logged-in (or about to be) control connection.
 *
 * @example
 * ```ts ignore
 * const ftp = await BenchFtpClient.connect("127.0.0.1", 2121);
 * await ftp.login("bench", "secret");
 * const bytes = await ftp.retrieve("/big.bin");
 * await ftp.quit();
 * ```
 */
export class BenchFtpClient {
  readonly #conn: Deno.Conn;
  readonly #host: string;
  readonly #replyTimeoutMs: number;
  readonly #control = new Uint8Array(64 * 1024);
  #pending = "";
  #useEpsv = true;

  private constructor(conn: Deno.Conn, host: string, replyTimeoutMs: number) {
    this.#conn = conn;
    this.#host = host;
    this.#replyTimeoutMs = replyTimeoutMs;
  }

  /** Connects and reads the 220 greeting. */
  static async connect(
    host: string,
    port: number,
    options: BenchConnectOptions = {},
  ): Promise<BenchFtpClient> {
    const conn = await Deno.connect({
      hostname: host,
      port,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    conn.setNoDelay(true);
    const client = new BenchFtpClient(conn, host, options.replyTimeoutMs ?? REPLY_TIMEOUT_MS);
    try {
      await client.expect(await client.readReply(), 220, "greeting");
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /**
   * Reads one whole reply (every line of a multi-line one); closes the
   * connection and throws if none comes in time (see
   * {@linkcode BenchConnectOptions.replyTimeoutMs}).
   */
  async readReply(): Promise<BenchReply> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.close();
    }, this.#replyTimeoutMs);
    try {
      return await this.#readReply();
    } catch (error) {
      if (timedOut) throw new BenchFtpError(`No reply within ${this.#replyTimeoutMs} ms`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #readReply(): Promise<BenchReply> {
    let start = 0;
    let code = "";
    while (true) {
      const newline = this.#pending.indexOf("\n", start);
      if (newline === -1) {
        const n = await this.#conn.read(this.#control);
        if (n === null) {
          throw new BenchFtpError(`Control connection closed: ${this.#pending.trim()}`);
        }
        this.#pending += _decoder.decode(this.#control.subarray(0, n));
        continue;
      }
      const line = this.#pending.slice(start, newline);
      if (code === "" && /^\d{3}[ -]/.test(line)) code = line.slice(0, 3);
      start = newline + 1;
      if (code !== "" && line.startsWith(`${code} `) || line === code) {
        const text = this.#pending.slice(0, start);
        this.#pending = this.#pending.slice(start);
        return { code: Number(code), text };
      }
    }
  }

  /** Sends one command line and reads its reply. */
  async command(line: string): Promise<BenchReply> {
    await writeAll(this.#conn, _encoder.encode(`${line}\r\n`));
    return await this.readReply();
  }

  /** Throws unless the reply has one of the expected codes. */
  expect(reply: BenchReply, codes: number | number[], what: string): BenchReply {
    const wanted = typeof codes === "number" ? [codes] : codes;
    if (!wanted.includes(reply.code)) {
      throw new BenchFtpError(`Unexpected reply to ${what}: ${reply.text.trim()}`, reply.code);
    }
    return reply;
  }

  /** USER, PASS and TYPE I. */
  async login(user: string, password: string): Promise<void> {
    const reply = await this.command(`USER ${user}`);
    if (reply.code === 331) {
      this.expect(await this.command(`PASS ${password}`), 230, "PASS");
    } else {
      this.expect(reply, 230, "USER");
    }
    this.expect(await this.command("TYPE I"), 200, "TYPE I");
  }

  /** Opens a passive data connection: EPSV, or PASV if EPSV is refused. */
  async openData(): Promise<Deno.Conn> {
    let reply: BenchReply | undefined;
    if (this.#useEpsv) {
      reply = await this.command("EPSV");
      if (reply.code !== 229) {
        this.#useEpsv = false;
        reply = undefined;
      }
    }
    reply ??= this.expect(await this.command("PASV"), 227, "PASV");
    const address = _passivePort(reply, this.#host);
    const conn = await Deno.connect({ hostname: address.host, port: address.port });
    conn.setNoDelay(true);
    return conn;
  }

  /** Sends a transfer command on an open data connection and checks the preliminary reply. */
  async #start(verb: string, data: Deno.Conn): Promise<void> {
    const reply = await this.command(verb);
    if (reply.code !== 150 && reply.code !== 125) {
      data.close();
      throw new BenchFtpError(`Unexpected reply to ${verb}: ${reply.text.trim()}`, reply.code);
    }
  }

  /** RETR: reads the file into the reused 4 MiB buffer and returns how many bytes came. */
  async retrieve(path: string): Promise<number> {
    const data = await this.openData();
    await this.#start(`RETR ${path}`, data);
    const buffer = _readBuffer();
    let bytes = 0;
    try {
      while (true) {
        const n = await data.read(buffer);
        if (n === null) break;
        bytes += n;
      }
    } finally {
      data.close();
    }
    this.expect(await this.readReply(), [226, 250], `RETR ${path}`);
    return bytes;
  }

  /**
   * STOR: writes `size` bytes, `chunk` again and again (the last time cut
   * short), and returns once the server has confirmed with 226.
   */
  async store(path: string, chunk: Uint8Array, size: number): Promise<number> {
    const data = await this.openData();
    await this.#start(`STOR ${path}`, data);
    let sent = 0;
    try {
      while (sent < size) {
        const part = size - sent >= chunk.length ? chunk : chunk.subarray(0, size - sent);
        await writeAll(data, part);
        sent += part.length;
      }
    } finally {
      data.close();
    }
    this.expect(await this.readReply(), [226, 250], `STOR ${path}`);
    return sent;
  }

  /**
   * A listing (LIST, NLST or MLSD) counted as it streams in, with the time to
   * the first byte and to the closing reply. Returns undefined if the server
   * does not know the verb (500/502).
   */
  async listing(verb: string, path: string): Promise<ListingResult | undefined> {
    const data = await this.openData();
    const started = performance.now();
    const reply = await this.command(`${verb} ${path}`);
    if (reply.code === 500 || reply.code === 502 || reply.code === 504) {
      data.close();
      return undefined;
    }
    if (reply.code !== 150 && reply.code !== 125) {
      data.close();
      throw new BenchFtpError(`Unexpected reply to ${verb}: ${reply.text.trim()}`, reply.code);
    }
    const buffer = _readBuffer();
    let bytes = 0;
    let lines = 0;
    let firstByteMs = -1;
    try {
      while (true) {
        const n = await data.read(buffer);
        if (n === null) break;
        if (firstByteMs < 0) firstByteMs = performance.now() - started;
        bytes += n;
        for (let i = 0; i < n; i++) if (buffer[i] === 10) lines++;
      }
    } finally {
      data.close();
    }
    this.expect(await this.readReply(), [226, 250], verb);
    return { bytes, lines, firstByteMs, totalMs: performance.now() - started };
  }

  /** QUIT, then close (a failing QUIT still closes). */
  async quit(): Promise<void> {
    try {
      await this.command("QUIT");
    } finally {
      this.close();
    }
  }

  /** Closes the control connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}
