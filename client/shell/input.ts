/**
 * Where the shell's lines come from: a byte stream (a script or a pipe, no
 * prompts, a password is simply the next line) or the terminal, through
 * `node:readline` with history, Tab completion and a hidden password prompt.
 *
 * @module
 */

import * as readline from "node:readline";
import process from "node:process";
import { Writable } from "node:stream";

/** Completes the word before the cursor: the candidates and the text they replace. */
export type Completer = (line: string) => Promise<[string[], string]>;

/** A source of command lines and answers. */
export interface LineSource {
  /** True for a terminal (prompts, questions, history). */
  readonly interactive: boolean;
  /** The next line, or null at the end of input. The prompt is shown only when interactive. */
  readLine(prompt: string, options?: { history?: boolean }): Promise<string | null>;
  /** The next line without echoing it (a password), or null at the end of input. */
  readSecret(prompt: string): Promise<string | null>;
  /** Stops reading and restores the terminal. */
  close(): void;
}

/**
 * Lines from a byte stream: one per LF (a trailing CR is dropped), the
 * last one even without a final newline.
 *
 * @example
 * ```ts
 * const source = streamLineSource(ReadableStream.from([new TextEncoder().encode("pwd\n")]));
 * await source.readLine("ftp> "); // "pwd"
 * ```
 */
export function streamLineSource(stream: ReadableStream<Uint8Array>): LineSource {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let ended = false;
  const next = async (): Promise<string | null> => {
    while (true) {
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return line.endsWith("\r") ? line.slice(0, -1) : line;
      }
      if (ended) {
        if (buffered === "") return null;
        const line = buffered;
        buffered = "";
        return line;
      }
      const { value, done } = await reader.read();
      if (done) ended = true;
      else buffered += value;
    }
  };
  return {
    interactive: false,
    readLine: () => next(),
    readSecret: () => next(),
    close: () => {
      reader.cancel().catch(() => {});
    },
  };
}

/** Options for {@linkcode terminalLineSource}. */
export interface TerminalOptions {
  /** Receives everything readline draws (prompt, echo, completion lists). */
  output: (text: string) => void;
  /** Tab completion. */
  completer?: Completer;
  /** Called on Ctrl-C while no line is being read (a command is running). */
  onInterrupt?: () => void;
  /**
   * Lines kept for the up and down arrows.
   * @default {500}
   */
  historySize?: number;
}

/**
 * Lines from the terminal (process.stdin in raw mode) through `node:readline`:
 * line editing, up/down history, Tab completion, Ctrl-C clears the line,
 * Ctrl-D on an empty line ends the input.
 *
 * @example
 * ```ts ignore
 * const source = terminalLineSource({ output: (text) => Deno.stdout.writeSync(new TextEncoder().encode(text)) });
 * const line = await source.readLine("ftp> ");
 * source.close();
 * ```
 */
export function terminalLineSource(options: TerminalOptions): LineSource {
  let muted = false;
  const decoder = new TextDecoder();
  const output = new Writable({
    write(chunk: Uint8Array | string, _encoding, callback) {
      if (!muted) options.output(typeof chunk === "string" ? chunk : decoder.decode(chunk));
      callback();
    },
  });
  const completer = options.completer;
  const rl = readline.createInterface({
    input: process.stdin,
    output,
    terminal: true,
    historySize: options.historySize ?? 500,
    removeHistoryDuplicates: true,
    tabSize: 4,
    ...(completer
      ? {
        completer: (
          line: string,
          callback: (error?: Error | null, result?: [string[], string]) => void,
        ) => {
          completer(line).then(
            (result) => callback(null, result),
            () => callback(null, [[], line]),
          );
        },
      }
      : {}),
  });
  // readline keeps its history in this (undocumented but stable) array, newest first.
  const history = (rl as unknown as { history: string[] }).history;
  const lines: string[] = [];
  let waiter: ((line: string | null) => void) | undefined;
  let closed = false;
  let reading = false;
  rl.on("line", (line: string) => {
    if (waiter) {
      const resolve = waiter;
      waiter = undefined;
      resolve(line);
    } else lines.push(line);
  });
  rl.on("close", () => {
    closed = true;
    waiter?.(null);
    waiter = undefined;
  });
  rl.on("SIGINT", () => {
    if (!reading) {
      options.onInterrupt?.();
      return;
    }
    const state = rl as unknown as { line: string; cursor: number };
    state.line = "";
    state.cursor = 0;
    options.output("^C\n");
    rl.prompt();
  });
  const next = (): Promise<string | null> => {
    const queued = lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (closed) return Promise.resolve(null);
    return new Promise((resolve) => waiter = resolve);
  };
  return {
    interactive: true,
    async readLine(prompt, readOptions = {}) {
      rl.setPrompt(prompt);
      rl.prompt();
      reading = true;
      try {
        const line = await next();
        if (line !== null && readOptions.history === false && history[0] === line) history.shift();
        return line;
      } finally {
        reading = false;
      }
    },
    async readSecret(prompt) {
      rl.setPrompt("");
      options.output(prompt);
      muted = true;
      reading = true;
      try {
        const line = await next();
        if (line !== null && history[0] === line) history.shift();
        return line;
      } finally {
        muted = false;
        reading = false;
        options.output("\n");
      }
    },
    close() {
      if (!closed) rl.close();
    },
  };
}
