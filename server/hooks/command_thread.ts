/**
 * Runs command hooks on a worker thread ({@linkcode CommandThread}), so that
 * starting a process never stalls the sessions' thread.
 *
 * @module
 */

import { type CommandRequest, type CommandResponse, commandWorkerMain } from "./command_worker.ts";
import { firstReplyLine } from "./reply_line.ts";
import type { HookOutcome } from "./run_hook.ts";

/**
 * How a command's end counts: exit status 0 is `ok`, another status or a
 * signal `failed`, killed at its timeout `timeout`, unable to start `error`.
 * The line is the first of its output (stdout, else stderr), sanitised.
 */
export function commandOutcome(response: CommandResponse, timeoutMs: number): HookOutcome {
  const { ms } = response;
  if (response.spawnError !== "") {
    return { result: "error", line: "", message: `cannot run: ${response.spawnError}`, ms };
  }
  const line = firstReplyLine(response.stdout) || firstReplyLine(response.stderr);
  if (response.timedOut) {
    return { result: "timeout", line, message: `killed after ${timeoutMs} ms`, ms };
  }
  if (response.success) return { result: "ok", line, message: "", ms };
  const how = response.signal ? `signal ${response.signal}` : `exit status ${response.code}`;
  const err = firstReplyLine(response.stderr);
  return { result: "failed", line, message: err ? `${how}: ${err}` : how, ms };
}

/**
 * A worker thread that runs command hooks (a program and its arguments, no
 * shell, the event in its environment, killed at its timeout), started at
 * the first command and ended by {@linkcode CommandThread.close}. A worker
 * that fails is replaced at the next command; the runs it held end as
 * `error`.
 *
 * @example
 * ```ts
 * const thread = new CommandThread();
 * const outcome = await thread.run(["/bin/true"], { FERRY_EVENT: "upload" }, 30_000);
 * thread.close();
 * ```
 */
export class CommandThread {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, (response: CommandResponse) => void>();
  #nextId = 1;

  /** Runs `command` with `env` added to the environment, killed at `timeoutMs`. */
  async run(
    command: string[],
    env: Record<string, string>,
    timeoutMs: number,
  ): Promise<HookOutcome> {
    const worker = this.#worker ??= this.#start();
    const id = this.#nextId++;
    const response = await new Promise<CommandResponse>((resolve) => {
      this.#pending.set(id, resolve);
      const request: CommandRequest = { id, command, env, timeoutMs };
      worker.postMessage(request);
    });
    return commandOutcome(response, timeoutMs);
  }

  #start(): Worker {
    const source = `(${commandWorkerMain.toString()})();`;
    const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
    const worker = new Worker(url, { type: "module" });
    URL.revokeObjectURL(url);
    worker.onmessage = ({ data }: MessageEvent<CommandResponse>) => {
      const resolve = this.#pending.get(data.id);
      this.#pending.delete(data.id);
      resolve?.(data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      if (this.#worker === worker) this.#worker = undefined;
      worker.terminate();
      this.#failAll(`hook worker failed: ${event.message}`);
    };
    return worker;
  }

  #failAll(message: string): void {
    const pending = [...this.#pending.entries()];
    this.#pending.clear();
    for (const [id, resolve] of pending) {
      resolve({
        id,
        spawnError: message,
        timedOut: false,
        success: false,
        code: -1,
        signal: null,
        stdout: "",
        stderr: "",
        ms: 0,
      });
    }
  }

  /** Ends the worker; runs still pending end as `error`. */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#failAll("server closed");
  }
}
