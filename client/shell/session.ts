/**
 * The state of one interactive shell: the connection (none, connected but
 * not logged in, logged in), the settings (`type`, `passive`, `set
 * existing`), the local and remote directories, and a cache of remote
 * listings for Tab completion.
 *
 * @module
 */

import { ReplyCode } from "../../protocol/reply.ts";
import * as path from "node:path";
import * as posix from "node:path/posix";
import { ControlConnection } from "../connection/control_connection.ts";
import { ClientError, ExitCode, FtpReplyError, isClientError } from "../errors.ts";
import { FtpClient, type RemoteEntry } from "../ftp_client.ts";
import type { TypeChoice } from "../transfer/local_transfer.ts";
import type { ExistingPolicy } from "../transfer/overwrite.ts";
import type { LineSource } from "./input.ts";
import { authRefused, type TlsSettings } from "../tls/settings.ts";

/** What to do about an existing destination: a fixed policy, or ask on a terminal. */
export type ExistingSetting = ExistingPolicy | "ask";

/** How the shell talks to its user. */
export interface ShellIo {
  /** Normal output (listings, transfer reports). */
  print: (text: string) => void;
  /** Error messages. */
  error: (text: string) => void;
  /** Where commands, passwords and answers come from. */
  input: LineSource;
}

/** Options for a {@linkcode ShellSession}. */
export interface ShellSessionOptions {
  /**
   * Reply and connect timeout, in milliseconds.
   * @default {30000}
   */
  timeoutMs?: number;
  /**
   * The local directory `get` writes to and `put` reads from.
   * @default {Deno.cwd()}
   */
  localDir?: string;
  /** Receives the control dialogue when `debug` is on. */
  onDialogue?: (line: string) => void;
  /**
   * How FTPS certificates are checked: extra trusted certificates (PEM), or
   * none at all (`insecure`).
   * @default {{}}
   */
  trust?: { ca?: string; insecure?: boolean };
  /**
   * Use explicit FTPS (`AUTH TLS`) when `open` gets a host or an ftp:// URL.
   * @default {false}
   */
  tls?: boolean;
}

/** How a shell connection uses TLS: none, implicit (ftps://) or explicit (AUTH TLS). */
export type ShellTlsMode = "none" | "implicit" | "explicit";

/** How long a cached listing is used for completion, in milliseconds. */
const LISTING_TTL_MS = 30_000;

/** One shell's connection and settings. */
export class ShellSession {
  readonly io: ShellIo;
  /** The logged-in client, if any. */
  client: FtpClient | undefined;
  /** The server we are connected to (logged in or not). */
  target: { host: string; port: number; tls: ShellTlsMode } | undefined;
  /** The user logged in as. */
  user: string | undefined;
  /** Representation type choice for transfers. */
  type: TypeChoice = "binary";
  /** What `get`/`put` do when the destination exists. */
  existing: ExistingSetting;
  /** Active (PORT/EPRT) instead of passive data connections. */
  active = false;
  /** Print the control dialogue. */
  debug = false;
  /** `set tls on`: explicit FTPS for hosts and ftp:// URLs that `open` gets. */
  tls: boolean;
  /** How certificates are checked (`--ca-file`, `--insecure`). */
  readonly trust: { ca?: string; insecure?: boolean };
  /** The directory local paths are relative to. */
  localDir: string;
  /** The remote working directory, as PWD last said. */
  remoteDir = "/";
  /** True while a command runs (completion then uses only cached listings). */
  busy = false;
  readonly #timeoutMs: number;
  readonly #onDialogue: ((line: string) => void) | undefined;
  #pending: ControlConnection | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #listings = new Map<string, { entries: RemoteEntry[]; time: number }>();

  /** Creates a disconnected session. */
  constructor(io: ShellIo, options: ShellSessionOptions = {}) {
    this.io = io;
    this.existing = io.input.interactive ? "ask" : "fail";
    this.localDir = options.localDir ?? Deno.cwd();
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#onDialogue = options.onDialogue;
    this.tls = options.tls ?? false;
    this.trust = options.trust ?? {};
  }

  /** The TLS settings for a mode, with the session's trust. */
  tlsSettings(mode: ShellTlsMode): TlsSettings | undefined {
    if (mode === "none") return undefined;
    return {
      mode,
      ...(this.trust.ca === undefined ? {} : { ca: this.trust.ca }),
      ...(this.trust.insecure ? { insecure: true } : {}),
    };
  }

  /** True when connected (logged in or not). */
  get connected(): boolean {
    return this.target !== undefined;
  }

  /** Throws the shell's message unless connected. */
  requireConnection(): void {
    if (!this.target) {
      throw new ClientError("Not connected. Use open HOST first.", ExitCode.Connect);
    }
  }

  /** The logged-in client, or the shell's message about what is missing. */
  requireLogin(): FtpClient {
    this.requireConnection();
    if (!this.client) {
      throw new ClientError("Not logged in. Use user NAME first.", ExitCode.Login);
    }
    return this.client;
  }

