/**
 * What every `ferry client` command shares: the common flags, the policy
 * they select, how a URL becomes a logged-in {@linkcode FtpClient}, where
 * notices and progress go, and running work over `--parallel N` sessions.
 *
 * @module
 */

import { ClientError, ExitCode, isClientError } from "./errors.ts";
import { FtpClient } from "./ftp_client.ts";
import type { TypeChoice } from "./transfer/local_transfer.ts";
import type { ExistingPolicy } from "./transfer/overwrite.ts";
import { ProgressBar } from "./transfer/progress.ts";
import { readCaFile, type TlsSettings } from "./tls/settings.ts";
import {
  credentialEnvironment,
  type Credentials,
  type CredentialSources,
  type FtpUrl,
  resolveCredentials,
} from "./url.ts";

/** The flags every `ferry client` command accepts. */
export interface ClientOptions {
  /** `--user NAME[:PASS]`. */
  user?: string;
  /** `--active`: EPRT, then PORT. */
  active?: boolean;
  /** `--type`. @default {"binary"} */
  type?: TypeChoice;
  overwrite?: boolean;
  skipExisting?: boolean;
  rename?: boolean;
  continue?: boolean;
  /** `--parallel N`. @default {1} */
  parallel?: number;
  /** `-q`: no notices, no progress bar. */
  quiet?: boolean;
  /** `-v`: the control dialogue on stderr. */
  verbose?: boolean;
  /** `--timeout S`, in seconds. @default {30} */
  timeout?: number;
  /** `--tls`: explicit FTPS (`AUTH TLS`) on ftp:// URLs; ftps:// URLs are implicit FTPS. */
  tls?: boolean;
  /** `--ca-file FILE`: extra trusted certificates (PEM). */
  caFile?: string;
  /** `--insecure`: no certificate verification. */
  insecure?: boolean;
}

/** Where a command's side output goes; replaceable in tests. */
export interface ClientIo {
  /** Writes bytes to stdout. */
  stdout(data: Uint8Array): Promise<void>;
  /** Writes text to stderr as it is (lines end with "\n"). */
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress bars are drawn only then). */
  stderrIsTerminal: boolean;
  /** Credential sources: env, ~/.netrc reader, TTY prompt. */
  credentials: Omit<CredentialSources, "userOption">;
}

/** The standard streams and the real environment. */
export function processIo(): ClientIo {
  const encoder = new TextEncoder();
  const env = credentialEnvironment();
  return {
    async stdout(data) {
      let written = 0;
      while (written < data.length) written += await Deno.stdout.write(data.subarray(written));
    },
    stderr: (text) => void Deno.stderr.writeSync(encoder.encode(text)),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    credentials: {
      env,
      readFile: async (path) => {
        try {
          return await Deno.readTextFile(path);
        } catch {
          return undefined;
        }
      },
      prompt: async (message) => {
        if (!Deno.stdin.isTerminal()) return undefined;
        // Loaded only when a password is asked for: most runs never prompt.
        const { HiddenInputCancelledError, readHiddenLine } = await import(
          "../cli/hidden_input.ts"
        );
        try {
          return await readHiddenLine(message);
        } catch (error) {
          if (error instanceof HiddenInputCancelledError) {
            throw new ClientError("Cancelled", ExitCode.Login);
          }
          throw error;
        }
      },
    },
  };
}

/**
 * The existing-destination policy the flags select; "fail" when none is given.
 *
 * @throws {ClientError} (exit 2) If more than one is given.
 */
export function existingPolicy(options: ClientOptions): ExistingPolicy {
  const chosen: ExistingPolicy[] = [];
  if (options.overwrite) chosen.push("overwrite");
  if (options.skipExisting) chosen.push("skip");
  if (options.rename) chosen.push("rename");
  if (options.continue) chosen.push("continue");
  if (chosen.length > 1) {
    throw new ClientError(
      "--overwrite, --skip-existing, --rename and --continue are mutually exclusive",
      ExitCode.Usage,
    );
  }
  return chosen[0] ?? "fail";
}

/** One command's run: its flags, its I/O, and its logins. */
export class ClientContext {
  /** The flags. */
  readonly options: ClientOptions;
  /** The I/O. */
  readonly io: ClientIo;
  readonly #credentials = new Map<string, Promise<Credentials>>();
  #ca: Promise<string> | undefined;
  #warnedInsecure = false;

  /** Creates a context; the policy flags are checked here. */
  constructor(options: ClientOptions, io: ClientIo = processIo()) {
    this.options = options;
    this.io = io;
    existingPolicy(options);
    if (options.insecure && options.caFile !== undefined) {
      throw new ClientError("--insecure and --ca-file are mutually exclusive", ExitCode.Usage);
    }
  }

  /** The existing-destination policy. */
  get existing(): ExistingPolicy {
    return existingPolicy(this.options);
  }

  /** The --type choice. */
  get type(): TypeChoice {
    return this.options.type ?? "binary";
  }

  /** The number of sessions for batches. */
  get parallel(): number {
    return Math.max(1, this.options.parallel ?? 1);
  }

  /** Prints a line on stdout. */
  async print(line: string): Promise<void> {
    await this.io.stdout(new TextEncoder().encode(`${line}\n`));
  }

