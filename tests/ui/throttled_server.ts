/**
 * Starts tests/ui/throttled_ftpd.py (pyftpdlib with a bandwidth limit) on a
 * free loopback port, for a transfer slow enough to cancel.
 *
 * @module
 */

import { freePort } from "../interop/servers.ts";

/** A running throttled server. */
export interface ThrottledServer {
  port: number;
  root: string;
  user: string;
  password: string;
  /** What the server printed on stderr (the last 8 KiB). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the server; `rate` is bytes per second. */
export async function startThrottledServer(rate: number): Promise<ThrottledServer> {
  const root = await Deno.makeTempDir({ prefix: "ferry-ui-throttled-" });
  const port = freePort();
  const script = new URL("./throttled_ftpd.py", import.meta.url).pathname;
  const child = new Deno.Command("/usr/bin/python3", {
    args: [script, "127.0.0.1", String(port), root, "slow", "slow-pass", String(rate)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let errors = "";
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      errors = (errors + chunk).slice(-8192);
    }
  })();
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  while (!text.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) {
      clearTimeout(timer);
      await child.status;
      throw new Error(`throttled_ftpd.py did not start: ${text}`);
    }
    text += decoder.decode(value);
  }
  clearTimeout(timer);
  // Keep reading stdout so that the server never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) {
      // discard
    }
  })();
  return {
    port,
    root,
    user: "slow",
    password: "slow-pass",
    output: () => errors,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await Deno.remove(root, { recursive: true });
    },
  };
}
