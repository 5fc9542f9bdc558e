/**
 * How a hook run ended ({@linkcode HookOutcome}), and running a webhook
 * once: one JSON object POSTed, bounded by a timeout. Commands run on a
 * worker thread (see command_thread.ts).
 *
 * @module
 */

import type { HookResult } from "./hook_stats.ts";
import { firstReplyLine } from "./reply_line.ts";

/** How one run ended. */
export interface HookOutcome {
  /** The result, as counted. */
  readonly result: HookResult;
  /** The first line of its output (stdout, else stderr; a webhook's response body), sanitised. */
  readonly line: string;
  /** Why it did not succeed, for the log; empty when it did. */
  readonly message: string;
  /** How long it ran, in milliseconds. */
  readonly ms: number;
}

/** How much of a webhook's answer is kept (the rest is read and dropped). */
const OUTPUT_LIMIT = 4096;

/** Reads a stream to its end, keeping the first {@linkcode OUTPUT_LIMIT} bytes. */
class OutputCapture {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #chunks: Uint8Array[] = [];
  #kept = 0;
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
    this.done = this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (true) {
        const { value, done } = await this.#reader.read();
        if (done) return;
        if (this.#kept < OUTPUT_LIMIT) {
          const part = value.subarray(0, OUTPUT_LIMIT - this.#kept);
          this.#chunks.push(part);
          this.#kept += part.length;
        }
      }
    } catch {
      // cancelled, or the pipe failed: what was read is all there is
    }
  }

  /** The output read so far, once the stream ended or `graceMs` passed (then reading stops). */
  async text(graceMs: number): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.done,
      new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs)),
    ]);
    clearTimeout(timer);
    await this.#reader.cancel().catch(() => {});
    await this.done;
    const bytes = new Uint8Array(this.#kept);
    let offset = 0;
    for (const chunk of this.#chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return new TextDecoder().decode(bytes);
  }
}

/** Options for {@linkcode runWebhook}. */
export interface WebhookOptions {
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** How long the request (and reading the start of the response) may take, in milliseconds. */
  timeoutMs: number;
}

/**
 * POSTs `payload` as JSON to `url`. A 2xx answer is `ok`, any other status
 * `failed`, no answer by the timeout `timeout`, a connection that fails
 * `error`. Redirects are not followed. The response body's first line is
 * kept (as a pre-hook's refusal text).
 *
 * @example
 * ```ts
 * const outcome = await runWebhook("http://127.0.0.1:8080/ftp", { event: "upload" }, { timeoutMs: 5000 });
 * ```
 */
export async function runWebhook(
  url: string,
  payload: unknown,
  options: WebhookOptions,
): Promise<HookOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        ...options.headers,
        "content-type": "application/json",
        "user-agent": "ferry-hook",
      },
      body: JSON.stringify(payload),
      redirect: "manual",
      signal: controller.signal,
    });
    const body = response.body
      ? await new OutputCapture(response.body).text(options.timeoutMs)
      : "";
    const line = firstReplyLine(body);
    if (response.status >= 200 && response.status < 300) {
      return { result: "ok", line, message: "", ms: elapsed() };
    }
    return {
      result: "failed",
      line,
      message: `HTTP ${response.status}${line ? `: ${line}` : ""}`,
      ms: elapsed(),
    };
  } catch (error) {
    if (timedOut) {
      return {
        result: "timeout",
        line: "",
        message: `no answer after ${options.timeoutMs} ms`,
        ms: elapsed(),
      };
    }
    return { result: "error", line: "", message: (error as Error).message, ms: elapsed() };
  } finally {
    clearTimeout(timer);
  }
}