  /** Prints a notice on stderr unless -q. */
  notice(line: string): void {
    if (!this.options.quiet) this.io.stderr(`${line}\n`);
  }

  /** Prints a warning on stderr, even with -q. */
  warn(line: string): void {
    this.io.stderr(`ferry: ${line}\n`);
  }

  /** A progress bar, drawn only on a terminal and without -q. */
  progress(label: string, total: number | undefined): ProgressBar {
    return new ProgressBar(label, total, {
      enabled: this.io.stderrIsTerminal && !this.options.quiet,
      write: (text) => this.io.stderr(text),
    });
  }

  /** The login for a URL, resolved once per host and user (one prompt for N sessions). */
  credentialsFor(url: FtpUrl): Promise<Credentials> {
    const key = `${url.user ?? ""}@${url.host}:${url.port}`;
    let credentials = this.#credentials.get(key);
    if (!credentials) {
      const sources: CredentialSources = { ...this.io.credentials };
      if (this.options.user !== undefined) sources.userOption = this.options.user;
      credentials = resolveCredentials(url, sources);
      this.#credentials.set(key, credentials);
    }
    return credentials;
  }

  /**
   * The TLS settings for a URL: implicit for ftps://, explicit with `--tls`,
   * none otherwise. `--insecure` warns once, on stderr, unless -q.
   *
   * @throws {ClientError} (exit 2) If `--ca-file` or `--insecure` is given without TLS,
   *   or the CA file cannot be read.
   */
  async tlsSettings(url: FtpUrl): Promise<TlsSettings | undefined> {
    const mode = url.scheme === "ftps" ? "implicit" : this.options.tls ? "explicit" : undefined;
    if (!mode) {
      if (this.options.caFile !== undefined || this.options.insecure) {
        throw new ClientError(
          "--ca-file and --insecure apply to FTPS only: use an ftps:// URL or --tls",
          ExitCode.Usage,
        );
      }
      return undefined;
    }
    if (this.options.insecure) {
      if (!this.#warnedInsecure) {
        this.#warnedInsecure = true;
        this.notice(
          "ferry: warning: --insecure: the server's TLS certificate is not verified; " +
            "anyone on the path can read and change this session",
        );
      }
      return { mode, insecure: true };
    }
    if (this.options.caFile === undefined) return { mode };
    this.#ca ??= readCaFile(this.options.caFile);
    return { mode, ca: await this.#ca };
  }

  /** Connects and logs in to the URL's server. */
  async connect(url: FtpUrl): Promise<FtpClient> {
    const tls = await this.tlsSettings(url);
    const { user, password } = await this.credentialsFor(url);
    return await FtpClient.connect({
      host: url.host,
      port: url.port,
      user,
      password,
      active: this.options.active ?? false,
      timeoutMs: (this.options.timeout ?? 30) * 1000,
      ...(tls ? { tls } : {}),
      ...(this.options.verbose
        ? { onDialogue: (line: string) => this.io.stderr(`${line}\n`) }
        : {}),
    });
  }

  /** Runs `work` with one session, then says QUIT. */
  async withClient<T>(url: FtpUrl, work: (client: FtpClient) => Promise<T>): Promise<T> {
    const client = await this.connect(url);
    try {
      return await work(client);
    } finally {
      await client.quit();
    }
  }

  /**
   * Runs `work` for each item over up to `--parallel` sessions, each its own
   * {@linkcode FtpClient}. A failed item does not stop the others: with one
   * item its error is thrown as is; with several each failure is reported
   * and the first one's exit code is kept.
   *
   * @throws {ClientError} If any item failed.
   */
  async forEachParallel<T>(
    url: FtpUrl,
    items: readonly T[],
    work: (client: FtpClient, item: T) => Promise<void>,
  ): Promise<void> {
    const queue = [...items];
    const failures: unknown[] = [];
    const worker = async () => {
      let client: FtpClient | undefined;
      try {
        for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
          try {
            client ??= await this.connect(url);
            await work(client, item);
          } catch (error) {
            failures.push(error);
            if (items.length > 1) this.warn(error instanceof Error ? error.message : String(error));
            if (_breaksSession(error)) {
              client?.close();
              client = undefined;
            }
            if (_isFatal(error)) queue.length = 0;
          }
        }
      } finally {
        await client?.quit();
      }
    };
    const workers = Math.min(this.parallel, Math.max(1, items.length));
    await Promise.all(Array.from({ length: workers }, worker));
    const first = failures[0];
    if (first === undefined) return;
    if (items.length === 1 || !isClientError(first)) throw first;
    throw new ClientError(
      `${failures.length} of ${items.length} items failed`,
      first.exitCode,
      { cause: first },
    );
  }
}

function _breaksSession(error: unknown): boolean {
  return isClientError(error) &&
    (error.exitCode === ExitCode.Connect || error.exitCode === ExitCode.Protocol ||
      error.exitCode === ExitCode.TransferInterrupted);
}

/** Errors that would fail every other item the same way: no point going on. */
function _isFatal(error: unknown): boolean {
  return isClientError(error) &&
    (error.exitCode === ExitCode.Login || error.exitCode === ExitCode.Usage);
}