  /**
   * Connects without logging in (with FTPS, TLS comes first, so a bad
   * certificate shows here); returns the greeting's lines.
   */
  async connect(host: string, port: number, tls: ShellTlsMode = "none"): Promise<string[]> {
    if (this.target) {
      throw new ClientError(
        `Already connected to ${this.target.host}. Use close first.`,
        ExitCode.Usage,
      );
    }
    const settings = this.tlsSettings(tls);
    const { connection, greeting } = await ControlConnection.connect(host, port, {
      timeoutMs: this.#timeoutMs,
      onDialogue: (line) => this.#dialogue(line),
      ...(settings?.mode === "implicit" ? { implicitTls: { host, settings } } : {}),
    });
    try {
      if (greeting.code !== ReplyCode.ServiceReady) {
        throw new ClientError(
          `${greeting.code} ${greeting.lines.join(" ").trim()}`,
          ExitCode.Connect,
        );
      }
      if (settings?.mode === "explicit") {
        const auth = await connection.request("AUTH", "TLS");
        if (auth.code !== ReplyCode.AuthOk) throw authRefused(auth);
        await connection.startTls(host, settings);
      }
    } catch (error) {
      connection.close();
      throw error;
    }
    this.#pending = connection;
    this.target = { host, port, tls };
    return greeting.lines;
  }

  /**
   * Logs in. FtpClient logs in as it connects, so the connection opened by
   * {@linkcode connect} is replaced by a fresh, logged-in one.
   */
  async login(user: string, password: string): Promise<void> {
    this.requireConnection();
    const { host, port, tls } = this.target!;
    const settings = this.tlsSettings(tls);
    await this.#dropConnections();
    try {
      this.client = await FtpClient.connect({
        host,
        port,
        ...(settings ? { tls: settings } : {}),
        user,
        password,
        active: this.active,
        timeoutMs: this.#timeoutMs,
        onDialogue: (line) => this.#dialogue(line),
      });
    } catch (error) {
      if (isClientError(error) && error.exitCode === ExitCode.Connect) {
        this.target = undefined;
      }
      throw error;
    }
    this.user = user;
    this.#listings.clear();
    this.remoteDir = await this.client.pwd();
  }

  /** Says QUIT and forgets the server. */
  async disconnect(): Promise<void> {
    await this.#dropConnections();
    this.target = undefined;
    this.#listings.clear();
    this.remoteDir = "/";
  }

  async #dropConnections(): Promise<void> {
    const client = this.client;
    const pending = this.#pending;
    this.client = undefined;
    this.#pending = undefined;
    this.user = undefined;
    await client?.quit();
    if (pending && !pending.closed) {
      try {
        await pending.request("QUIT");
      } catch {
        // the server may have gone already
      }
      pending.close();
    }
  }

  /**
   * After a connection-class error: checks with NOOP whether the control
   * connection still works, and forgets the server if it does not.
   * A 421 reply means the server is closing: no need to ask. Returns true
   * if the connection was lost.
   */
  async checkAlive(error?: unknown): Promise<boolean> {
    if (!this.client) return false;
    try {
      if (error instanceof FtpReplyError && error.code === ReplyCode.ServiceUnavailable) {
        throw error;
      }
      await this.client.quote("NOOP");
      return false;
    } catch {
      this.client.close();
      this.client = undefined;
      this.target = undefined;
      this.user = undefined;
      this.#listings.clear();
      return true;
    }
  }

  /** Closes the connection without waiting (Ctrl-C during a transfer). */
  abort(): void {
    this.client?.close();
  }

  /** A local path resolved against the shell's local directory. */
  localPath(name: string): string {
    if (name === "~" || name.startsWith("~/")) {
      const home = homeDir();
      if (home) return path.resolve(home, name.slice(2));
    }
    return path.resolve(this.localDir, name);
  }

  /** A remote path made absolute against the remote working directory. */
  remotePath(name: string): string {
    return posix.resolve(this.remoteDir, name);
  }

  /** The entries of a remote directory, from the cache when fresh (and always when busy). */
  async listRemote(dir: string, options: { cachedOnly?: boolean } = {}): Promise<RemoteEntry[]> {
    const key = this.remotePath(dir);
    const cached = this.#listings.get(key);
    if (cached && (options.cachedOnly || Date.now() - cached.time < LISTING_TTL_MS)) {
      return cached.entries;
    }
    if (options.cachedOnly) return [];
    const entries = await this.requireLogin().list(dir === "." ? undefined : dir);
    this.remember(dir, entries);
    return entries;
  }

  /**
   * Runs `work` after everything queued before it: commands and the
   * listings Tab completion fetches never share the control connection.
   */
  serialize<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Caches a listing (from `ls`) for completion. */
  remember(dir: string, entries: RemoteEntry[]): void {
    this.#listings.set(this.remotePath(dir), { entries, time: Date.now() });
  }

  /** Forgets cached listings after a change on the server. */
  forgetListings(): void {
    this.#listings.clear();
  }

  #dialogue(line: string): void {
    this.#onDialogue?.(line);
    if (this.debug) this.io.print(`${line}\n`);
  }
}

/** The user's home directory, or undefined without permission to read the environment. */
export function homeDir(): string | undefined {
  try {
    return Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  } catch {
    return undefined;
  }
}

/**
 * The one-line message for an error: a server's reply as "550 text", else
 * the error's message.
 *
 * @example
 * ```ts
 * describeError(new Error("boom")); // "boom"
 * ```
 */
export function describeError(error: unknown): string {
  if (error instanceof FtpReplyError) {
    return `${error.code} ${error.text}`;
  }
  return error instanceof Error ? error.message : String(error);
}
