/**
 * `ferry client shell`: an interactive FTP shell in the manner of the
 * classic ftp(1) — open, user, ls/dir, cd/lcd, get/put, mget/mput, type,
 * passive, quote and the rest (see `help`). On a terminal it has line
 * editing, history and Tab completion of commands and remote names; from a
 * pipe or file it runs a script and stops at the first failing command.
 *
 * @module
 */

import { ClientError, ExitCode, isClientError } from "../errors.ts";
import { findCommand } from "./commands.ts";
import { shellCompleter } from "./completion.ts";
import { type LineSource, streamLineSource, terminalLineSource } from "./input.ts";
import { describeError, ShellSession } from "./session.ts";
import { splitWords } from "./words.ts";

/** Options for {@linkcode runShell}. */
export interface ShellOptions {
  /** Open this server first (`HOST[:PORT]` or an ftp:// URL, which may log in). */
  url?: string;
  /**
   * Where commands come from: a byte stream (a script: no prompts, stop at
   * the first failure) or "tty" (process.stdin as a terminal).
   */
  input: ReadableStream<Uint8Array> | "tty";
  /** Receives normal output, prompts and (on a terminal) the echo of typing. */
  output: (text: string) => void;
  /**
   * Receives error messages.
   * @default {options.output}
   */
  error?: (text: string) => void;
  /**
   * Reply and connect timeout, in milliseconds.
   * @default {30000}
   */
  timeoutMs?: number;
  /**
   * The starting local directory.
   * @default {Deno.cwd()}
   */
  localDir?: string;
  /**
   * The prompt on a terminal.
   * @default {"ferry> "}
   */
  prompt?: string;
  /**
   * Explicit FTPS (`AUTH TLS`) for hosts and ftp:// URLs (`set tls on`).
   * @default {false}
   */
  tls?: boolean;
  /**
   * How FTPS certificates are checked: extra trusted certificates (PEM), or
   * not at all (`insecure`).
   * @default {{}}
   */
  trust?: { ca?: string; insecure?: boolean };
}

/** What running one line gave. */
interface LineResult {
  code: number;
  quit: boolean;
}

/**
 * Runs the shell until `quit` or the end of input, and returns the exit
 * code: 0 after quit or at the end of input; in a script, the code of the
 * first failing command (lines starting with "-" may fail). Never exits
 * the process.
 *
 * @example
 * ```ts ignore
 * const script = "open ftp://alice:wonderland@127.0.0.1:2121\nls\nquit\n";
 * const code = await runShell({
 *   input: ReadableStream.from([new TextEncoder().encode(script)]),
 *   output: (text) => console.log(text.trimEnd()),
 * });
 * ```
 */
export async function runShell(options: ShellOptions): Promise<number> {
  const print = options.output;
  const error = options.error ?? options.output;
  // The completer and the interrupt handler need the session, which needs the input.
  const ref: { session?: ShellSession } = {};
  const input: LineSource = options.input === "tty"
    ? terminalLineSource({
      output: print,
      completer: (line) =>
        ref.session ? shellCompleter(ref.session)(line) : Promise.resolve([[], line]),
      onInterrupt: () => {
        if (!ref.session?.busy) return;
        error("Interrupted: closing the connection.\n");
        ref.session.abort();
      },
    })
    : streamLineSource(options.input);
  const session = new ShellSession({ print, error, input }, {
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.localDir !== undefined ? { localDir: options.localDir } : {}),
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    ...(options.trust !== undefined ? { trust: options.trust } : {}),
  });

  ref.session = session;
  const prompt = options.prompt ?? "ferry> ";
  try {
    if (options.url !== undefined) {
      const result = await runWords(session, ["open", options.url]);
      if (result.code !== 0 && !input.interactive) return result.code;
    }
    while (true) {
      const line = await input.readLine(prompt);
      if (line === null) {
        if (input.interactive) print("\n");
        return ExitCode.Ok;
      }
      let text = line.trim();
      if (text === "" || text.startsWith("#")) continue;
      const ignoreErrors = text.startsWith("-");
      if (ignoreErrors) text = text.slice(1).trimStart();
      const result = await runLine(session, text);
      if (result.quit) return ExitCode.Ok;
      if (result.code !== 0 && !input.interactive && !ignoreErrors) return result.code;
    }
  } finally {
    await session.disconnect();
    input.close();
  }
}

/** Runs one command line (already trimmed, without a "-" prefix). */
function runLine(session: ShellSession, line: string): Promise<LineResult> {
  if (line.startsWith("!")) {
    return Promise.resolve(
      fail(session, new ClientError("Local shell escapes (!) are not supported.", ExitCode.Usage)),
    );
  }
  let words: string[];
  try {
    words = splitWords(line);
  } catch (error) {
    return Promise.resolve(
      fail(session, new ClientError((error as Error).message, ExitCode.Usage)),
    );
  }
  return runWords(session, words);
}

async function runWords(session: ShellSession, words: string[]): Promise<LineResult> {
  const [name = "", ...args] = words;
  const command = findCommand(name);
  if (!command) {
    return fail(
      session,
      new ClientError(`Unknown command ${name}. Type help for a list.`, ExitCode.Usage),
    );
  }
  if (args.length < command.minArgs || args.length > command.maxArgs) {
    return fail(
      session,
      new ClientError(`Usage: ${command.name} ${command.usage}`.trimEnd(), ExitCode.Usage),
    );
  }
  session.busy = true;
  try {
    if (command.needs === "connection") session.requireConnection();
    if (command.needs === "login") session.requireLogin();
    const outcome = await session.serialize(() => command.run(session, args));
    return { code: ExitCode.Ok, quit: outcome === "quit" };
  } catch (error) {
    const result = fail(session, error);
    if (isClientError(error) && error.exitCode === ExitCode.Connect) {
      if (await session.checkAlive(error)) {
        session.io.error("Connection lost. Use open HOST to reconnect.\n");
      }
    }
    return result;
  } finally {
    session.busy = false;
  }
}

function fail(session: ShellSession, error: unknown): LineResult {
  session.io.error(`${describeError(error)}\n`);
  return {
    code: isClientError(error) ? error.exitCode : ExitCode.Failure,
    quit: false,
  };
}
