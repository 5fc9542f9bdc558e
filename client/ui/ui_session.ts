/**
 * One browser session of `ferry client ui`: the server it is connected to
 * (the password only in memory), one FTP connection for browsing, used one
 * request at a time, the FTP command log (passwords masked), and the
 * transfer queue with its own connections.
 *
 * @module
 */

import { ClientError, ExitCode, FtpReplyError, isClientError } from "../errors.ts";
import { ReplyCode } from "../../protocol/reply.ts";
import { FtpClient, type FtpConnectOptions } from "../ftp_client.ts";
import type { TlsSettings } from "../tls/settings.ts";
import { credentialEnvironment, type FtpUrl, resolveCredentials } from "../url.ts";
import { EventHub } from "./event_hub.ts";
import type { LocalJail } from "./local_jail.ts";
import { TransferQueue } from "./transfer_queue.ts";

/** What the connect form sends. */
export interface ConnectForm {
  host: string;
  port?: number;
  user?: string;
  /** Empty or absent: the URL's, `~/.netrc`'s or `FERRY_PASSWORD`'s, else anonymous. */
  password?: string;
  /** @default {"none"} */
  security?: "none" | "explicit" | "implicit";
  /** @default {false} */
  active?: boolean;
  /** Verify the server's certificate. @default {true} */
  verify?: boolean;
}

/** What the page is told about the connection (never the password). */
export interface ConnectionView {
  host: string;
  port: number;
  user: string;
  security: "none" | "explicit" | "implicit";
  active: boolean;
  verify: boolean;
  tlsProtocol?: string;
}

/** One line of the command log. */
export interface LogLine {
  /** Milliseconds since the epoch. */
  time: number;
  /** Which connection: "browse" or "transfer N". */
  connection: string;
  text: string;
}

/** Options for {@linkcode UiSession}. */
export interface UiSessionOptions {
  jail: LocalJail;
  /** Where files dropped from the desktop wait for their upload. */
  stagingDir: string;
  /** Transfers at once. @default {2} */
  parallel?: number;
  /** Extra trusted certificates (PEM) for FTPS. */
  ca?: string;
  /** Connect and reply timeout. @default {30000} */
  timeoutMs?: number;
  /** A URL given on the command line: fills the form, may carry the password. */
  url?: FtpUrl;
}

/** The most log lines kept. */
const LOG_LIMIT = 2000;

