/**
 * The code of the worker thread that starts command hooks. Starting a
 * process blocks the thread that asks for it (a fork and exec: many
 * milliseconds on a busy machine), so it happens on a worker, off the
 * thread that serves the sessions. The worker runs from a `blob:` URL made
 * of {@linkcode commandWorkerMain}'s source, so it needs no read permission
 * on ferry's own files (the narrowed server has none) and `deno compile`
 * needs no extra module: the function must not use anything from outside
 * its own body.
 *
 * @module
 */

/** A command to run. */
export interface CommandRequest {
  /** Matches the response to the request. */
  readonly id: number;
  /** Program and arguments (no shell). */
  readonly command: string[];
  /** Variables added to the server's environment. */
  readonly env: Record<string, string>;
  /** When to kill it (SIGKILL), in milliseconds. */
  readonly timeoutMs: number;
}

/** How a command ended, as the worker saw it. */
export interface CommandResponse {
  /** The request's id. */
  readonly id: number;
  /** Why it could not start; empty when it started. */
  readonly spawnError: string;
  /** True when it was killed at its timeout. */
  readonly timedOut: boolean;
  /** True for exit status 0. */
  readonly success: boolean;
  /** Its exit status. */
  readonly code: number;
  /** The signal that ended it, if one did. */
  readonly signal: string | null;
  /** The start of its standard output (at most 4 KiB). */
  readonly stdout: string;
  /** The start of its standard error (at most 4 KiB). */
  readonly stderr: string;
  /** How long it ran, in milliseconds. */
  readonly ms: number;
}

/**
 * The worker's whole program: answers each {@linkcode CommandRequest} with a
 * {@linkcode CommandResponse}. Self-contained: it is run from its source text.
 */
export function commandWorkerMain(): void {
  const OUTPUT_LIMIT = 4096;
  /** How long output may go on arriving after the process ended (a background child may hold the pipe). */
  const OUTPUT_GRACE_MS = 100;
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent<CommandRequest>) => void) | null;
    postMessage(message: CommandResponse): void;
  };

  /** Reads a stream to its end (or until stopped), keeping its first bytes. */
  const capture = (stream: ReadableStream<Uint8Array>) => {
    const reader = stream.getReader();
    const chunks: Uint8Array[] = [];
    let kept = 0;
    const done = (async () => {
      try {
        while (true) {
          const { value, done } = await reader.read();
          if (done) return;
          if (kept < OUTPUT_LIMIT) {
            const part = value.subarray(0, OUTPUT_LIMIT - kept);
            chunks.push(part);
            kept += part.length;
          }
        }
      } catch {
        // cancelled, or the pipe failed: what was read is all there is
      }
    })();
    return async (): Promise<string> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        done,
        new Promise((resolve) => timer = setTimeout(resolve, OUTPUT_GRACE_MS)),
      ]);
      clearTimeout(timer);
      await reader.cancel().catch(() => {});
      await done;
      const bytes = new Uint8Array(kept);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.length;
      }
      return new TextDecoder().decode(bytes);
    };
  };

  const run = async (request: CommandRequest): Promise<CommandResponse> => {
    const started = performance.now();
    const base = { id: request.id, timedOut: false, stdout: "", stderr: "" };
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(request.command[0]!, {
        args: request.command.slice(1),
        env: request.env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      return {
        ...base,
        spawnError: String((error as Error)?.message ?? error),
        success: false,
        code: -1,
        signal: null,
        ms: Math.round(performance.now() - started),
      };
    }
    const stdout = capture(child.stdout);
    const stderr = capture(child.stderr);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, request.timeoutMs);
    const status = await child.status;
    clearTimeout(timer);
    const [out, err] = await Promise.all([stdout(), stderr()]);
    return {
      id: request.id,
      spawnError: "",
      timedOut,
      success: status.success,
      code: status.code,
      signal: status.signal,
      stdout: out,
      stderr: err,
      ms: Math.round(performance.now() - started),
    };
  };

  scope.onmessage = async ({ data }) => scope.postMessage(await run(data));
}