/** A user-facing message for an error from a connection or a command. */
export function describeError(error: unknown): string {
  if (error instanceof FtpReplyError && error.exitCode === ExitCode.Login) {
    return `Login refused by the server: ${error.code} ${error.text}`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A browser session. */
export class UiSession {
  /** Events for the page's event streams. */
  readonly events = new EventHub();
  /** The transfer queue. */
  readonly queue: TransferQueue;
  /** The local folder. */
  readonly jail: LocalJail;
  readonly #options: UiSessionOptions;
  readonly #log: LogLine[] = [];
  #settings: FtpConnectOptions | undefined;
  #view: ConnectionView | undefined;
  #browse: FtpClient | undefined;
  #lock: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** Creates the session. */
  constructor(options: UiSessionOptions) {
    this.#options = options;
    this.jail = options.jail;
    this.queue = new TransferQueue(this, {
      parallel: options.parallel ?? 2,
      stagingDir: options.stagingDir,
    });
  }

  /** The connection, or undefined when not connected. */
  get connection(): ConnectionView | undefined {
    return this.#view;
  }

  /** The log lines kept. */
  get log(): readonly LogLine[] {
    return this.#log;
  }

  /** The form's starting values: from the URL, else `~/.netrc` (never the password itself). */
  async prefill(): Promise<Record<string, unknown>> {
    const url = this.#options.url;
    if (!url) return {};
    const credentials = await this.#credentials(url.host, url.user, url.password).catch(() =>
      undefined
    );
    return {
      host: url.host,
      port: url.port,
      user: credentials?.user === "anonymous" ? (url.user ?? "") : (credentials?.user ?? ""),
      security: url.scheme === "ftps" ? "implicit" : "none",
      savedPassword: credentials !== undefined && credentials.user !== "anonymous",
      path: url.path,
    };
  }

  #credentials(host: string, user: string | undefined, password: string | undefined) {
    const url: FtpUrl = { host, port: 21, path: "/", directory: true, scheme: "ftp" };
    if (user !== undefined && user !== "") url.user = user;
    if (password !== undefined && password !== "") url.password = password;
    return resolveCredentials(url, {
      env: credentialEnvironment(),
      readFile: async (file) => {
        try {
          return await Deno.readTextFile(file);
        } catch {
          return undefined;
        }
      },
    });
  }

  /** Adds a line to the command log and sends it to the page. */
  addLog(connection: string, text: string): void {
    const line = { time: Date.now(), connection, text };
    this.#log.push(line);
    if (this.#log.length > LOG_LIMIT) this.#log.splice(0, this.#log.length - LOG_LIMIT);
    this.events.publish("log", line);
  }

  /**
   * Connects and logs in with the form's values (replacing any connection),
   * and returns the starting directory.
   */
  async connect(form: ConnectForm): Promise<{ connection: ConnectionView; cwd: string }> {
    const host = String(form.host ?? "").trim();
    if (host === "" || /[\s/]/.test(host)) {
      throw new ClientError("Enter a host name", ExitCode.Usage);
    }
    const security = form.security ?? "none";
    if (!["none", "explicit", "implicit"].includes(security)) {
      throw new ClientError("Unknown security choice", ExitCode.Usage);
    }
    const port = form.port === undefined || String(form.port) === ""
      ? (security === "implicit" ? 990 : 21)
      : Number(form.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ClientError("The port must be a number from 1 to 65535", ExitCode.Usage);
    }
    const verify = form.verify ?? true;
    const url = this.#options.url;
    const urlPassword = url && url.host === host && (form.user ?? "") === (url.user ?? form.user)
      ? url.password
      : undefined;
    const { user, password } = await this.#credentials(
      host,
      form.user?.trim(),
      form.password || urlPassword,
    ).catch((error) => {
      // No password anywhere (form, URL, ~/.netrc, FERRY_PASSWORD): ask the person, not a terminal.
      if (isClientError(error) && error.exitCode === ExitCode.Login) {
        throw new ClientError(`Enter the password for ${form.user?.trim()}`, ExitCode.Usage);
      }
      throw error;
    });
    let tls: TlsSettings | undefined;
    if (security !== "none") {
      tls = { mode: security };
      if (!verify) tls.insecure = true;
      else if (this.#options.ca !== undefined) tls.ca = this.#options.ca;
    }
    const settings: FtpConnectOptions = {
      host,
      port,
      user,
      password,
      active: form.active ?? false,
      timeoutMs: this.#options.timeoutMs ?? 30_000,
      ...(tls ? { tls } : {}),
    };
    await this.disconnect();
    const client = await this.#open(settings, "browse");
    this.#settings = settings;
    this.#browse = client;
    this.#view = {
      host,
      port,
      user,
      security,
      active: settings.active ?? false,
      verify,
      ...(client.tlsProtocol ? { tlsProtocol: client.tlsProtocol } : {}),
    };
    this.events.publish("connection", this.#view);
    const cwd = await this.withBrowse((browse) => browse.pwd()).catch(() => "/");
    return { connection: this.#view, cwd };
  }

  async #open(settings: FtpConnectOptions, label: string): Promise<FtpClient> {
    this.addLog(label, `Connecting to ${settings.host} port ${settings.port}…`);
    try {
      return await FtpClient.connect({
        ...settings,
        onDialogue: (line) => this.addLog(label, line),
      });
    } catch (error) {
      this.addLog(label, `Failed: ${describeError(error)}`);
      throw error;
    }
  }

  /** A new logged-in connection for a transfer worker. */
  openClient(label: string): Promise<FtpClient> {
    if (!this.#settings) throw new ClientError("Not connected", ExitCode.Usage);
    return this.#open(this.#settings, label);
  }

  /** Whether the session is connected. */
  get connected(): boolean {
    return this.#settings !== undefined;
  }

  /**
   * Runs `work` on the browsing connection, one at a time; a connection the
   * server closed (idle timeout) is opened again once.
   */
  withBrowse<T>(work: (client: FtpClient) => Promise<T>): Promise<T> {
    const run = async () => {
      if (!this.#settings) throw new ClientError("Not connected", ExitCode.Usage);
      this.#browse ??= await this.#open(this.#settings, "browse");
      try {
        return await work(this.#browse);
      } catch (error) {
        if (!isClientError(error) || error.exitCode !== ExitCode.Connect) throw error;
        if (error instanceof FtpReplyError && error.code !== ReplyCode.ServiceUnavailable) {
          throw error;
        }
        this.#browse.close();
        this.#browse = await this.#open(this.#settings, "browse");
        return await work(this.#browse);
      }
    };
    const result = this.#lock.then(run, run);
    this.#lock = result.catch(() => {});
    return result;
  }

  /** Closes the connections and forgets the password; transfers are cancelled. */
  async disconnect(): Promise<void> {
    await this.queue.cancelAll();
    const browse = this.#browse;
    this.#browse = undefined;
    this.#settings = undefined;
    if (this.#view) {
      this.#view = undefined;
      this.events.publish("connection", null);
    }
    if (browse) await this.#lock.then(() => browse.quit());
  }

  /** Ends the session (the UI server stops). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.disconnect();
  }
}
